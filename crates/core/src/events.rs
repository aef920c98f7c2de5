//! Session events: the one model behind the SSE stream, webhooks and SSF — which change
//! reports which event, the event's JSON, and the filter a subscriber applies. A store writes
//! an event in the same atomic step as the change it reports (an outbox), so an acknowledged
//! change always has its event; the store assigns the id, increasing.

use crate::domain::{Principal, Role, Session, SessionId, SessionState, TenantId};
use crate::filter::TenantScope;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// An event's id: increasing in the order the store wrote the events, on every replica.
pub type EventId = u64;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventType {
    #[serde(rename = "session.created")]
    SessionCreated,
    #[serde(rename = "session.closed")]
    SessionClosed,
    #[serde(rename = "session.terminated")]
    SessionTerminated,
    #[serde(rename = "session.expired")]
    SessionExpired,
    #[serde(rename = "principal.disabled")]
    PrincipalDisabled,
}

impl EventType {
    pub const ALL: [EventType; 5] = [
        EventType::SessionCreated,
        EventType::SessionClosed,
        EventType::SessionTerminated,
        EventType::SessionExpired,
        EventType::PrincipalDisabled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::SessionCreated => "session.created",
            EventType::SessionClosed => "session.closed",
            EventType::SessionTerminated => "session.terminated",
            EventType::SessionExpired => "session.expired",
            EventType::PrincipalDisabled => "principal.disabled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The event an end in `state` reports (`None` for `active`, which is no end).
    pub fn for_end(state: SessionState) -> Option<Self> {
        match state {
            SessionState::Active => None,
            SessionState::Closed => Some(EventType::SessionClosed),
            SessionState::Terminated => Some(EventType::SessionTerminated),
            SessionState::Expired => Some(EventType::SessionExpired),
        }
    }

    /// A list as `parse_list` reads it back; `all` for the empty list (it means every type).
    pub fn list_label(types: &[EventType]) -> String {
        if types.is_empty() {
            return "all".into();
        }
        types
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Parses a comma-separated list (`types=` of the API and CLI); empty items are ignored.
    pub fn parse_list(s: &str) -> Result<Vec<EventType>, String> {
        let mut out = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            match EventType::parse(item) {
                Some(t) if !out.contains(&t) => out.push(t),
                Some(_) => {}
                None => {
                    return Err(format!(
                        "unknown event type {item:?}; known: {}",
                        EventType::ALL.map(EventType::as_str).join(", ")
                    ))
                }
            }
        }
        Ok(out)
    }
}

/// An event as core hands it to a store, which writes it in the same atomic step as the
/// change it reports and gives it its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventDraft {
    pub kind: EventType,
    pub at: Timestamp,
    pub tenant_id: TenantId,
    /// The session's service (`None` for a principal's event): subscribers filter on it.
    pub service: Option<String>,
    /// The session the event is about; a store appends an end's event only for the ids that
    /// call ended.
    pub session_id: Option<SessionId>,
    /// The event's JSON object without its id (see [`StoredEvent::to_json`]).
    pub body: String,
}

/// An event as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    pub id: EventId,
    pub event: EventDraft,
}

impl StoredEvent {
    /// The event's JSON: `{"id":N,` followed by the body's fields. The body is a JSON object
    /// serialized by [`session_event`] or [`principal_event`], so it starts with `{`.
    pub fn to_json(&self) -> String {
        let rest = self.event.body.strip_prefix('{').unwrap_or("}");
        if rest.trim_start().starts_with('}') {
            format!("{{\"id\":{}}}", self.id)
        } else {
            format!("{{\"id\":{},{rest}", self.id)
        }
    }
}

/// A principal as its events show it (never its password hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventPrincipal {
    pub name: String,
    pub role: Role,
    pub disabled: bool,
}

/// An event as subscribers receive it: `session` is the session exactly as
/// `GET /api/v1/sessions/{id}` shows it after the change (never its token).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    pub id: EventId,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub at: Timestamp,
    /// The tenant's name.
    pub tenant: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<Session>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<EventPrincipal>,
}

/// The body an event is stored with: [`Event`] without its id.
#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: EventType,
    at: Timestamp,
    tenant: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<&'a Session>,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal: Option<EventPrincipal>,
}

fn body(b: &Body<'_>) -> String {
    // Serializing plain data to a string cannot fail; an empty object keeps the outbox
    // well-formed if it ever did.
    serde_json::to_string(b).unwrap_or_else(|_| "{}".to_string())
}

/// The event reporting that `s` (as it is after the change) was created or ended.
pub fn session_event(kind: EventType, at: Timestamp, tenant: &str, s: &Session) -> EventDraft {
    EventDraft {
        kind,
        at,
        tenant_id: s.tenant_id,
        service: Some(s.service.clone()),
        session_id: Some(s.id.clone()),
        body: body(&Body {
            kind,
            at,
            tenant,
            session: Some(s),
            principal: None,
        }),
    }
}

/// The event reporting that principal `p` was disabled.
pub fn principal_event(at: Timestamp, tenant: &str, p: &Principal) -> EventDraft {
    let kind = EventType::PrincipalDisabled;
    EventDraft {
        kind,
        at,
        tenant_id: p.tenant_id,
        service: None,
        session_id: None,
        body: body(&Body {
            kind,
            at,
            tenant,
            session: None,
            principal: Some(EventPrincipal {
                name: p.name.clone(),
                role: p.role,
                disabled: p.disabled,
            }),
        }),
    }
}

/// Which events a subscriber receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventFilter {
    pub tenant: TenantScope,
    /// Empty: every type.
    pub types: Vec<EventType>,
    /// Only sessions of this service (principal events have none and are then left out).
    pub service: Option<String>,
}

impl EventFilter {
    pub fn matches(&self, e: &EventDraft) -> bool {
        self.tenant.contains(e.tenant_id)
            && (self.types.is_empty() || self.types.contains(&e.kind))
            && self
                .service
                .as_ref()
                .is_none_or(|s| e.service.as_deref() == Some(s.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_end_reports_the_event_of_its_state() {
        assert_eq!(EventType::for_end(SessionState::Active), None);
        assert_eq!(
            EventType::for_end(SessionState::Expired),
            Some(EventType::SessionExpired)
        );
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            let json = serde_json::to_string(&t).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
        }
    }

    #[test]
    fn type_lists_refuse_unknown_names() {
        assert_eq!(
            EventType::parse_list("session.closed, session.closed,,session.expired"),
            Ok(vec![EventType::SessionClosed, EventType::SessionExpired])
        );
        let err =
            EventType::parse_list("session.closed,session.opened").expect_err("an unknown type");
        assert!(err.contains("session.opened"), "{err}");
    }

    #[test]
    fn a_stored_event_reads_back_as_the_public_shape() {
        let p = Principal {
            name: "ops".into(),
            tenant_id: 3,
            role: Role::Operator,
            password_hash: "secret-hash".into(),
            disabled: true,
            created_at: Timestamp(1),
        };
        let draft = principal_event(Timestamp(5_000_000_000), "acme", &p);
        assert!(!draft.body.contains("secret-hash"));
        let stored = StoredEvent {
            id: 42,
            event: draft,
        };
        let e: Event = serde_json::from_str(&stored.to_json()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(e.id, 42);
        assert_eq!(e.kind, EventType::PrincipalDisabled);
        assert_eq!(e.tenant, "acme");
        assert_eq!(e.principal.map(|p| p.name), Some("ops".to_string()));
        assert!(e.session.is_none());
    }
}
