//! The delivery worker: finds the enabled push sinks (webhooks, SSF push streams), and for
//! each one whose lease this replica holds, pushes its events in order — a page at a time, one store write per page —
//! retrying on core's schedule until the sink is caught up or disabled.

use crate::signer::EventSigner;
use crate::{push_set, send_webhook, unix_now, Target};
use sessiond_core::events::EventId;
use sessiond_core::registry::webhook_config;
use sessiond_core::sinks::{DeliveryAttempt, Sink, SinkKind, SinkStatus};
use sessiond_core::ssf::stream_config;
use sessiond_core::Registry;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long a lease lasts; a worker renews it every half of that.
const LEASE: Duration = Duration::from_secs(10);
/// How often the worker looks for sinks it is not delivering yet.
const SCAN_EVERY: Duration = Duration::from_secs(1);
/// Events read per page.
const PAGE: usize = 200;

/// How this replica delivers.
#[derive(Clone, Debug)]
pub struct DeliveryOptions {
    /// Whether receivers on loopback, link-local and private addresses are allowed.
    pub allow_private: bool,
    /// Connect and response timeout of one delivery.
    pub timeout: Duration,
    /// This replica's name in sink leases (unique per process).
    pub holder: String,
    /// Signs SSF SETs; without it SSF pushes fail (and are retried).
    pub signer: Option<Arc<EventSigner>>,
}

impl DeliveryOptions {
    /// Options with a fresh random holder name.
    pub fn new(allow_private: bool, timeout: Duration, signer: Option<Arc<EventSigner>>) -> Self {
        // A holder name only needs to differ between replicas; a clock-based fallback does.
        let holder = sessiond_core::ids::random_hex(8).unwrap_or_else(|_| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            format!("{nanos:032x}")
        });
        DeliveryOptions {
            allow_private,
            timeout,
            holder,
            signer,
        }
    }
}

/// Starts the worker; it stops when `stop` becomes true.
pub fn spawn(
    registry: Arc<Registry>,
    opts: DeliveryOptions,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut running: HashMap<String, JoinHandle<()>> = HashMap::new();
        loop {
            running.retain(|_, h| !h.is_finished());
            match registry.push_sinks().await {
                Ok(sinks) => {
                    for s in sinks {
                        if running.contains_key(&s.id) {
                            continue;
                        }
                        let task = SinkTask {
                            registry: registry.clone(),
                            id: s.id.clone(),
                            opts: opts.clone(),
                            stop: stop.clone(),
                            target: None,
                        };
                        running.insert(s.id, tokio::spawn(task.run()));
                    }
                }
                Err(e) => tracing::warn!(error = %e, "listing event sinks failed"),
            }
            tokio::select! {
                _ = stop.changed() => break,
                _ = tokio::time::sleep(SCAN_EVERY) => {}
            }
        }
        for (_, h) in running {
            let _ = h.await;
        }
    })
}

/// One sink's delivery loop on this replica.
struct SinkTask {
    registry: Arc<Registry>,
    id: String,
    opts: DeliveryOptions,
    stop: watch::Receiver<bool>,
    /// The receiver, resolved; dropped after a failure so the next attempt resolves again.
    target: Option<(String, Target)>,
}

/// What one round of a sink's loop ended with.
enum Round {
    /// Go on at once.
    Again,
    /// Wait for new events, a retry time, or the lease's renewal.
    Wait(Duration),
    /// This replica no longer delivers this sink (another holds it, or it is gone/off).
    Leave,
}

