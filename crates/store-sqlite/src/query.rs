//! `SessionFilter` → SQL: picks the index that answers a filter and builds the list, count
//! and max-id statements over it.
//!
//! Every condition mirrors one clause of `SessionFilter::matches`. The plan splits them into
//! *access* conditions, answered by an index in id order (so `id > after ORDER BY id` needs
//! no sort), and *residual* ones, evaluated per row. A list reads rows in id order and stops
//! after a bounded number of rows ([`scan_budget`]): when residual conditions reject most of
//! them it returns a short page that still carries `next` (DESIGN.md §4), so no page costs
//! an unbounded scan.

use crate::rows::{ip_bytes, u64_bits, ACTIVITY_JOIN, LAST_ACTIVE, SESSION_COLS};
use rusqlite::types::Value;
use rusqlite::Connection;
use sessiond_core::filter::SessionFilter;
use sessiond_core::filter::{OriginatorFilter, StateFilter, TenantScope};
use sessiond_core::identity::IdentityQuery;
use sessiond_core::SessionId;
use std::net::IpAddr;

/// A range index whose probe finds fewer rows than this is scanned whole and sorted by id:
/// cheaper than walking the id order when the range is narrow.
const RANGE_PROBE_CAP: i64 = 2_000;

/// Rows a page may examine: enough that typical residual filters fill a page, small enough
/// that a page of a very selective residual filter stays a few milliseconds.
pub(crate) fn scan_budget(limit: usize) -> usize {
    limit.saturating_mul(8).max(10_000)
}

/// One SQL condition and its parameters, in order.
#[derive(Clone, Debug)]
struct Cond {
    sql: String,
    params: Vec<Value>,
}

impl Cond {
    fn new(sql: impl Into<String>, params: Vec<Value>) -> Cond {
        Cond {
            sql: sql.into(),
            params,
        }
    }
}

/// Which filter field a condition comes from, so a plan can move it into the index access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Tenant,
    Live,
    Service,
    Node,
    Identity,
    Originator,
    Share,
    LastActive,
    Opened,
    Guest,
    External,
    Kind,
    Owner,
    /// Whether an operation is in progress (stated or implied by an operation field).
    Operation,
    OpType,
    OpNamespace,
    OpPlanSummary,
    OpStarted,
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

/// The conditions of a filter, one per set field (`max_id` and the cursor are added by the
/// statement builders, as access conditions on the id column).
fn conditions(f: &SessionFilter) -> Vec<(Key, Cond)> {
    let mut c = Vec::new();
    if let Some(TenantScope::One(t)) = f.tenant {
        c.push((
            Key::Tenant,
            Cond::new("s.tenant_id = ?", vec![Value::Integer(t.into())]),
        ));
    }
    // Literals, not parameters: partial indexes (`WHERE live = 1`) are only usable when the
    // query states the same term.
    match f.state {
        StateFilter::Active => c.push((Key::Live, Cond::new("s.live = 1", vec![]))),
        StateFilter::Ended => c.push((Key::Live, Cond::new("s.live = 0", vec![]))),
        StateFilter::All => {}
    }
    if let Some(v) = &f.service {
        c.push((Key::Service, Cond::new("s.service = ?", vec![text(v)])));
    }
    if let Some(v) = &f.node_id {
        c.push((Key::Node, Cond::new("s.node_id = ?", vec![text(v)])));
    }
    if let Some(q) = &f.identity {
        c.push((Key::Identity, identity_cond(q)));
    }
    if let Some(o) = &f.originator {
        c.push((Key::Originator, originator_cond(o)));
    }
    if let Some(v) = &f.share {
        c.push((
            Key::Share,
            Cond::new(
                "EXISTS (SELECT 1 FROM session_shares x2 WHERE x2.share = ? \
                 AND x2.tenant_id = s.tenant_id AND x2.session_id = s.id)",
                vec![text(v)],
            ),
        ));
    }
    if let Some(cond) = last_active_cond(f) {
        c.push((Key::LastActive, cond));
    }
    if let Some(t) = f.opened_before {
        c.push((
            Key::Opened,
            Cond::new("s.opened_at < ?", vec![Value::Integer(t.nanos())]),
        ));
    }
    if let Some(g) = f.is_guest {
        c.push((
            Key::Guest,
            Cond::new("s.is_guest = ?", vec![Value::Integer(g.into())]),
        ));
    }
    if let Some(v) = &f.external_id {
        c.push((Key::External, Cond::new("s.external_id = ?", vec![text(v)])));
    }
    if let Some(k) = f.kind {
        c.push((Key::Kind, Cond::new("s.kind = ?", vec![text(k.as_str())])));
    }
    if let Some(v) = &f.owner {
        c.push((Key::Owner, Cond::new("s.owner = ?", vec![text(v)])));
    }
    operation_conditions(f, &mut c);
    c
}

