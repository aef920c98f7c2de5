//! `EventStore` on Redis: per-slot outboxes relayed into one global stream.
//!
//! A change's script appends its event to the outbox of its own slot (outbox.lua: a shard's
//! `{P.N}:ev`, or the directory's `{P.dir}:ev`), so the event is exactly as atomic and as
//! durable as the change. A session's events all go through its shard's outbox, in the
//! order its changes happened. relay.lua, on the `{P.events}` slot, moves outbox entries
//! into `{P.events}:all` in outbox order and gives each its public id (the next value of
//! `{P.events}:seq`); it records the last outbox position it moved and skips entries at or
//! below it, so any number of relays of the same outbox, sequential or concurrent, move each
//! event once and in order.
//!
//! Who relays: the replica that made the change, after its script and WAIT and before the
//! call returns, so an acknowledged change's event is readable through `events_after` (and
//! this replica's signal announces it) when the call returns. It passes its own entries, of
//! every outbox it wrote, in one call (one round trip; an end's events get their ids in the
//! order of its ids, across shards), and reads an outbox only when an earlier entry waits
//! there. If the relay fails (the `{P.events}` slot is failing over), the change still
//! succeeds: its event waits in the outbox, and every replica relays every outbox in the
//! background ([`Background`], every [`PERIOD`]), taking an entry once it has waited a
//! period, so as not to race the relay of the change that wrote it; so are a crashed
//! replica's unrelayed events. After a failed relay, changes skip theirs until `{P.events}`
//! answers again (checked every period), so an outage of that one slot does not slow every
//! change by a timeout.
//!
//! Durability: the outbox entry is written and WAITed with its change; the relay's write to
//! `{P.events}` is not WAITed on the change's path, the outbox being the durable copy. The
//! background trims an outbox, and only up to a position whose record in
//! `{P.events}:relayed` a WAIT on the `{P.events}` slot confirmed: a failover of that slot
//! that loses a relay takes the recorded position back with it, and the entries, still in
//! their outbox, are relayed again. (Readers may have seen the lost copies, under ids that
//! are then given again: the one window where an id is reused, as with any read of a write
//! a failover loses.) A relay moves only entries a WAIT covered on their shard (the
//! change's own, or the background's): an entry that a shard failover loses was never
//! relayed, so its position, given again on the new primary, is not mistaken for one
//! already moved. Without replicas (`wait_replicas` 0) there is no WAIT.
//!
//! Signal: each replica keeps a `watch` of the highest event id it knows. A relay raises it
//! and PUBLISHes the id on `<prefix>:events`, which every replica's feed follows (feed.rs);
//! the background also reads `{P.events}:seq` every period, for a publish that was missed.

use crate::conn::Conn;
use crate::keys::{Layout, Outbox};
use crate::scripts::Scripts;
use crate::{internal, RedisStore};
use async_trait::async_trait;
use futures_util::future::join_all;
use redis::Script;
use sessiond_core::events::{EventDraft, EventId, EventType, StoredEvent};
use sessiond_core::store::EventStore;
use sessiond_core::{SessionId, StoreError, StoreResult, Timestamp};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::AbortHandle;

/// How often every replica relays every outbox and re-reads the last event id.
pub(crate) const PERIOD: Duration = Duration::from_millis(500);

/// Outbox entries read and relayed per round trip.
const BATCH: usize = 512;

/// One outbox entry: its outbox, its position there and its field/value items.
pub(crate) type Entry = (Outbox, u64, Vec<String>);

/// A stream entry as XRANGE answers it: its id and its field/value items.
type RawEntry = (String, Vec<String>);

/// An event's field/value items, as its outbox entry and its global stream entry hold
/// them: `svc` and `sid` only when the event has them.
pub(crate) fn items(d: &EventDraft) -> Vec<String> {
    let mut v = vec![
        "at".into(),
        d.at.nanos().to_string(),
        "type".into(),
        d.kind.as_str().into(),
        "tenant".into(),
        d.tenant_id.to_string(),
    ];
    if let Some(s) = &d.service {
        v.extend(["svc".into(), s.clone()]);
    }
    if let Some(id) = &d.session_id {
        v.extend(["sid".into(), id.as_str().into()]);
    }
    v.extend(["body".into(), d.body.clone()]);
    v
}

/// The integer before the `-` of a stream id (`<n>-1`).
fn id_number(id: &str) -> StoreResult<u64> {
    id.split_once('-')
        .and_then(|(n, _)| n.parse().ok())
        .ok_or_else(|| internal(format!("event stream id {id:?} is not <n>-1")))
}