impl SinkTask {
    async fn run(mut self) {
        let mut signal = self.registry.event_signal();
        loop {
            if *self.stop.borrow() {
                return;
            }
            signal.borrow_and_update();
            let round = match self.round().await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(sink = %self.id, error = %e, "event delivery failed; will retry");
                    Round::Wait(Duration::from_secs(1))
                }
            };
            match round {
                Round::Again => {}
                Round::Leave => return,
                Round::Wait(d) => {
                    tokio::select! {
                        _ = self.stop.changed() => return,
                        _ = signal.changed() => {}
                        _ = tokio::time::sleep(d.min(LEASE / 2)) => {}
                    }
                }
            }
        }
    }

    async fn round(&mut self) -> sessiond_core::CoreResult<Round> {
        let r = self.registry.clone();
        if !r.lease_sink(&self.id, &self.opts.holder, LEASE).await? {
            return Ok(Round::Leave);
        }
        let leased = tokio::time::Instant::now();
        let sink = match r.sink(&self.id).await? {
            Some(s) if s.status == SinkStatus::Enabled => s,
            _ => return Ok(Round::Leave),
        };
        let now = r.clock().now();
        if let Some(at) = sink.delivery.next_attempt_at {
            if at > now {
                return Ok(Round::Wait(at.since(now)));
            }
        }
        let cursor = sink.delivery.cursor;
        let (items, scanned) = self.pending(&sink).await?;
        if items.is_empty() {
            if scanned > cursor {
                // Only events this sink does not carry: it is done with them.
                r.sink_delivered(&self.id, &sink.delivery, scanned, &[])
                    .await?;
                return Ok(Round::Again);
            }
            return Ok(Round::Wait(LEASE / 2));
        }
        let mut log: Vec<DeliveryAttempt> = Vec::new();
        let mut through: EventId = cursor;
        let mut failed = false;
        let count = items.len();
        for (i, item) in items.into_iter().enumerate() {
            if *self.stop.borrow() || leased.elapsed() >= LEASE / 2 {
                break;
            }
            let attempt = if i == 0 {
                sink.delivery.attempts + 1
            } else {
                1
            };
            let a = self.deliver(&sink, &item, attempt).await;
            let ok = a.delivered;
            log.push(a);
            if !ok {
                failed = true;
                break;
            }
            match item.event {
                // Events between the delivered ones were not for this sink: done as well.
                Some(id) => through = if i + 1 == count { scanned } else { id },
                None => {
                    if let Payload::Set { jti, .. } = &item.payload {
                        r.verification_done(&self.id, jti).await?;
                    }
                }
            }
        }
        if failed {
            self.target = None;
            let unit = unit_draw();
            let (moved, next, _) = r
                .sink_failed(&self.id, &sink.delivery, through, &log, unit)
                .await?;
            if !moved {
                return Ok(Round::Again);
            }
            return Ok(match next.next_attempt_at {
                Some(at) => Round::Wait(at.since(r.clock().now())),
                None => Round::Leave,
            });
        }
        if through > cursor || !log.is_empty() {
            r.sink_delivered(&self.id, &sink.delivery, through, &log)
                .await?;
        }
        Ok(Round::Again)
    }

    /// What the sink has waiting after its cursor, in order, and the id scanned through.
    async fn pending(&self, sink: &Sink) -> sessiond_core::CoreResult<(Vec<Item>, EventId)> {
        let r = &self.registry;
        match sink.kind {
            SinkKind::Webhook => {
                let (events, scanned) = r.sink_events(sink, sink.delivery.cursor, PAGE).await?;
                let items = events
                    .into_iter()
                    .map(|e| Item {
                        event: Some(e.id),
                        payload: Payload::Webhook {
                            msg_id: format!("evt_{}", e.id),
                            body: e.to_json(),
                        },
                    })
                    .collect();
                Ok((items, scanned))
            }
            SinkKind::Ssf => {
                let (sets, through, _) = r.stream_sets(sink, PAGE, unix_now()).await?;
                let items = sets
                    .into_iter()
                    .map(|(jti, claims, event)| Item {
                        event,
                        payload: Payload::Set { jti, claims },
                    })
                    .collect();
                Ok((items, through))
            }
        }
    }

    /// One attempt at one item, resolving the receiver first when needed.
    async fn deliver(&mut self, sink: &Sink, item: &Item, attempt: u32) -> DeliveryAttempt {
        let at = self.registry.clock().now();
        let event_id = item.event.unwrap_or(0);
        let fail = |error: String| DeliveryAttempt {
            event_id,
            attempt,
            at,
            delivered: false,
            status: None,
            error: Some(error),
            duration_ms: 0,
        };
        let url = match sink.kind {
            SinkKind::Webhook => webhook_config(sink).map(|c| c.url),
            SinkKind::Ssf => stream_config(sink).and_then(|c| {
                c.delivery.endpoint_url.ok_or_else(|| {
                    sessiond_core::CoreError::Internal("a push stream without a URL".into())
                })
            }),
        };
        let url = match url {
            Ok(u) => u,
            Err(e) => return fail(e.to_string()),
        };
        let stale = self.target.as_ref().is_none_or(|(u, _)| *u != url);
        if stale {
            match Target::resolve(&url, self.opts.allow_private, self.opts.timeout).await {
                Ok(t) => self.target = Some((url.clone(), t)),
                Err(why) => return fail(why),
            }
        }
        let Some((_, target)) = &self.target else {
            return fail("no receiver".into());
        };
        let secret = match &sink.sealed_secret {
            Some(_) => match self.registry.sink_secret(sink) {
                Ok(k) => Some(k),
                Err(e) => return fail(e.to_string()),
            },
            None => None,
        };
        match &item.payload {
            Payload::Webhook { msg_id, body } => {
                let Some(key) = secret else {
                    return fail("the webhook has no signing secret".into());
                };
                send_webhook(target, &key, msg_id, body.clone(), event_id, attempt, at).await
            }
            Payload::Set { claims, .. } => {
                let Some(signer) = &self.opts.signer else {
                    return fail("no event-signing key is configured".into());
                };
                let token = match signer.sign(claims) {
                    Ok(t) => t,
                    Err(e) => return fail(e.to_string()),
                };
                let auth = secret.and_then(|h| String::from_utf8(h).ok());
                push_set(target, &token, auth.as_deref(), event_id, attempt, at).await
            }
        }
    }
}

/// One thing to deliver: an event (webhook body or SET), or an SSF verification (no event).
struct Item {
    event: Option<EventId>,
    payload: Payload,
}

enum Payload {
    Webhook {
        msg_id: String,
        body: String,
    },
    Set {
        jti: String,
        claims: serde_json::Value,
    },
}

/// A uniform draw in [0, 1) for retry jitter.
fn unit_draw() -> f64 {
    let mut b = [0u8; 8];
    if getrandom::getrandom(&mut b).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}