/// A name (any domain or one), a SID (upper-cased, as stored), or a numeric id.
fn identity_cond(q: &IdentityQuery) -> Cond {
    match q {
        IdentityQuery::Name {
            domain: None,
            folded,
        } => Cond::new("s.user_name_folded = ?", vec![text(folded)]),
        IdentityQuery::Name {
            domain: Some(d),
            folded,
        } => Cond::new(
            "s.user_name_folded = ? AND s.user_domain = ?",
            vec![text(folded), text(d.as_str())],
        ),
        IdentityQuery::Sid(sid) => Cond::new(
            "s.user_sid_upper = ?",
            vec![Value::Text(sid.to_ascii_uppercase())],
        ),
        IdentityQuery::Uid(n) => Cond::new("s.user_uid = ?", vec![Value::Integer((*n).into())]),
        IdentityQuery::Gid(n) => Cond::new("s.user_gid = ?", vec![Value::Integer((*n).into())]),
        IdentityQuery::AuthId(n) => {
            Cond::new("s.user_auth_id = ?", vec![Value::Integer(u64_bits(*n))])
        }
    }
}

/// The last-activity bounds, both strict, as one condition. No index holds last activity
/// (migration 7: a touch would move its entry), so it is always a residual condition.
fn last_active_cond(f: &SessionFilter) -> Option<Cond> {
    match (f.last_active_before, f.last_active_after) {
        (Some(b), Some(a)) => Some(Cond::new(
            format!("{LAST_ACTIVE} < ? AND {LAST_ACTIVE} > ?"),
            vec![Value::Integer(b.nanos()), Value::Integer(a.nanos())],
        )),
        (Some(b), None) => Some(Cond::new(
            format!("{LAST_ACTIVE} < ?"),
            vec![Value::Integer(b.nanos())],
        )),
        (None, Some(a)) => Some(Cond::new(
            format!("{LAST_ACTIVE} > ?"),
            vec![Value::Integer(a.nanos())],
        )),
        (None, None) => None,
    }
}

/// Whether `f` only matches sessions with an operation in progress: `has_activity = true`,
/// or any operation field (an idle session has none of them, see `matches`).
fn requires_operation(f: &SessionFilter) -> bool {
    f.has_activity == Some(true)
        || f.activity_type.is_some()
        || f.activity_namespace.is_some()
        || f.activity_plan_summary.is_some()
        || f.activity_started_before.is_some()
}

/// The current-operation conditions, on the columns migration 3 computes from the
/// `activity` JSON. Plain `=` on TEXT is the exact, case-sensitive comparison `matches`
/// makes; a missing field or an idle session is NULL there and so never matches.
fn operation_conditions(f: &SessionFilter, c: &mut Vec<(Key, Cond)>) {
    // Stated even when only implied by a field filter: the partial operation index
    // (`WHERE live = 1 AND activity IS NOT NULL`) is usable only if the query says so.
    if requires_operation(f) {
        c.push((Key::Operation, Cond::new("s.activity IS NOT NULL", vec![])));
    }
    if f.has_activity == Some(false) {
        c.push((Key::Operation, Cond::new("s.activity IS NULL", vec![])));
    }
    for (key, column, want) in [
        (Key::OpType, "activity_type", &f.activity_type),
        (
            Key::OpNamespace,
            "activity_namespace",
            &f.activity_namespace,
        ),
        (
            Key::OpPlanSummary,
            "activity_plan_summary",
            &f.activity_plan_summary,
        ),
    ] {
        if let Some(v) = want {
            c.push((key, Cond::new(format!("s.{column} = ?"), vec![text(v)])));
        }
    }
    if let Some(t) = f.activity_started_before {
        c.push((
            Key::OpStarted,
            Cond::new("s.activity_started_at < ?", vec![Value::Integer(t.nanos())]),
        ));
    }
}