/// An event back from its items (unknown fields are ignored).
fn draft(id: &str, items: &[String]) -> StoreResult<EventDraft> {
    let bad = |what: &str| internal(format!("event {id}: missing or bad {what}"));
    let (mut at, mut kind, mut tenant, mut service, mut session, mut body) =
        (None, None, None, None, None, None);
    for pair in items.chunks_exact(2) {
        let v = &pair[1];
        match pair[0].as_str() {
            "at" => at = Some(v.parse::<i64>().map_err(|_| bad("at"))?),
            "type" => kind = Some(EventType::parse(v).ok_or_else(|| bad("type"))?),
            "tenant" => tenant = Some(v.parse::<u32>().map_err(|_| bad("tenant"))?),
            "svc" => service = Some(v.clone()),
            "sid" => session = Some(SessionId::parse(v).ok_or_else(|| bad("sid"))?),
            "body" => body = Some(v.clone()),
            _ => {}
        }
    }
    Ok(EventDraft {
        kind: kind.ok_or_else(|| bad("type"))?,
        at: Timestamp(at.ok_or_else(|| bad("at"))?),
        tenant_id: tenant.ok_or_else(|| bad("tenant"))?,
        service,
        session_id: session,
        body: body.ok_or_else(|| bad("body"))?,
    })
}

/// Raises a signal to `n` if that is newer (it never goes back).
pub(crate) fn raise(signal: &watch::Sender<EventId>, n: EventId) {
    signal.send_if_modified(|v| {
        if n > *v {
            *v = n;
            true
        } else {
            false
        }
    });
}

/// What relay.lua answered.
struct Relayed {
    /// The last event id given.
    last_id: EventId,
    /// Per outbox listed in the call: its recorded position after the call, and whether
    /// (strict) an earlier entry waits in it, in which case nothing was moved.
    outboxes: Vec<(Outbox, u64, bool)>,
}

impl Relayed {
    fn position(&self, o: Outbox) -> u64 {
        self.outboxes
            .iter()
            .find(|(x, _, _)| *x == o)
            .map_or(0, |(_, p, _)| *p)
    }
}

/// The relay: shared by the store (after each change) and its background tasks.
pub(crate) struct Relay {
    conn: Conn,
    layout: Layout,
    script: Script,
    wait_n: u32,
    command_timeout: Duration,
    wait_timeout: Duration,
    signal: watch::Sender<EventId>,
    /// Where relays announce the last event id (every replica's feed follows it).
    channel: String,
    /// Set by tests: every relay of this store fails, as when `{P.events}` is unreachable.
    failing: AtomicBool,
    /// A change's relay failed and `{P.events}` has not answered since: changes leave their
    /// events to the background rather than each waiting out a timeout while that slot's
    /// node is down or failing over. Cleared when the background reads the last id again.
    down: AtomicBool,
}

impl Relay {
    pub(crate) fn new(
        conn: Conn,
        layout: Layout,
        wait_n: u32,
        command_timeout: Duration,
        wait_timeout: Duration,
        signal: watch::Sender<EventId>,
        channel: String,
    ) -> Relay {
        Relay {
            conn,
            layout,
            script: Scripts::relay(),
            wait_n,
            command_timeout,
            wait_timeout,
            signal,
            channel,
            failing: AtomicBool::new(false),
            down: AtomicBool::new(false),
        }
    }

