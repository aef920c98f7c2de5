//! The invalidation feed every replica follows (core's `registry::caches`): PUBLISH through
//! the store's own connection, SUBSCRIBE on a dedicated connection to one node at a time —
//! a Redis Cluster forwards every PUBLISH to all of its nodes, so any node will do. While no
//! subscription stands the feed says `Paused` (replicas then cache nothing) and says
//! `Resumed` when one stands again.
//!
//! The same subscription follows a second channel, `<prefix>:events`, on which a replica
//! that relayed events announces the last event id (events.rs); it raises this replica's
//! event signal. A channel of its own, so a replica that does not know it (an older
//! version, during an upgrade) never takes an announcement for garbage, which would make
//! it forget every cache.

use futures_util::StreamExt;
use sessiond_core::events::EventId;
use sessiond_core::store::Invalidation;
use sessiond_core::SessionId;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, watch};

const BACKLOG: usize = 4096;

pub(crate) struct Feed {
    pub(crate) channel: String,
    tx: broadcast::Sender<Invalidation>,
    live: Arc<AtomicBool>,
    task: tokio::task::AbortHandle,
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Feed {
    /// Starts following `channel` (invalidations) and `events` (announcements that raise
    /// `signal`) on `nodes` (redis:// URLs), trying them in turn.
    pub(crate) fn start(
        nodes: Vec<String>,
        channel: String,
        events: (String, watch::Sender<EventId>),
        timeout: Duration,
    ) -> Feed {
        let (tx, _) = broadcast::channel(BACKLOG);
        let live = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(follow(
            nodes,
            channel.clone(),
            events,
            tx.clone(),
            live.clone(),
            timeout,
        ))
        .abort_handle();
        Feed {
            channel,
            tx,
            live,
            task,
        }
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Invalidation> {
        self.tx.subscribe()
    }

    pub(crate) fn live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }
}

pub(crate) fn encode(i: &Invalidation) -> Option<String> {
    match i {
        Invalidation::Session(id) => Some(format!("s:{id}")),
        Invalidation::Principal(name) => Some(format!("p:{name}")),
        Invalidation::All => Some("*".into()),
        // Local states of one replica's subscription, never sent to others.
        Invalidation::Paused | Invalidation::Resumed => None,
    }
}

fn decode(s: &str) -> Option<Invalidation> {
    if s == "*" {
        return Some(Invalidation::All);
    }
    if let Some(id) = s.strip_prefix("s:") {
        return SessionId::parse(id).map(Invalidation::Session);
    }
    s.strip_prefix("p:")
        .map(|n| Invalidation::Principal(n.to_string()))
}

fn set_live(live: &AtomicBool, tx: &broadcast::Sender<Invalidation>, now: bool) {
    if live.swap(now, Ordering::AcqRel) != now {
        let _ = tx.send(if now {
            Invalidation::Resumed
        } else {
            Invalidation::Paused
        });
    }
}

async fn follow(
    nodes: Vec<String>,
    channel: String,
    (events, signal): (String, watch::Sender<EventId>),
    tx: broadcast::Sender<Invalidation>,
    live: Arc<AtomicBool>,
    timeout: Duration,
) {
    let mut backoff = Duration::from_millis(50);
    for url in nodes.iter().cycle() {
        let subscribed = tokio::time::timeout(timeout, async {
            let mut ps = redis::Client::open(url.as_str())?
                .get_async_pubsub()
                .await?;
            ps.subscribe(&[channel.as_str(), events.as_str()][..])
                .await?;
            Ok::<_, redis::RedisError>(ps)
        })
        .await;
        match subscribed {
            Ok(Ok(mut ps)) => {
                backoff = Duration::from_millis(50);
                // Anything published while no subscription stood was missed: Resumed
                // makes every replica forget what it cached meanwhile.
                set_live(&live, &tx, true);
                let mut messages = ps.on_message();
                while let Some(m) = messages.next().await {
                    if m.get_channel_name() == events {
                        // A garbled announcement is ignored: the background re-reads the id.
                        if let Ok(n) = m.get_payload::<EventId>() {
                            crate::events::raise(&signal, n);
                        }
                        continue;
                    }
                    match m.get_payload::<String>().ok().as_deref().and_then(decode) {
                        Some(i) => {
                            let _ = tx.send(i);
                        }
                        None => {
                            let _ = tx.send(Invalidation::All);
                        }
                    }
                }
                set_live(&live, &tx, false);
                tracing::warn!(node = %url, "invalidation feed lost its subscription");
            }
            Ok(Err(e)) => {
                set_live(&live, &tx, false);
                tracing::debug!(node = %url, error = %e, "invalidation feed cannot subscribe");
            }
            Err(_) => set_live(&live, &tx, false),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_garbage_means_forget_all() {
        let id = SessionId::parse("01M84GRGHK8Y0NM7GQCYBWNA89").expect("id");
        for i in [
            Invalidation::Session(id),
            Invalidation::Principal("ops".into()),
            Invalidation::All,
        ] {
            let e = encode(&i).expect("sent");
            assert_eq!(decode(&e), Some(i));
        }
        assert_eq!(encode(&Invalidation::Paused), None);
        assert_eq!(decode("s:not-an-id"), None);
        assert_eq!(decode("x"), None);
    }
}