/// A network is a BLOB range of tagged addresses (a single address an equality); a host is
/// the lower-cased host column. A "host" that parses as an IP (never made by
/// `OriginatorFilter::parse`, but representable) compares the text as `matches` does.
fn originator_cond(o: &OriginatorFilter) -> Cond {
    match o {
        OriginatorFilter::Net(net) if net.prefix_len() == net.max_prefix_len() => Cond::new(
            "s.originator_ip = ?",
            vec![Value::Blob(ip_bytes(net.network()))],
        ),
        OriginatorFilter::Net(net) => Cond::new(
            "s.originator_ip BETWEEN ? AND ?",
            vec![
                Value::Blob(ip_bytes(net.network())),
                Value::Blob(ip_bytes(net.broadcast())),
            ],
        ),
        OriginatorFilter::Host(h) if h.parse::<IpAddr>().is_ok() => Cond::new(
            "lower(s.originator) = ?",
            vec![Value::Text(h.to_ascii_lowercase())],
        ),
        OriginatorFilter::Host(h) => Cond::new(
            "s.originator_host = ?",
            vec![Value::Text(h.to_ascii_lowercase())],
        ),
    }
}

/// How a query reaches its rows.
#[derive(Debug)]
pub(crate) struct Plan {
    /// The FROM clause, with the index it must use.
    from: String,
    /// The column that orders rows by session id.
    id_col: &'static str,
    /// Conditions the index answers (in WHERE).
    access: Vec<Cond>,
    /// Conditions checked per row; when non-empty a list page is bounded by [`scan_budget`].
    residual: Vec<Cond>,
}

fn sessions_using(index: &str) -> String {
    format!("sessions s INDEXED BY {index}")
}

/// Moves the conditions of `keys` out of `all` into the returned vector.
fn take(all: &mut Vec<(Key, Cond)>, keys: &[Key]) -> Vec<Cond> {
    let (taken, rest): (Vec<_>, Vec<_>) = all.drain(..).partition(|(k, _)| keys.contains(k));
    *all = rest;
    taken.into_iter().map(|(_, c)| c).collect()
}

fn rest(all: Vec<(Key, Cond)>) -> Vec<Cond> {
    all.into_iter().map(|(_, c)| c).collect()
}

/// An index led by one filter column and ending in `(tenant_id, id)` (the tenant index:
/// `(tenant_id, live, id)`, with `live` in `keys`): in id order when the tenant is fixed
/// (then the other conditions, the state among them, are residual), otherwise SQLite reads
/// that column's rows and sorts them, so every condition goes in WHERE.
fn column_plan(index: &str, keys: &[Key], mut all: Vec<(Key, Cond)>, ordered: bool) -> Plan {
    let (access, residual) = if ordered {
        let mut with_suffix = keys.to_vec();
        with_suffix.push(Key::Tenant);
        let access = take(&mut all, &with_suffix);
        (access, rest(all))
    } else {
        (rest(all), vec![])
    };
    Plan {
        from: sessions_using(index),
        id_col: "s.id",
        access,
        residual,
    }
}

