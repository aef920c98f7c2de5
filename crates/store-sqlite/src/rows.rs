//! Row ↔ `Session` mapping: the column list, the derived columns that filters use (folded
//! name, upper-cased SID, tagged IP bytes), and the exact encodings of u64s, durations and
//! the JSON-held parts.

use crate::error::{corrupt, map_err};
use rusqlite::Row;
use serde::{Deserialize, Serialize};
use sessiond_core::identity::fold;
use sessiond_core::{
    Activity, Domain, HumanDuration, Session, SessionId, SessionKind, SessionState, StoreResult,
    Timestamp, User,
};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

/// The columns a `Session` is read from, in the order [`session_from_row`] decodes them.
/// Queries alias the sessions table as `s` and join [`ACTIVITY_JOIN`]: a live session's
/// activity and call count are in `session_activity` (migration 7), an ended one's in its
/// own row.
pub(crate) const SESSION_COLS: &str = "s.id, s.kind, s.owner, s.external_id, s.tenant_id, \
    s.service, s.node_id, s.server_address, s.originator, s.user_domain, s.user_name, \
    s.user_sid, s.user_uid, s.user_gid, s.user_auth_id, s.user_full_name, s.user_agent, \
    s.locale, s.is_guest, s.is_encrypted, s.share_names, s.num_opens, \
    coalesce(a.call_count, s.call_count), s.activity, s.opened_at, \
    coalesce(a.last_active_at, s.last_active_at), s.idle_timeout, s.absolute_timeout, \
    s.state, s.ended_at, s.ended_by, s.end_reason, s.attributes, s.user_realm";
/// The join every read of [`SESSION_COLS`] needs (one primary-key descent per row).
pub(crate) const ACTIVITY_JOIN: &str = "LEFT JOIN session_activity a ON a.id = s.id";
/// A live session's last activity, for filters.
pub(crate) const LAST_ACTIVE: &str = "coalesce(a.last_active_at, s.last_active_at)";
/// How many columns [`SESSION_COLS`] holds; extra selected columns start at this index.
pub(crate) const N_SESSION_COLS: usize = 34;

/// The INSERT of one session with all its derived columns (parameters: [`insert_params`]).
pub(crate) const INSERT_SESSION: &str = "INSERT INTO sessions (id, kind, owner, external_id, \
    tenant_id, service, node_id, server_address, originator, originator_ip, originator_host, \
    user_domain, user_name, user_name_folded, user_sid, user_sid_upper, user_uid, user_gid, \
    user_auth_id, user_full_name, user_agent, locale, is_guest, is_encrypted, share_names, \
    num_opens, call_count, activity, opened_at, last_active_at, idle_timeout, \
    absolute_timeout, state, ended_at, ended_by, end_reason, attributes, token_hash, \
    expires_at, user_realm) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, \
    ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, \
    ?32, ?33, ?34, ?35, ?36, ?37, ?38, ?39, ?40)";

/// Rewrites what a live session may change (see `Store::update_live`): never its identity
/// keys (id, tenant, service, node, external_id, owner, kind), its times of opening and
/// activity, its call count or its state. Only touches a live row.
pub(crate) const UPDATE_LIVE: &str = "UPDATE sessions SET server_address = ?2, \
    originator = ?3, originator_ip = ?4, originator_host = ?5, user_domain = ?6, \
    user_name = ?7, user_name_folded = ?8, user_sid = ?9, user_sid_upper = ?10, \
    user_uid = ?11, user_gid = ?12, user_auth_id = ?13, user_full_name = ?14, \
    user_agent = ?15, locale = ?16, is_guest = ?17, is_encrypted = ?18, share_names = ?19, \
    num_opens = ?20, activity = ?21, idle_timeout = ?22, absolute_timeout = ?23, \
    attributes = ?24, expires_at = ?25, user_realm = ?26 WHERE id = ?1 AND state = 'active'";

/// u64 → the i64 with the same bits (exact equality for ids above 2^63).
pub(crate) fn u64_bits(n: u64) -> i64 {
    n as i64
}

fn bits_u64(n: i64) -> u64 {
    n as u64
}

/// Counters that are added to in SQL are kept in 0..=i64::MAX (SQLite turns an overflowing
/// integer sum into a float), so they saturate there.
pub(crate) fn counter(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A tagged IP: `4` + 4 bytes or `6` + 16 bytes. The tag keeps families apart and makes
/// every address of a network lie between its first and last address as BLOBs.
pub(crate) fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => [&[4u8][..], &a.octets()].concat(),
        IpAddr::V6(a) => [&[6u8][..], &a.octets()].concat(),
    }
}

/// `(originator_ip, originator_host)`: exactly one is set for a present originator. The IP
/// is parsed the way `SessionFilter::matches` parses it, so both agree on what is an IP.
pub(crate) fn originator_columns(o: Option<&str>) -> (Option<Vec<u8>>, Option<String>) {
    match o {
        None => (None, None),
        Some(o) => match o.parse::<IpAddr>() {
            Ok(ip) => (Some(ip_bytes(ip)), None),
            Err(_) => (None, Some(o.to_ascii_lowercase())),
        },
    }
}