    fn tw(&self) -> Duration {
        self.command_timeout + self.wait_timeout
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<EventId> {
        self.signal.subscribe()
    }

    pub(crate) fn raise(&self, n: EventId) {
        raise(&self.signal, n);
    }

    pub(crate) fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::Release);
        if !failing {
            self.down.store(false, Ordering::Release);
        }
    }

    /// The last event id given (`{P.events}:seq`, 0 before the first).
    pub(crate) async fn last_id(&self) -> StoreResult<EventId> {
        let seq: Option<u64> = self
            .conn
            .query(
                self.command_timeout,
                redis::cmd("GET").arg(self.layout.events("seq")),
            )
            .await?;
        Ok(seq.unwrap_or(0))
    }

    /// relay.lua over `entries` (each outbox's in position order), listing `outboxes`
    /// (every outbox of `entries`, and maybe more whose position is to be confirmed).
    async fn run(
        &self,
        strict: bool,
        outboxes: &[Outbox],
        entries: &[Entry],
    ) -> StoreResult<Relayed> {
        if self.failing.load(Ordering::Acquire) {
            return Err(StoreError::Unavailable(
                "event relay made to fail (test)".into(),
            ));
        }
        let mut inv = self.script.key(self.layout.events("all"));
        inv.key(self.layout.events("seq"))
            .key(self.layout.events("relayed"))
            .arg(if strict { "1" } else { "0" })
            .arg(outboxes.len());
        for o in outboxes {
            inv.arg(self.layout.outbox(*o));
        }
        for (o, pos, items) in entries {
            let index = outboxes
                .iter()
                .position(|x| x == o)
                .ok_or_else(|| internal("an entry of an outbox the relay does not list"))?;
            inv.arg(index + 1).arg(*pos).arg(items.len());
            for i in items {
                inv.arg(i);
            }
        }
        let r: Vec<String> = self.conn.script(self.command_timeout, &inv).await?;
        let bad = || internal(format!("relay answered {r:?}"));
        let num = |v: &String| v.parse::<u64>().map_err(|_| bad());
        let (Some(last_id), Some(rest)) = (r.get(1), r.get(2..)) else {
            return Err(bad());
        };
        if rest.len() != 2 * outboxes.len() {
            return Err(bad());
        }
        Ok(Relayed {
            last_id: num(last_id)?,
            outboxes: outboxes
                .iter()
                .zip(rest.chunks_exact(2))
                .map(|(o, p)| Ok((*o, num(&p[0])?, p[1] == "1")))
                .collect::<StoreResult<_>>()?,
        })
    }

    /// WAIT on the `{P.events}` slot: what relay.lua wrote (events and recorded position)
    /// reached a replica, so the outbox may be trimmed up to that position.
    async fn wait_global(&self) -> StoreResult<()> {
        self.conn
            .wait(
                self.tw(),
                &self.layout.events("relayed"),
                self.wait_n,
                self.wait_timeout,
            )
            .await
    }

    /// Outbox entries from position `from` to `to` (inclusive; `None`: the end), at most
    /// `count`.
    async fn read(
        &self,
        o: Outbox,
        from: u64,
        to: Option<u64>,
        count: usize,
    ) -> StoreResult<Vec<Entry>> {
        let mut c = redis::cmd("XRANGE");
        c.arg(self.layout.outbox(o)).arg(from);
        match to {
            Some(to) => c.arg(format!("{to}-1")),
            None => c.arg("+"),
        };
        c.arg("COUNT").arg(count);
        let raw: Vec<RawEntry> = self.conn.query(self.command_timeout, &c).await?;
        raw.into_iter()
            .map(|(id, items)| Ok((o, id_number(&id)?, items)))
            .collect()
    }

    /// Deletes the outbox entries at or below `upto` (already relayed, and confirmed).
    async fn trim(&self, o: Outbox, upto: u64) -> StoreResult<()> {
        if upto == 0 {
            return Ok(());
        }
        let mut c = redis::cmd("XTRIM");
        c.arg(self.layout.outbox(o))
            .arg("MINID")
            .arg(upto.saturating_add(1));
        self.conn.query::<u64>(self.command_timeout, &c).await?;
        Ok(())
    }

    async fn publish(&self, n: EventId) -> StoreResult<()> {
        let mut c = redis::cmd("PUBLISH");
        c.arg(&self.channel).arg(n);
        self.conn.query::<i64>(self.command_timeout, &c).await?;
        Ok(())
    }

    /// Relays a change's own entries (`own`, in the order their events are to get ids),
    /// after the change's WAIT, so they and every earlier entry of their outboxes are on a
    /// replica; answers the last event id. The outboxes keep them: the background trims
    /// an outbox once a WAIT on `{P.events}` confirmed the move, which keeps that WAIT off
    /// the change's path.
    async fn relay_own(&self, own: &[Entry]) -> StoreResult<EventId> {
        let mut last_id = 0;
        // In batches, so one relay.lua call never holds Redis long (a bulk end's events).
        for chunk in own.chunks(BATCH) {
            let mut outboxes: Vec<Outbox> = Vec::new();
            for (o, _, _) in chunk {
                if !outboxes.contains(o) {
                    outboxes.push(*o);
                }
            }
            let mut r = self.run(true, &outboxes, chunk).await?;
            let gaps: Vec<(Outbox, u64)> = r
                .outboxes
                .iter()
                .filter(|(_, _, gap)| *gap)
                .map(|(o, p, _)| (*o, *p))
                .collect();
            if !gaps.is_empty() {
                // Earlier entries (other calls', whose relay has not run yet) wait in these
                // outboxes: move them first, from the outboxes themselves, then ours.
                join_all(gaps.iter().map(|&(o, recorded)| {
                    let first = chunk
                        .iter()
                        .find(|(x, p, _)| *x == o && *p > recorded)
                        .map_or(recorded, |(_, p, _)| *p);
                    self.catch_up(o, recorded, first.saturating_sub(1))
                }))
                .await
                .into_iter()
                .collect::<StoreResult<Vec<()>>>()?;
                r = self.run(false, &outboxes, chunk).await?;
            }
            last_id = r.last_id;
        }
        Ok(last_id)
    }

    /// Relays the entries of outbox `o` after position `recorded` up to `upto`.
    async fn catch_up(&self, o: Outbox, mut recorded: u64, upto: u64) -> StoreResult<()> {
        while recorded < upto {
            let batch = self.read(o, recorded + 1, Some(upto), BATCH).await?;
            if batch.is_empty() {
                break;
            }
            recorded = self.run(false, &[o], &batch).await?.position(o);
        }
        Ok(())
    }

    /// After a change whose script and WAIT succeeded: relays the events it wrote (`own`, in
    /// the order they are to get ids), raises this replica's signal and announces the new
    /// last id to the others. A failure leaves the events in their outboxes (the background
    /// relays them): the change itself has succeeded and is not failed for it.
    pub(crate) async fn after_change(&self, own: &[Entry]) {
        if own.is_empty() {
            return;
        }
        if self.down.load(Ordering::Acquire) {
            tracing::debug!(
                "event relay down; the background relay will move this change's events"
            );
            return;
        }
        let n = match self.relay_own(own).await {
            Ok(n) => n,
            Err(e) => {
                self.down.store(true, Ordering::Release);
                tracing::warn!(error = %e,
                    "relaying a change's events failed; the background relay will move them");
                return;
            }
        };
        self.raise(n);
        // A hint: a replica that misses it reads the last id within a period.
        if let Err(e) = self.publish(n).await {
            tracing::debug!(error = %e, "announcing new events failed");
        }
    }

    /// One background pass over outbox `o`: relays the entries waiting in it up to position
    /// `upto`, and trims what was relayed (by anyone) once a WAIT confirmed it. Answers the
    /// outbox's last position at the start of the pass: the background passes it as `upto`
    /// to its next pass, so an entry is left to the change that wrote it for one period
    /// (that relay orders the events of one change across shards; a pass would move each
    /// outbox's share on its own).
    pub(crate) async fn pass(&self, o: Outbox, upto: u64) -> StoreResult<u64> {
        let key = self.layout.outbox(o);
        // The common case, an empty outbox, costs this one command.
        let len: u64 = self
            .conn
            .query(self.command_timeout, redis::cmd("XLEN").arg(&key))
            .await?;
        if len == 0 {
            return Ok(0);
        }
        let top: Option<u64> = self
            .conn
            .query(
                self.command_timeout,
                redis::cmd("GET").arg(self.layout.outbox_seq(o)),
            )
            .await?;
        let top = top.unwrap_or(0);
        // A failover may have taken the counter back: never past what exists.
        let upto = upto.min(top);
        loop {
            let done: Option<u64> = self
                .conn
                .query(
                    self.command_timeout,
                    redis::cmd("HGET")
                        .arg(self.layout.events("relayed"))
                        .arg(&key),
                )
                .await?;
            let from = done.unwrap_or(0).saturating_add(1);
            let batch = if from <= upto {
                self.read(o, from, Some(upto), BATCH).await?
            } else {
                Vec::new()
            };
            if !batch.is_empty() && self.wait_n > 0 {
                // These entries may belong to changes whose own WAIT has not returned: relay
                // them only once a replica has them. WAIT covers this connection's writes, so
                // write something after the read (adding 0 to the position counter changes
                // nothing but is replicated after every entry read).
                self.conn
                    .query::<u64>(
                        self.command_timeout,
                        redis::cmd("INCRBY").arg(self.layout.outbox_seq(o)).arg(0),
                    )
                    .await?;
                self.conn
                    .wait(self.tw(), &key, self.wait_n, self.wait_timeout)
                    .await?;
            }
            // Also with no entries: the call records the position again, so the WAIT below
            // confirms it (whoever moved the entries) before the outbox is trimmed to it.
            let r = self.run(false, &[o], &batch).await?;
            if !batch.is_empty() {
                self.raise(r.last_id);
                if let Err(e) = self.publish(r.last_id).await {
                    tracing::debug!(error = %e, "announcing relayed events failed");
                }
            }
            self.wait_global().await?;
            self.trim(o, r.position(o)).await?;
            if batch.len() < BATCH {
                return Ok(top);
            }
        }
    }
}

