//! OpenID Shared Signals (SSF 1.0) with CAEP 1.0: a stream's settings, which sessiond events
//! become which Security Event Token, and the SET's claims (signing is the delivery crate's).
//!
//! Mapping: a session's end is CAEP `session-revoked` — a termination with
//! `initiating_entity` `admin`, an expiry `policy`, a close (logout) `user` — with a
//! `reason_admin` saying why; creations and principal events have no CAEP counterpart and are
//! not sent. Streams follow the CAEP Interoperability Profile: `sub_id` is the session as an
//! opaque subject, no `sub` or `exp` claim, exactly one event per SET.

use crate::domain::TenantId;
use crate::events::{Event, EventFilter, EventType, StoredEvent};
use crate::filter::TenantScope;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Push delivery (RFC 8935).
pub const PUSH: &str = "urn:ietf:rfc:8935";
/// Poll delivery (RFC 8936).
pub const POLL: &str = "urn:ietf:rfc:8936";
/// CAEP's session-revoked event type.
pub const SESSION_REVOKED: &str =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
/// SSF's verification event type.
pub const VERIFICATION: &str = "https://schemas.openid.net/secevent/ssf/event-type/verification";
/// What a sessiond transmitter can send.
pub const EVENTS_SUPPORTED: [&str; 1] = [SESSION_REVOKED];

/// A stream's delivery: the method, and the URL (the receiver's for push, ours for poll).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
}

/// A verification the receiver asked for and has not received yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingVerification {
    pub jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// What an SSF sink keeps in its `config` (the push authorization header is its sealed
/// secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamConfig {
    /// The issuer the stream was created under (`iss` of its SETs).
    pub iss: String,
    /// The stream's audience (`aud` of its SETs).
    pub aud: String,
    pub delivery: Delivery,
    #[serde(default)]
    pub events_requested: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<PendingVerification>,
}

impl StreamConfig {
    pub fn is_push(&self) -> bool {
        self.delivery.method == PUSH
    }

    /// The requested event types sessiond supports.
    pub fn events_delivered(&self) -> Vec<String> {
        EVENTS_SUPPORTED
            .iter()
            .filter(|t| self.events_requested.iter().any(|r| r == *t))
            .map(|t| t.to_string())
            .collect()
    }

    /// The sessiond events this stream turns into SETs; `None` when it requested nothing
    /// sessiond sends (it then receives only verifications).
    pub fn filter(&self, tenant: TenantId) -> Option<EventFilter> {
        if self.events_delivered().is_empty() {
            return None;
        }
        Some(EventFilter {
            tenant: TenantScope::One(tenant),
            types: vec![
                EventType::SessionClosed,
                EventType::SessionTerminated,
                EventType::SessionExpired,
            ],
            service: None,
        })
    }
}

/// A sink's config as an SSF stream's.
pub fn stream_config(s: &crate::sinks::Sink) -> crate::error::CoreResult<StreamConfig> {
    serde_json::from_str(&s.config).map_err(|e| {
        crate::error::CoreError::Internal(format!("SSF stream {} has a bad config: {e}", s.id))
    })
}

/// The `jti` of the SET carrying event `event_id` on stream `stream_id`: the same on every
/// redelivery, different on every stream.
pub fn jti(stream_id: &str, event_id: u64) -> String {
    format!("{stream_id}-{event_id}")
}

/// The event id a `jti` of this stream carries, if it is one of its event SETs.
pub fn event_of_jti(stream_id: &str, jti: &str) -> Option<u64> {
    jti.strip_prefix(stream_id)?.strip_prefix('-')?.parse().ok()
}

/// The claims of the SET reporting `e` on a stream, or `None` when the event has no CAEP
/// counterpart. `iat` is seconds since the epoch.
pub fn set_claims(
    stream: &StreamConfig,
    stream_id: &str,
    e: &StoredEvent,
    iat: i64,
) -> Option<Value> {
    let ev: Event = serde_json::from_str(&e.to_json()).ok()?;
    let s = ev.session.as_ref()?;
    let (initiating, default_reason) = match ev.kind {
        EventType::SessionTerminated => ("admin", "terminated by an administrator"),
        EventType::SessionExpired => ("policy", "the session timed out"),
        EventType::SessionClosed => ("user", "the user ended the session"),
        _ => return None,
    };
    let mut reason = s
        .end_reason
        .clone()
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| default_reason.to_string());
    if let Some(by) = &s.ended_by {
        reason = format!("{reason} ({by})");
    }
    let at = s.ended_at.unwrap_or(ev.at);
    Some(json!({
        "iss": stream.iss,
        "aud": stream.aud,
        "iat": iat,
        "jti": jti(stream_id, e.id),
        "txn": format!("sessiond-event-{}", e.id),
        "sub_id": {"format": "opaque", "id": s.id.as_str()},
        "events": {
            SESSION_REVOKED: {
                "event_timestamp": at.nanos().div_euclid(1_000_000_000),
                "initiating_entity": initiating,
                "reason_admin": {"en": reason},
            }
        }
    }))
}