/// Durations as `secs.nanos` text: exact for any `Duration`, which nanoseconds in an i64
/// are not.
pub(crate) fn duration_text(d: HumanDuration) -> String {
    format!("{}.{:09}", d.0.as_secs(), d.0.subsec_nanos())
}

fn parse_duration(s: &str) -> Option<HumanDuration> {
    let (secs, nanos) = s.split_once('.')?;
    let nanos: u32 = nanos.parse().ok()?;
    (nanos < 1_000_000_000).then_some(())?;
    Some(HumanDuration(Duration::new(secs.parse().ok()?, nanos)))
}

/// `Activity` as stored: like its wire form, but `started_at` in integer nanoseconds, since
/// the RFC 3339 wire form keeps only microseconds. Migration 3 computes the operation filter
/// columns from these JSON keys (`$.op_type`, `$.namespace`, `$.plan_summary`,
/// `$.started_at`): renaming one needs a migration that redefines its column.
#[derive(Serialize, Deserialize)]
struct StoredActivity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    operation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    op_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    db: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    plan_summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    started_at: Option<i64>,
}

fn activity_json(a: &Option<Activity>) -> StoreResult<Option<String>> {
    let Some(a) = a else { return Ok(None) };
    let stored = StoredActivity {
        operation: a.operation.clone(),
        op_type: a.op_type.clone(),
        namespace: a.namespace.clone(),
        db: a.db.clone(),
        plan_summary: a.plan_summary.clone(),
        description: a.description.clone(),
        started_at: a.started_at.map(Timestamp::nanos),
    };
    serde_json::to_string(&stored)
        .map(Some)
        .map_err(|e| corrupt("activity", e))
}

fn activity_from_json(s: &str) -> StoreResult<Activity> {
    let a: StoredActivity = serde_json::from_str(s).map_err(|e| corrupt("activity", e))?;
    Ok(Activity {
        operation: a.operation,
        op_type: a.op_type,
        namespace: a.namespace,
        db: a.db,
        plan_summary: a.plan_summary,
        description: a.description,
        started_at: a.started_at.map(Timestamp),
    })
}

/// The values a session row is written from, derived columns included.
pub(crate) struct SessionValues {
    originator_ip: Option<Vec<u8>>,
    originator_host: Option<String>,
    name_folded: Option<String>,
    sid_upper: Option<String>,
    share_names: String,
    activity: Option<String>,
    idle: String,
    absolute: String,
    attributes: String,
}

impl SessionValues {
    pub(crate) fn of(s: &Session) -> StoreResult<Self> {
        let (originator_ip, originator_host) = originator_columns(s.originator.as_deref());
        Ok(SessionValues {
            originator_ip,
            originator_host,
            name_folded: s.user.name.as_deref().map(fold),
            sid_upper: s.user.sid.as_deref().map(str::to_ascii_uppercase),
            share_names: serde_json::to_string(&s.share_names)
                .map_err(|e| corrupt("share_names", e))?,
            activity: activity_json(&s.activity)?,
            idle: duration_text(s.idle_timeout),
            absolute: duration_text(s.absolute_timeout),
            attributes: serde_json::to_string(&s.attributes)
                .map_err(|e| corrupt("attributes", e))?,
        })
    }
}

/// Runs [`INSERT_SESSION`] for `s`.
pub(crate) fn insert(
    stmt: &mut rusqlite::CachedStatement<'_>,
    s: &Session,
    token_hash: &[u8; 32],
    expires_at: Option<Timestamp>,
) -> StoreResult<()> {
    let v = SessionValues::of(s)?;
    let u = &s.user;
    stmt.execute(rusqlite::params![
        s.id.as_str(),
        s.kind.as_str(),
        s.owner,
        s.external_id,
        s.tenant_id,
        s.service,
        s.node_id,
        s.server_address,
        s.originator,
        v.originator_ip,
        v.originator_host,
        u.domain.as_str(),
        u.name,
        v.name_folded,
        u.sid,
        v.sid_upper,
        u.uid,
        u.gid,
        u.auth_id.map(u64_bits),
        u.full_name,
        s.user_agent,
        s.locale,
        s.is_guest,
        s.is_encrypted,
        v.share_names,
        u64_bits(s.num_opens),
        counter(s.call_count),
        v.activity,
        s.opened_at.nanos(),
        s.last_active_at.nanos(),
        v.idle,
        v.absolute,
        s.state.as_str(),
        s.ended_at.map(Timestamp::nanos),
        s.ended_by,
        s.end_reason,
        v.attributes,
        &token_hash[..],
        expires_at.map(Timestamp::nanos),
        u.realm,
    ])
    .map_err(map_err)?;
    Ok(())
}