/// The background relay of one store: a task per outbox (so an outbox whose node is
/// failing over delays no other) and one re-reading the last event id. Stopped when
/// dropped (with the store).
pub(crate) struct Background {
    tasks: Vec<AbortHandle>,
}

impl Drop for Background {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Background {
    pub(crate) fn start(relay: Arc<Relay>) -> Background {
        let outboxes = relay.layout.outboxes();
        let n = u32::try_from(outboxes.len()).unwrap_or(u32::MAX).max(1);
        let mut tasks = Vec::with_capacity(outboxes.len() + 1);
        for (i, o) in (0u32..).zip(outboxes) {
            let relay = relay.clone();
            // Spread over the period, so the outboxes' passes do not reach Redis together.
            let offset = PERIOD * i / n;
            let task = tokio::spawn(async move {
                tokio::time::sleep(offset).await;
                let mut failing = false;
                // The last position the previous pass saw: what this one may move.
                let mut seen = 0;
                loop {
                    match relay.pass(o, seen).await {
                        Ok(top) => {
                            failing = false;
                            seen = top;
                        }
                        // Once per outage, not every period.
                        Err(e) if !failing => {
                            failing = true;
                            tracing::warn!(outbox = %relay.layout.outbox(o), error = %e,
                                "background event relay failed; retrying");
                        }
                        Err(e) => tracing::debug!(error = %e, "background event relay failed"),
                    }
                    tokio::time::sleep(PERIOD).await;
                }
            });
            tasks.push(task.abort_handle());
        }
        // Announcements are a hint: a replica whose feed missed one catches up here.
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(PERIOD).await;
                if let Ok(n) = relay.last_id().await {
                    relay.raise(n);
                    relay.down.store(false, Ordering::Release);
                }
            }
        });
        tasks.push(task.abort_handle());
        Background { tasks }
    }
}

