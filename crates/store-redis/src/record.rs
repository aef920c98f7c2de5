//! A session as hash fields. The parts Lua scripts compare or change are fields of their own
//! (`st`, `la` and the deadline `ex` as padded times, `cc` as an integer for HINCRBY, the end
//! fields, and `dx`: the deadline the lazy `due` index holds, see touch.lua); the rest is two
//! JSON blobs written by Rust only: `f` (fixed at registration) and `m` (rewritten by
//! `update_live`). Times are integers in nanoseconds: the `Session` serde
//! form (RFC 3339 micros) would lose precision.

use crate::keys::{pad, unpad};
use serde::{Deserialize, Serialize};
use sessiond_core::store::TokenHash;
use sessiond_core::{
    Activity, HumanDuration, Session, SessionId, SessionKind, SessionState, StoreError,
    StoreResult, Timestamp, User,
};
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Serialize, Deserialize)]
struct Fixed {
    kind: String,
    owner: String,
    xid: Option<String>,
    tenant: u32,
    service: String,
    node: Option<String>,
    opened: i64,
}

#[derive(Serialize, Deserialize)]
struct Op {
    operation: Option<String>,
    op_type: Option<String>,
    namespace: Option<String>,
    db: Option<String>,
    plan_summary: Option<String>,
    description: Option<String>,
    started_at: Option<i64>,
}

#[derive(Serialize, Deserialize)]
struct Mutable {
    server_address: Option<String>,
    originator: Option<String>,
    user: User,
    user_agent: Option<String>,
    locale: Option<String>,
    is_guest: bool,
    is_encrypted: bool,
    share_names: Vec<String>,
    num_opens: u64,
    activity: Option<Op>,
    idle: (u64, u32),
    absolute: (u64, u32),
    attributes: BTreeMap<String, String>,
}

fn dur(d: HumanDuration) -> (u64, u32) {
    (d.0.as_secs(), d.0.subsec_nanos())
}

fn undur((s, n): (u64, u32)) -> HumanDuration {
    HumanDuration(Duration::new(s, n))
}

fn json<T: Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Internal(format!("encode: {e}")))
}

/// The `f` blob.
pub(crate) fn fixed_json(s: &Session) -> StoreResult<String> {
    json(&Fixed {
        kind: s.kind.as_str().into(),
        owner: s.owner.clone(),
        xid: s.external_id.clone(),
        tenant: s.tenant_id,
        service: s.service.clone(),
        node: s.node_id.clone(),
        opened: s.opened_at.nanos(),
    })
}

/// The `m` blob.
pub(crate) fn mutable_json(s: &Session) -> StoreResult<String> {
    json(&Mutable {
        server_address: s.server_address.clone(),
        originator: s.originator.clone(),
        user: s.user.clone(),
        user_agent: s.user_agent.clone(),
        locale: s.locale.clone(),
        is_guest: s.is_guest,
        is_encrypted: s.is_encrypted,
        share_names: s.share_names.clone(),
        num_opens: s.num_opens,
        activity: s.activity.as_ref().map(|a| Op {
            operation: a.operation.clone(),
            op_type: a.op_type.clone(),
            namespace: a.namespace.clone(),
            db: a.db.clone(),
            plan_summary: a.plan_summary.clone(),
            description: a.description.clone(),
            started_at: a.started_at.map(Timestamp::nanos),
        }),
        idle: dur(s.idle_timeout),
        absolute: dur(s.absolute_timeout),
        attributes: s.attributes.clone(),
    })
}

fn corrupt(id: &SessionId, what: &str) -> StoreError {
    StoreError::Internal(format!("session {id}: corrupt field {what}"))
}

/// The hash fields a session is read from, in the order of [`read`]'s answer. Reads ask for
/// these and no more: HGETALL would also carry the index lists (`ixf`, `ixm`) and the
/// bookkeeping fields, which only scripts need, on every validate.
const READ_FIELDS: [&str; 9] = ["f", "m", "st", "la", "cc", "h", "ea", "eb", "er"];

/// One session's fields as [`read`] answers them (`None` for an absent field).
pub(crate) type Row = Vec<Option<Vec<u8>>>;

/// The command reading one session's fields (HMGET of [`READ_FIELDS`]).
pub(crate) fn read(key: String) -> redis::Cmd {
    let mut c = redis::cmd("HMGET");
    c.arg(key).arg(&READ_FIELDS[..]);
    c
}

/// Rebuilds a session (and its token hash) from [`read`]'s answer; `None` when the key does
/// not exist (every field absent).
pub(crate) fn decode(id: &SessionId, row: &Row) -> StoreResult<Option<(Session, TokenHash)>> {
    if row.iter().all(Option::is_none) {
        return Ok(None);
    }
    let field = |k: &str| -> Option<&Vec<u8>> {
        READ_FIELDS
            .iter()
            .position(|f| *f == k)
            .and_then(|i| row.get(i))
            .and_then(Option::as_ref)
    };
    let text = |k: &str| -> StoreResult<String> {
        let v = field(k).ok_or_else(|| corrupt(id, k))?;
        String::from_utf8(v.clone()).map_err(|_| corrupt(id, k))
    };
    let opt_text = |k: &str| -> StoreResult<Option<String>> {
        field(k).is_some().then(|| text(k)).transpose()
    };
    let time =
        |k: &str| -> StoreResult<Timestamp> { unpad(&text(k)?).ok_or_else(|| corrupt(id, k)) };
    let f: Fixed = serde_json::from_str(&text("f")?).map_err(|_| corrupt(id, "f"))?;
    let m: Mutable = serde_json::from_str(&text("m")?).map_err(|_| corrupt(id, "m"))?;
    let state = SessionState::parse(&text("st")?).ok_or_else(|| corrupt(id, "st"))?;
    let kind = SessionKind::parse(&f.kind).ok_or_else(|| corrupt(id, "kind"))?;
    let call_count: u64 = text("cc")?.parse().map_err(|_| corrupt(id, "cc"))?;
    let hash: TokenHash = field("h")
        .and_then(|v| v.as_slice().try_into().ok())
        .ok_or_else(|| corrupt(id, "h"))?;
    let ended_at = match opt_text("ea")? {
        Some(v) => Some(unpad(&v).ok_or_else(|| corrupt(id, "ea"))?),
        None => None,
    };
    let s = Session {
        id: id.clone(),
        kind,
        owner: f.owner,
        external_id: f.xid,
        tenant_id: f.tenant,
        service: f.service,
        node_id: f.node,
        server_address: m.server_address,
        originator: m.originator,
        user: m.user,
        user_agent: m.user_agent,
        locale: m.locale,
        is_guest: m.is_guest,
        is_encrypted: m.is_encrypted,
        share_names: m.share_names,
        num_opens: m.num_opens,
        call_count,
        activity: m.activity.map(|a| Activity {
            operation: a.operation,
            op_type: a.op_type,
            namespace: a.namespace,
            db: a.db,
            plan_summary: a.plan_summary,
            description: a.description,
            started_at: a.started_at.map(Timestamp),
        }),
        opened_at: Timestamp(f.opened),
        last_active_at: time("la")?,
        idle_timeout: undur(m.idle),
        absolute_timeout: undur(m.absolute),
        state,
        ended_at,
        ended_by: opt_text("eb")?,
        end_reason: opt_text("er")?,
        attributes: m.attributes,
    };
    Ok(Some((s, hash)))
}

/// `ex` argument of the scripts: a padded deadline, or empty for none.
pub(crate) fn deadline_arg(t: Option<Timestamp>) -> String {
    t.map(pad).unwrap_or_default()
}
