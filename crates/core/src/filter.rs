//! Store-level session filters and keyset pages: what a list, count or bulk end may ask a store.

use crate::domain::{Session, SessionId, SessionKind, TenantId};
use crate::identity::IdentityQuery;
use crate::time::Timestamp;
use ipnet::IpNet;

/// Which tenants a query may see. Core decides it from the caller; a store only applies it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TenantScope {
    One(TenantId),
    All,
}

impl TenantScope {
    pub fn contains(&self, t: TenantId) -> bool {
        match self {
            TenantScope::One(x) => *x == t,
            TenantScope::All => true,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum StateFilter {
    #[default]
    Active,
    Ended,
    All,
}

impl StateFilter {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(StateFilter::Active),
            "ended" => Some(StateFilter::Ended),
            "all" => Some(StateFilter::All),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            StateFilter::Active => "active",
            StateFilter::Ended => "ended",
            StateFilter::All => "all",
        }
    }
}

/// A client address filter: an IP network (a bare IP is a /32 or /128), or an exact
/// host string for originators that are names rather than addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OriginatorFilter {
    Net(IpNet),
    Host(String),
}

impl OriginatorFilter {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.is_empty() || s.len() > 255 {
            return None;
        }
        if let Ok(net) = s.parse::<IpNet>() {
            return Some(OriginatorFilter::Net(net.trunc()));
        }
        if let Ok(ip) = s.parse::<std::net::IpAddr>() {
            return Some(OriginatorFilter::Net(IpNet::from(ip)));
        }
        if s.contains('/') || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        Some(OriginatorFilter::Host(s.to_ascii_lowercase()))
    }
}

/// A normalised filter. Durations have already been turned into absolute instants by core
/// (against its clock), so a store compares columns and never reads a clock.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionFilter {
    /// `None` only for maintenance paths; every caller-facing query sets a scope.
    pub tenant: Option<TenantScope>,
    pub service: Option<String>,
    pub node_id: Option<String>,
    pub identity: Option<IdentityQuery>,
    pub originator: Option<OriginatorFilter>,
    pub share: Option<String>,
    pub state: StateFilter,
    /// `idle_gt`: last activity strictly before this instant.
    pub last_active_before: Option<Timestamp>,
    /// `idle_lt`: last activity strictly after this instant.
    pub last_active_after: Option<Timestamp>,
    /// `age_gt`: opened strictly before this instant.
    pub opened_before: Option<Timestamp>,
    pub is_guest: Option<bool>,
    pub external_id: Option<String>,
    pub kind: Option<SessionKind>,
    pub owner: Option<String>,
    /// Inclusive upper bound on ids (a dry run's `confirm` pins the set with it).
    pub max_id: Option<SessionId>,
    /// The current operation (MongoDB currentOp view): `Some(true)` = an operation is in
    /// progress, `Some(false)` = idle.
    pub has_activity: Option<bool>,
    /// Exact match on the current operation's `type`.
    pub activity_type: Option<String>,
    /// Exact match on the current operation's `namespace`.
    pub activity_namespace: Option<String>,
    /// Exact match on the current operation's `plan_summary`.
    pub activity_plan_summary: Option<String>,
    /// An operation is in progress and started strictly before this instant (DDS
    /// `cost_time`: running longer than N µs). Idle sessions never match.
    pub activity_started_before: Option<Timestamp>,
}

impl SessionFilter {
    /// The reference semantics of every filter, evaluated on one record. Stores answer with
    /// indexes; the conformance suite checks them against this.
    pub fn matches(&self, s: &Session) -> bool {
        if let Some(scope) = &self.tenant {
            if !scope.contains(s.tenant_id) {
                return false;
            }
        }
        let state_ok = match self.state {
            StateFilter::Active => s.state.is_live(),
            StateFilter::Ended => !s.state.is_live(),
            StateFilter::All => true,
        };
        state_ok
            && self.service.as_ref().is_none_or(|v| *v == s.service)
            && self
                .node_id
                .as_ref()
                .is_none_or(|v| Some(v) == s.node_id.as_ref())
            && self
                .identity
                .as_ref()
                .is_none_or(|q| identity_matches(q, s))
            && self
                .originator
                .as_ref()
                .is_none_or(|o| originator_matches(o, s.originator.as_deref()))
            && self
                .share
                .as_ref()
                .is_none_or(|v| s.share_names.iter().any(|x| x == v))
            && self.last_active_before.is_none_or(|t| s.last_active_at < t)
            && self.last_active_after.is_none_or(|t| s.last_active_at > t)
            && self.opened_before.is_none_or(|t| s.opened_at < t)
            && self.is_guest.is_none_or(|g| g == s.is_guest)
            && self
                .external_id
                .as_ref()
                .is_none_or(|v| Some(v) == s.external_id.as_ref())
            && self.kind.is_none_or(|k| k == s.kind)
            && self.owner.as_ref().is_none_or(|o| *o == s.owner)
            && self.max_id.as_ref().is_none_or(|m| s.id <= *m)
            && self.has_activity.is_none_or(|h| h == s.activity.is_some())
            && activity_field(&self.activity_type, s, |a| a.op_type.as_ref())
            && activity_field(&self.activity_namespace, s, |a| a.namespace.as_ref())
            && activity_field(&self.activity_plan_summary, s, |a| a.plan_summary.as_ref())
            && self.activity_started_before.is_none_or(|t| {
                s.activity
                    .as_ref()
                    .and_then(|a| a.started_at)
                    .is_some_and(|st| st < t)
            })
    }
}

/// An exact-match filter on one field of the current operation; an idle session, or one
/// whose operation lacks the field, does not match.
fn activity_field(
    want: &Option<String>,
    s: &Session,
    get: impl Fn(&crate::domain::Activity) -> Option<&String>,
) -> bool {
    match want {
        None => true,
        Some(w) => s.activity.as_ref().and_then(get).is_some_and(|v| v == w),
    }
}

pub fn identity_matches(q: &IdentityQuery, s: &Session) -> bool {
    let u = &s.user;
    match q {
        IdentityQuery::Name { domain, folded } => {
            domain.is_none_or(|d| d == u.domain)
                && u.name
                    .as_deref()
                    .is_some_and(|n| crate::identity::fold(n) == *folded)
        }
        IdentityQuery::Sid(sid) => u
            .sid
            .as_deref()
            .is_some_and(|x| x.eq_ignore_ascii_case(sid)),
        IdentityQuery::Uid(n) => u.uid == Some(*n),
        IdentityQuery::Gid(n) => u.gid == Some(*n),
        IdentityQuery::AuthId(n) => u.auth_id == Some(*n),
    }
}

pub fn originator_matches(f: &OriginatorFilter, originator: Option<&str>) -> bool {
    let Some(o) = originator else { return false };
    match f {
        OriginatorFilter::Net(net) => o
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| net.contains(&ip)),
        OriginatorFilter::Host(h) => o.eq_ignore_ascii_case(h),
    }
}

/// A keyset page request: sessions with id > `after`, in id order, at most `limit`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub filter: SessionFilter,
    pub after: Option<SessionId>,
    pub limit: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub items: Vec<Session>,
    /// Cursor for the next page; `None` when the walk is complete. A page may be short
    /// and still carry `next` when a store bounded its scan.
    pub next: Option<SessionId>,
}
