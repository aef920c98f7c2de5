//! Event sinks: the places events are pushed to (Standard Webhooks endpoints and SSF
//! streams), how far each has got, and the retry rule every sink follows. A sink belongs to
//! a tenant and carries only that tenant's events.

use crate::domain::TenantId;
use crate::events::{EventFilter, EventId, EventType};
use crate::filter::TenantScope;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What kind of receiver a sink pushes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SinkKind {
    /// Standard Webhooks: one signed POST per event.
    Webhook,
    /// An OpenID SSF stream: SETs by push (RFC 8935) or poll (RFC 8936).
    Ssf,
}

impl SinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SinkKind::Webhook => "webhook",
            SinkKind::Ssf => "ssf",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "webhook" => Some(SinkKind::Webhook),
            "ssf" => Some(SinkKind::Ssf),
            _ => None,
        }
    }
}

/// Whether a sink receives events now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SinkStatus {
    Enabled,
    /// Events are kept for it (SSF `paused`): delivery resumes where it stopped.
    Paused,
    /// Nothing is delivered; `status_reason` says why (a receiver down for the whole retry
    /// window, or an operator).
    Disabled,
}

impl SinkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SinkStatus::Enabled => "enabled",
            SinkStatus::Paused => "paused",
            SinkStatus::Disabled => "disabled",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "enabled" => Some(SinkStatus::Enabled),
            "paused" => Some(SinkStatus::Paused),
            "disabled" => Some(SinkStatus::Disabled),
            _ => None,
        }
    }
}

/// How far a sink has got. Changed only by compare-and-set (`SinkStore::advance_sink`), so
/// two replicas never both move one sink.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryState {
    /// Every event up to this id is done with: delivered, or not for this sink.
    pub cursor: EventId,
    /// Failed attempts at the first event after the cursor.
    pub attempts: u32,
    /// When the first of those attempts failed.
    pub failing_since: Option<Timestamp>,
    /// No attempt before this instant.
    pub next_attempt_at: Option<Timestamp>,
}

/// A sink as stored. `config` is the kind's own settings as JSON (core's webhook and SSF
/// code reads and writes it); `sealed_secret` is sealed with the seal key, the sink id as
/// associated data.
#[derive(Clone, PartialEq, Eq)]
pub struct Sink {
    pub id: String,
    pub kind: SinkKind,
    pub tenant_id: TenantId,
    pub created_by: String,
    pub created_at: Timestamp,
    pub config: String,
    pub sealed_secret: Option<Vec<u8>>,
    pub status: SinkStatus,
    pub status_reason: Option<String>,
    pub delivery: DeliveryState,
}

impl std::fmt::Debug for Sink {
    // Hand-written: the sealed secret (and a push authorization inside it) stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("tenant_id", &self.tenant_id)
            .field("status", &self.status)
            .field("delivery", &self.delivery)
            .finish_non_exhaustive()
    }
}

/// One attempt to deliver one event to one sink.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryAttempt {
    pub event_id: EventId,
    /// 1 for the first try of this event.
    pub attempt: u32,
    pub at: Timestamp,
    pub delivered: bool,
    /// The receiver's HTTP status, when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why it failed, when it did (connection refused, timeout, unexpected status…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// Most attempts a sink's log keeps (the newest).
pub const MAX_LOGGED_ATTEMPTS: usize = 200;

/// How a sink retries: exponential backoff with jitter from `base`, capped at `max_delay`,
/// until `window` has passed since the first failure; then the sink is disabled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max_delay: Duration,
    pub window: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(5),
            max_delay: Duration::from_secs(3600),
            window: Duration::from_secs(24 * 3600),
        }
    }
}

/// What a failed attempt leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AfterFailure {
    /// Try again at this instant.
    RetryAt(Timestamp),
    /// The window is over: disable the sink, saying why.
    Disable(String),
}

impl RetryPolicy {
    /// The delay before retry number `attempts + 1`: `base × 2^(attempts-1)`, capped, times a
    /// jitter factor in [0.5, 1.5) taken from `unit` (a uniform draw in [0, 1)), so that
    /// receivers coming back up are not hit by every sender at once.
    pub fn delay(&self, attempts: u32, unit: f64) -> Duration {
        let exp = attempts.saturating_sub(1).min(30);
        let raw = self.base.saturating_mul(1u32 << exp).min(self.max_delay);
        raw.mul_f64(0.5 + unit.clamp(0.0, 1.0))
    }

    /// The state after attempt number `attempts` (counted from 1) of the event after the
    /// cursor failed at `now`.
    pub fn after_failure(
        &self,
        state: &DeliveryState,
        now: Timestamp,
        unit: f64,
    ) -> (DeliveryState, AfterFailure) {
        let attempts = state.attempts.saturating_add(1);
        let since = state.failing_since.unwrap_or(now);
        let mut next = DeliveryState {
            cursor: state.cursor,
            attempts,
            failing_since: Some(since),
            next_attempt_at: None,
        };
        let failing_for = now.since(since);
        if failing_for >= self.window {
            next.next_attempt_at = None;
            let why = format!(
                "disabled after {attempts} failed attempts over {} (retry window {})",
                crate::time::HumanDuration(failing_for),
                crate::time::HumanDuration(self.window)
            );
            return (next, AfterFailure::Disable(why));
        }
        let at = now.plus(self.delay(attempts, unit));
        next.next_attempt_at = Some(at);
        (next, AfterFailure::RetryAt(at))
    }
}

/// The events a sink carries: its tenant's, of its types (empty: all), of its service.
pub fn sink_filter(tenant: TenantId, types: &[EventType], service: Option<&str>) -> EventFilter {
    EventFilter {
        tenant: TenantScope::One(tenant),
        types: types.to_vec(),
        service: service.map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_with_jitter_and_stop_at_the_cap() {
        let p = RetryPolicy {
            base: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            window: Duration::from_secs(60),
        };
        assert_eq!(p.delay(1, 0.5), Duration::from_millis(200));
        assert_eq!(p.delay(2, 0.5), Duration::from_millis(400));
        assert_eq!(p.delay(4, 0.0), Duration::from_millis(800));
        assert_eq!(p.delay(4, 1.0), Duration::from_millis(2400));
        assert_eq!(p.delay(40, 0.5), Duration::from_secs(10));
    }

    #[test]
    fn failures_retry_until_the_window_then_disable() {
        let p = RetryPolicy {
            base: Duration::from_secs(1),
            max_delay: Duration::from_secs(10),
            window: Duration::from_secs(60),
        };
        let t0 = Timestamp(1_000_000_000_000);
        let s0 = DeliveryState {
            cursor: 7,
            ..DeliveryState::default()
        };
        let (s1, what) = p.after_failure(&s0, t0, 0.5);
        assert_eq!(what, AfterFailure::RetryAt(t0.plus(Duration::from_secs(1))));
        assert_eq!((s1.cursor, s1.attempts, s1.failing_since), (7, 1, Some(t0)));
        let later = t0.plus(Duration::from_secs(59));
        let (s2, what) = p.after_failure(&s1, later, 0.5);
        assert!(matches!(what, AfterFailure::RetryAt(_)));
        assert_eq!((s2.attempts, s2.failing_since), (2, Some(t0)));
        let (s3, what) = p.after_failure(&s2, t0.plus(Duration::from_secs(60)), 0.5);
        match what {
            AfterFailure::Disable(why) => assert!(why.contains("3 failed attempts"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(s3.next_attempt_at, None);
    }
}