/// Chooses the access path for `f`. Selective columns (external id, identity, one address,
/// host, owner) come first; then a narrow range (probed with a capped count); then the broad
/// columns in id order (node, share, service, tenant); else the id index itself.
pub(crate) fn plan(conn: &Connection, f: &SessionFilter) -> rusqlite::Result<Plan> {
    let all = conditions(f);
    let has = |k: Key| all.iter().any(|(x, _)| *x == k);
    let ordered = matches!(f.tenant, Some(TenantScope::One(_)));

    if has(Key::External) {
        return Ok(column_plan(
            "sessions_by_external_id",
            &[Key::External],
            all,
            ordered,
        ));
    }
    if let Some(q) = &f.identity {
        let index = match q {
            IdentityQuery::Name { .. } => "sessions_by_name",
            IdentityQuery::Sid(_) => "sessions_by_sid",
            IdentityQuery::Uid(_) => "sessions_by_uid",
            IdentityQuery::Gid(_) => "sessions_by_gid",
            IdentityQuery::AuthId(_) => "sessions_by_auth_id",
        };
        return Ok(column_plan(index, &[Key::Identity], all, ordered));
    }
    match &f.originator {
        Some(OriginatorFilter::Net(n)) if n.prefix_len() == n.max_prefix_len() => {
            return Ok(column_plan(
                "sessions_by_ip",
                &[Key::Originator],
                all,
                ordered,
            ));
        }
        Some(OriginatorFilter::Host(h)) if h.parse::<IpAddr>().is_err() => {
            return Ok(column_plan(
                "sessions_by_host",
                &[Key::Originator],
                all,
                ordered,
            ));
        }
        _ => {}
    }
    if has(Key::Owner) {
        // The owner index is (owner, kind, tenant, id): in id order only with a kind.
        let with_kind = has(Key::Kind);
        let keys: &[Key] = if with_kind {
            &[Key::Owner, Key::Kind]
        } else {
            &[Key::Owner]
        };
        return Ok(column_plan(
            "sessions_by_owner",
            keys,
            all,
            ordered && with_kind,
        ));
    }
    if let Some(p) = narrow_range(conn, f, &all)? {
        return Ok(p);
    }
    if ordered && has(Key::Node) {
        return Ok(column_plan("sessions_by_node", &[Key::Node], all, true));
    }
    if let (Some(TenantScope::One(t)), Some(share)) = (&f.tenant, &f.share) {
        return Ok(share_plan(*t, share, all));
    }
    if ordered && has(Key::Service) {
        return Ok(column_plan(
            "sessions_by_service",
            &[Key::Service],
            all,
            true,
        ));
    }
    if ordered && f.state != StateFilter::All {
        return Ok(column_plan("sessions_by_tenant", &[Key::Live], all, true));
    }
    Ok(Plan {
        from: sessions_using("sessions_pk"),
        id_col: "s.id",
        access: vec![],
        residual: rest(all),
    })
}

/// The share side table in (share, tenant, session id) order, joined to the sessions.
fn share_plan(tenant: u32, share: &str, mut all: Vec<(Key, Cond)>) -> Plan {
    let _ = take(&mut all, &[Key::Share, Key::Tenant]);
    Plan {
        // CROSS JOIN fixes the loop order: side table outside, one id lookup per row inside.
        from: "session_shares x CROSS JOIN sessions s INDEXED BY sessions_pk \
               ON s.id = x.session_id"
            .to_string(),
        id_col: "x.session_id",
        access: vec![Cond::new(
            "x.share = ? AND x.tenant_id = ?",
            vec![text(share), Value::Integer(tenant.into())],
        )],
        residual: rest(all),
    }
}