/// Runs [`UPDATE_LIVE`] for `s`; returns how many rows changed (0 or 1).
pub(crate) fn update_live(
    stmt: &mut rusqlite::CachedStatement<'_>,
    s: &Session,
    expires_at: Option<Timestamp>,
) -> StoreResult<usize> {
    let v = SessionValues::of(s)?;
    let u = &s.user;
    stmt.execute(rusqlite::params![
        s.id.as_str(),
        s.server_address,
        s.originator,
        v.originator_ip,
        v.originator_host,
        u.domain.as_str(),
        u.name,
        v.name_folded,
        u.sid,
        v.sid_upper,
        u.uid,
        u.gid,
        u.auth_id.map(u64_bits),
        u.full_name,
        s.user_agent,
        s.locale,
        s.is_guest,
        s.is_encrypted,
        v.share_names,
        u64_bits(s.num_opens),
        v.activity,
        v.idle,
        v.absolute,
        v.attributes,
        expires_at.map(Timestamp::nanos),
        u.realm,
    ])
    .map_err(map_err)
}

/// Decodes the [`SESSION_COLS`] of a row.
pub(crate) fn session_from_row(row: &Row<'_>) -> StoreResult<Session> {
    let id: String = row.get(0).map_err(map_err)?;
    let kind: String = row.get(1).map_err(map_err)?;
    let domain: String = row.get(9).map_err(map_err)?;
    let shares: String = row.get(20).map_err(map_err)?;
    let activity: Option<String> = row.get(23).map_err(map_err)?;
    let idle: String = row.get(26).map_err(map_err)?;
    let absolute: String = row.get(27).map_err(map_err)?;
    let state: String = row.get(28).map_err(map_err)?;
    let attributes: String = row.get(32).map_err(map_err)?;
    let opt_text = |i: usize| -> StoreResult<Option<String>> { row.get(i).map_err(map_err) };
    Ok(Session {
        id: SessionId::parse(&id).ok_or_else(|| corrupt("session id", &id))?,
        kind: SessionKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
        owner: row.get(2).map_err(map_err)?,
        external_id: opt_text(3)?,
        tenant_id: row.get(4).map_err(map_err)?,
        service: row.get(5).map_err(map_err)?,
        node_id: opt_text(6)?,
        server_address: opt_text(7)?,
        originator: opt_text(8)?,
        user: User {
            domain: Domain::from_str(&domain).map_err(|_| corrupt("domain", &domain))?,
            name: opt_text(10)?,
            sid: opt_text(11)?,
            uid: row.get(12).map_err(map_err)?,
            gid: row.get(13).map_err(map_err)?,
            auth_id: row
                .get::<_, Option<i64>>(14)
                .map_err(map_err)?
                .map(bits_u64),
            full_name: opt_text(15)?,
            realm: opt_text(33)?,
        },
        user_agent: opt_text(16)?,
        locale: opt_text(17)?,
        is_guest: row.get(18).map_err(map_err)?,
        is_encrypted: row.get(19).map_err(map_err)?,
        share_names: serde_json::from_str(&shares).map_err(|e| corrupt("share_names", e))?,
        num_opens: bits_u64(row.get(21).map_err(map_err)?),
        call_count: u64::try_from(row.get::<_, i64>(22).map_err(map_err)?).unwrap_or(0),
        activity: activity.as_deref().map(activity_from_json).transpose()?,
        opened_at: Timestamp(row.get(24).map_err(map_err)?),
        last_active_at: Timestamp(row.get(25).map_err(map_err)?),
        idle_timeout: parse_duration(&idle).ok_or_else(|| corrupt("idle_timeout", &idle))?,
        absolute_timeout: parse_duration(&absolute)
            .ok_or_else(|| corrupt("absolute_timeout", &absolute))?,
        state: SessionState::parse(&state).ok_or_else(|| corrupt("state", &state))?,
        ended_at: row
            .get::<_, Option<i64>>(29)
            .map_err(map_err)?
            .map(Timestamp),
        ended_by: opt_text(30)?,
        end_reason: opt_text(31)?,
        attributes: serde_json::from_str::<BTreeMap<String, String>>(&attributes)
            .map_err(|e| corrupt("attributes", e))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_trip_exactly() {
        for d in [
            Duration::ZERO,
            Duration::new(90, 5),
            Duration::new(u64::MAX, 999_999_999),
        ] {
            let h = HumanDuration(d);
            assert_eq!(parse_duration(&duration_text(h)), Some(h));
        }
        assert_eq!(parse_duration("1.1000000000"), None);
    }

    #[test]
    fn ip_tags_keep_families_apart_and_networks_contiguous() {
        let v4 = ip_bytes("10.1.2.3".parse().expect("ip"));
        let mapped = ip_bytes("::ffff:10.1.2.3".parse().expect("ip"));
        assert_ne!(v4, mapped);
        let lo = ip_bytes("10.1.0.0".parse().expect("ip"));
        let hi = ip_bytes("10.1.255.255".parse().expect("ip"));
        assert!(lo <= v4 && v4 <= hi);
        assert!(!(lo <= mapped && mapped <= hi));
    }

    #[test]
    fn originator_is_an_ip_or_a_lower_cased_host() {
        assert_eq!(originator_columns(None), (None, None));
        assert!(originator_columns(Some("2001:DB8::1")).0.is_some());
        assert_eq!(
            originator_columns(Some("Laptop.Example")).1.as_deref(),
            Some("laptop.example")
        );
    }
}