/// The claims of a verification SET (`state` echoed when the receiver gave one).
pub fn verification_claims(
    stream: &StreamConfig,
    stream_id: &str,
    v: &PendingVerification,
    iat: i64,
) -> Value {
    let mut event = json!({});
    if let Some(state) = &v.state {
        event["state"] = json!(state);
    }
    json!({
        "iss": stream.iss,
        "aud": stream.aud,
        "iat": iat,
        "jti": v.jti,
        "sub_id": {"format": "opaque", "id": stream_id},
        "events": { VERIFICATION: event }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::session_event;

    fn stream(requested: &[&str]) -> StreamConfig {
        StreamConfig {
            iss: "https://sessiond.example".into(),
            aud: "receiver".into(),
            delivery: Delivery {
                method: PUSH.into(),
                endpoint_url: Some("https://rx.example/in".into()),
            },
            events_requested: requested.iter().map(|s| s.to_string()).collect(),
            description: None,
            verification: None,
        }
    }

    fn ended(kind: EventType, reason: Option<&str>) -> StoredEvent {
        let mut s: crate::domain::Session = serde_json::from_value(json!({
            "id": "01JD0000000000000000000000", "kind": "registered", "owner": "svc",
            "tenant_id": 1, "service": "smb", "user": {"domain": "LOCAL", "name": "alice"},
            "is_guest": false, "is_encrypted": false, "share_names": [], "num_opens": 0,
            "call_count": 0, "opened_at": "2026-01-01T00:00:00Z",
            "last_active_at": "2026-01-01T00:00:00Z", "idle_timeout": "30m",
            "absolute_timeout": "1day", "state": "terminated", "attributes": {}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        s.ended_at = Some(crate::time::Timestamp(1_767_225_600_000_000_000));
        s.ended_by = Some("ops".into());
        s.end_reason = reason.map(str::to_string);
        StoredEvent {
            id: 9,
            event: session_event(kind, s.ended_at.unwrap_or_default(), "acme", &s),
        }
    }

    #[test]
    fn a_termination_is_a_session_revoked_set() {
        let c = stream(&[SESSION_REVOKED]);
        let claims = set_claims(
            &c,
            "st1",
            &ended(EventType::SessionTerminated, Some("left")),
            5,
        )
        .unwrap_or_default();
        assert_eq!(claims["iss"], "https://sessiond.example");
        assert_eq!(claims["aud"], "receiver");
        assert_eq!(claims["jti"], "st1-9");
        assert_eq!(
            claims["sub_id"],
            json!({"format": "opaque", "id": "01JD0000000000000000000000"})
        );
        assert!(claims.get("sub").is_none() && claims.get("exp").is_none());
        let events = claims["events"].as_object().cloned().unwrap_or_default();
        assert_eq!(events.len(), 1);
        let e = &events[SESSION_REVOKED];
        assert_eq!(e["initiating_entity"], "admin");
        assert_eq!(e["reason_admin"]["en"], "left (ops)");
        assert_eq!(e["event_timestamp"], 1_767_225_600);
        assert_eq!(event_of_jti("st1", "st1-9"), Some(9));
        assert_eq!(event_of_jti("st1", "st2-9"), None);
    }

    #[test]
    fn expiries_say_why_and_creations_are_not_sent() {
        let c = stream(&[SESSION_REVOKED]);
        let claims =
            set_claims(&c, "s", &ended(EventType::SessionExpired, None), 1).unwrap_or_default();
        let e = &claims["events"][SESSION_REVOKED];
        assert_eq!(e["initiating_entity"], "policy");
        assert!(!e["reason_admin"]["en"]
            .as_str()
            .unwrap_or_default()
            .is_empty());
        assert!(set_claims(&c, "s", &ended(EventType::SessionCreated, None), 1).is_none());
    }

    #[test]
    fn a_stream_that_requests_nothing_supported_carries_nothing() {
        let none =
            stream(&["https://schemas.openid.net/secevent/caep/event-type/credential-change"]);
        assert!(none.events_delivered().is_empty());
        assert!(none.filter(1).is_none());
        let e = ended(EventType::SessionTerminated, None);
        let all = stream(&[SESSION_REVOKED])
            .filter(1)
            .unwrap_or_else(|| panic!("a filter"));
        assert!(all.matches(&e.event));
        let other = stream(&[SESSION_REVOKED])
            .filter(2)
            .unwrap_or_else(|| panic!("a filter"));
        assert!(!other.matches(&e.event));
    }
}