/// A range index (CIDR, opening time, operations in progress) that holds fewer
/// than [`RANGE_PROBE_CAP`] rows of the range: read all of them and let SQLite sort by id.
fn narrow_range(
    conn: &Connection,
    f: &SessionFilter,
    all: &[(Key, Cond)],
) -> rusqlite::Result<Option<Plan>> {
    let cond_of = |k: Key| all.iter().find(|(x, _)| *x == k).map(|(_, c)| c.clone());
    let mut candidates: Vec<(&'static str, Cond)> = Vec::new();
    if let Some(c) = cond_of(Key::Originator).filter(|c| c.sql.contains("BETWEEN")) {
        candidates.push(("sessions_by_ip", c));
    }
    // The opening-time index covers live sessions only (tombstones would swamp
    // "opened more than a day ago").
    if f.state == StateFilter::Active {
        let live = |c: Cond| Cond::new(format!("s.live = 1 AND {}", c.sql), c.params);
        if let Some(c) = cond_of(Key::Opened) {
            candidates.push(("sessions_by_opened", live(c)));
        }
        if let Some(c) = operation_range(f, all) {
            candidates.push(("sessions_by_operation", c));
        }
    }
    let mut best: Option<(i64, &'static str)> = None;
    for (index, c) in candidates {
        let sql = format!(
            "SELECT count(*) FROM (SELECT 1 FROM sessions s INDEXED BY {index} WHERE {} LIMIT ?)",
            c.sql
        );
        let mut params = c.params.clone();
        params.push(Value::Integer(RANGE_PROBE_CAP));
        let n: i64 = conn
            .prepare_cached(&sql)?
            .query_row(rusqlite::params_from_iter(params.iter()), |r| r.get(0))?;
        if n < RANGE_PROBE_CAP && best.is_none_or(|(m, _)| n < m) {
            best = Some((n, index));
        }
    }
    Ok(best.map(|(_, index)| Plan {
        from: sessions_using(index),
        id_col: "s.id",
        access: rest(all.to_vec()),
        residual: vec![],
    }))
}

/// The probe of `sessions_by_operation` (live sessions with an operation in progress, by
/// tenant, node and start time): for one tenant's filters that require an operation. A
/// node's operations (DDS) are usually a handful among many idle connections, so this
/// range is narrow where the node's id-ordered range is not.
fn operation_range(f: &SessionFilter, all: &[(Key, Cond)]) -> Option<Cond> {
    if !requires_operation(f) || !matches!(f.tenant, Some(TenantScope::One(_))) {
        return None;
    }
    let mut sql = vec![
        "s.live = 1".to_string(),
        "s.activity IS NOT NULL".to_string(),
    ];
    let mut params = Vec::new();
    for key in [Key::Tenant, Key::Node, Key::OpStarted] {
        for (_, c) in all.iter().filter(|(k, _)| *k == key) {
            sql.push(c.sql.clone());
            params.extend(c.params.iter().cloned());
        }
    }
    Some(Cond::new(sql.join(" AND "), params))
}

/// A statement and its parameters.
#[derive(Debug)]
pub(crate) struct Stmt {
    pub sql: String,
    pub params: Vec<Value>,
}

fn and(conds: &[Cond], params: &mut Vec<Value>) -> String {
    if conds.is_empty() {
        return "1".to_string();
    }
    let mut parts = Vec::with_capacity(conds.len());
    for c in conds {
        parts.push(format!("({})", c.sql));
        params.extend(c.params.iter().cloned());
    }
    parts.join(" AND ")
}

impl Plan {
    /// Whether a page may stop early (residual conditions are evaluated row by row).
    pub(crate) fn bounded(&self) -> bool {
        !self.residual.is_empty()
    }

    fn id_bounds(&self, after: Option<&SessionId>, max: Option<&SessionId>) -> Vec<Cond> {
        let mut c = Vec::new();
        if let Some(a) = after {
            c.push(Cond::new(
                format!("{} > ?", self.id_col),
                vec![text(a.as_str())],
            ));
        }
        if let Some(m) = max {
            c.push(Cond::new(
                format!("{} <= ?", self.id_col),
                vec![text(m.as_str())],
            ));
        }
        c
    }

    /// `SELECT <session columns>, <residual match> ... ORDER BY id LIMIT ?`: the last column
    /// says whether the row matches; rows are read until the page is full or `rows` is hit.
    pub(crate) fn list(
        &self,
        after: Option<&SessionId>,
        max: Option<&SessionId>,
        rows: usize,
    ) -> Stmt {
        let mut params = Vec::new();
        let matched = if self.residual.is_empty() {
            "1".to_string()
        } else {
            format!("coalesce({}, 0)", and(&self.residual, &mut params))
        };
        let mut access = self.access.clone();
        access.extend(self.id_bounds(after, max));
        let where_ = and(&access, &mut params);
        params.push(Value::Integer(i64::try_from(rows).unwrap_or(i64::MAX)));
        Stmt {
            sql: format!(
                "SELECT {SESSION_COLS}, {matched} FROM {} {ACTIVITY_JOIN} WHERE {where_} \
                 ORDER BY {} LIMIT ?",
                self.from, self.id_col
            ),
            params,
        }
    }

    fn everything(&self, max: Option<&SessionId>, params: &mut Vec<Value>) -> String {
        let mut all = self.access.clone();
        all.extend(self.residual.iter().cloned());
        all.extend(self.id_bounds(None, max));
        and(&all, params)
    }

    pub(crate) fn count(&self, max: Option<&SessionId>) -> Stmt {
        let mut params = Vec::new();
        let where_ = self.everything(max, &mut params);
        Stmt {
            sql: format!(
                "SELECT count(*) FROM {} {ACTIVITY_JOIN} WHERE {where_}",
                self.from
            ),
            params,
        }
    }

    pub(crate) fn max_id(&self, max: Option<&SessionId>) -> Stmt {
        let mut params = Vec::new();
        let where_ = self.everything(max, &mut params);
        Stmt {
            sql: format!(
                "SELECT {id} FROM {} {ACTIVITY_JOIN} WHERE {where_} ORDER BY {id} DESC LIMIT 1",
                self.from,
                id = self.id_col
            ),
            params,
        }
    }
}
