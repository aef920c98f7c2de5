//! How sessions look to people: the list table, the `show` block, user labels and
//! humanized durations.

use super::table::{key_values, Table};
use sessiond_core::{Session, SessionState, Timestamp, User};
use std::time::Duration;

/// One row per session: ID, TENANT, SERVICE, NODE, USER, ORIGINATOR, STATE, OPENED, IDLE.
pub(crate) fn session_table(sessions: &[Session], now: Timestamp) -> Table {
    let mut t = Table::new([
        "ID",
        "TENANT",
        "SERVICE",
        "NODE",
        "USER",
        "ORIGINATOR",
        "STATE",
        "OPENED",
        "IDLE",
    ]);
    for s in sessions {
        t.push([
            s.id.to_string(),
            s.tenant_id.to_string(),
            s.service.clone(),
            s.node_id.clone().unwrap_or_default(),
            user_label(&s.user),
            s.originator.clone().unwrap_or_default(),
            s.state.as_str().to_owned(),
            time_short(s.opened_at),
            idle(s, now),
        ]);
    }
    t
}

/// Every field of one session as aligned `key: value` lines.
pub(crate) fn session_details(s: &Session, now: Timestamp) -> String {
    let opt = |v: &Option<String>| v.clone();
    let list = |v: &[String]| (!v.is_empty()).then(|| v.join(", "));
    let activity = s.activity.as_ref().map(|a| {
        [
            a.operation.as_deref(),
            a.op_type.as_deref(),
            a.namespace.as_deref(),
            a.plan_summary.as_deref(),
            a.description.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
    });
    let attributes = (!s.attributes.is_empty()).then(|| {
        s.attributes
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    });
    let live = s.state == SessionState::Active;
    key_values(&[
        ("id", Some(s.id.to_string())),
        ("kind", Some(s.kind.as_str().to_owned())),
        ("state", Some(s.state.as_str().to_owned())),
        ("tenant", Some(s.tenant_id.to_string())),
        ("service", Some(s.service.clone())),
        ("owner", Some(s.owner.clone())),
        ("external_id", opt(&s.external_id)),
        ("node", opt(&s.node_id)),
        ("server_address", opt(&s.server_address)),
        ("originator", opt(&s.originator)),
        ("user", Some(user_label(&s.user))),
        ("domain", Some(s.user.domain.as_str().to_owned())),
        ("name", opt(&s.user.name)),
        ("sid", opt(&s.user.sid)),
        ("uid", s.user.uid.map(|v| v.to_string())),
        ("gid", s.user.gid.map(|v| v.to_string())),
        ("auth_id", s.user.auth_id.map(|v| v.to_string())),
        ("full_name", opt(&s.user.full_name)),
        ("realm", opt(&s.user.realm)),
        ("user_agent", opt(&s.user_agent)),
        ("locale", opt(&s.locale)),
        ("guest", Some(s.is_guest.to_string())),
        ("encrypted", Some(s.is_encrypted.to_string())),
        ("shares", list(&s.share_names)),
        ("num_opens", Some(s.num_opens.to_string())),
        ("call_count", Some(s.call_count.to_string())),
        ("activity", activity),
        ("opened_at", Some(s.opened_at.to_rfc3339())),
        ("last_active_at", Some(s.last_active_at.to_rfc3339())),
        ("idle", live.then(|| idle(s, now))),
        ("idle_timeout", Some(s.idle_timeout.to_string())),
        ("absolute_timeout", Some(s.absolute_timeout.to_string())),
        (
            "expires_at",
            live.then(|| s.expires_at().map(|t| t.to_rfc3339()))
                .flatten(),
        ),
        ("ended_at", s.ended_at.map(|t| t.to_rfc3339())),
        ("ended_by", opt(&s.ended_by)),
        ("end_reason", opt(&s.end_reason)),
        ("attributes", attributes),
    ])
}

/// `DOMAIN\name` when there is a name, else the first id there is (`S-1-…`, `uid:N`, …).
pub(crate) fn user_label(u: &User) -> String {
    if let Some(name) = &u.name {
        format!("{}\\{name}", u.domain.as_str())
    } else if let Some(sid) = &u.sid {
        sid.clone()
    } else if let Some(uid) = u.uid {
        format!("uid:{uid}")
    } else if let Some(gid) = u.gid {
        format!("gid:{gid}")
    } else if let Some(a) = u.auth_id {
        format!("auth_id:{a}")
    } else {
        String::new()
    }
}

/// Idle time of a live session; an ended one is not idle, it is over (`-`).
fn idle(s: &Session, now: Timestamp) -> String {
    if s.state == SessionState::Active {
        humanize(now.since(s.last_active_at))
    } else {
        String::new()
    }
}

/// `2026-11-23T14:34:36Z`: seconds are plenty in a table.
pub(crate) fn time_short(t: Timestamp) -> String {
    humantime::format_rfc3339_seconds(t.to_system_time()).to_string()
}

/// Two units at most: `42s`, `5m12s`, `2h05m`, `3d04h`.
pub(crate) fn humanize(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m{:02}s", s / 60, s % 60),
        3_600..86_400 => format!("{}h{:02}m", s / 3_600, (s % 3_600) / 60),
        _ => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3_600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessiond_core::Domain;

    #[test]
    fn durations_are_short() {
        assert_eq!(humanize(Duration::from_millis(900)), "0s");
        assert_eq!(humanize(Duration::from_secs(42)), "42s");
        assert_eq!(humanize(Duration::from_secs(312)), "5m12s");
        assert_eq!(humanize(Duration::from_secs(2 * 3600 + 5 * 60)), "2h05m");
        assert_eq!(
            humanize(Duration::from_secs(3 * 86_400 + 4 * 3600)),
            "3d04h"
        );
    }

    #[test]
    fn user_labels_prefer_the_name() {
        let mut u = User {
            domain: Domain::ActiveDirectory,
            name: Some("alice".into()),
            sid: Some("S-1-5-21-1".into()),
            ..User::default()
        };
        assert_eq!(user_label(&u), "ACTIVE_DIRECTORY\\alice");
        u.name = None;
        assert_eq!(user_label(&u), "S-1-5-21-1");
        let u = User {
            uid: Some(1000),
            ..User::default()
        };
        assert_eq!(user_label(&u), "uid:1000");
    }
}