#[async_trait]
impl EventStore for RedisStore {
    async fn events_after(&self, after: EventId, limit: usize) -> StoreResult<Vec<StoredEvent>> {
        let Some(from) = after.checked_add(1).filter(|_| limit > 0) else {
            return Ok(vec![]);
        };
        let mut c = redis::cmd("XRANGE");
        c.arg(self.layout.events("all"))
            .arg(from)
            .arg("+")
            .arg("COUNT")
            .arg(limit);
        let raw: Vec<RawEntry> = self.conn.query(self.t(), &c).await?;
        raw.iter()
            .map(|(id, items)| {
                Ok(StoredEvent {
                    id: id_number(id)?,
                    event: draft(id, items)?,
                })
            })
            .collect()
    }

    async fn last_event_id(&self) -> StoreResult<EventId> {
        self.events.last_id().await
    }

    /// Events are relayed about in the order they were written, so the old ones are at the
    /// front: the scan stops at the first newer one. The id counter is never touched, so
    /// ids are not given again even when every event is gone.
    async fn purge_events(&self, before: Timestamp, limit: usize) -> StoreResult<u64> {
        if limit == 0 {
            return Ok(0);
        }
        let key = self.layout.events("all");
        let mut c = redis::cmd("XRANGE");
        c.arg(&key).arg("-").arg("+").arg("COUNT").arg(limit);
        let raw: Vec<RawEntry> = self.conn.query(self.t(), &c).await?;
        let mut upto = None;
        for (id, items) in &raw {
            if draft(id, items)?.at >= before {
                break;
            }
            upto = Some(id_number(id)?);
        }
        let Some(upto) = upto else { return Ok(0) };
        let mut c = redis::cmd("XTRIM");
        c.arg(&key).arg("MINID").arg(upto.saturating_add(1));
        self.conn.query(self.t(), &c).await
    }

    fn event_signal(&self) -> watch::Receiver<EventId> {
        self.events.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_their_items() {
        let id = SessionId::parse("01M84GRGHK8Y0NM7GQCYBWNA89").expect("id");
        let with = EventDraft {
            kind: EventType::SessionClosed,
            at: Timestamp(-5),
            tenant_id: 7,
            service: Some(String::new()),
            session_id: Some(id),
            body: "{\"type\":\"session.closed\"}".into(),
        };
        let without = EventDraft {
            kind: EventType::PrincipalDisabled,
            service: None,
            session_id: None,
            ..with.clone()
        };
        for d in [with, without] {
            assert_eq!(draft("3-1", &items(&d)).ok(), Some(d));
        }
        assert!(draft("3-1", &["at".into(), "1".into()]).is_err());
        assert_eq!(id_number("42-1").ok(), Some(42));
        assert!(id_number("42").is_err());
    }

    #[test]
    fn the_signal_only_moves_forward() {
        let (tx, rx) = watch::channel(5);
        raise(&tx, 3);
        assert_eq!(*rx.borrow(), 5);
        raise(&tx, 9);
        assert_eq!(*rx.borrow(), 9);
    }
}
