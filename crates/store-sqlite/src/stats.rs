//! Session statistics (`SessionStore::session_stats`): two GROUP BY queries in one read
//! transaction, over indexes the schema already has.
//!
//! - Live sessions, with the opening hour of those opened since the window's start: one
//!   pass over the live rows (a tenant's: the `sessions_by_tenant` range `(tenant, live = 1)`;
//!   all tenants: `sessions_by_opened`, which holds every live session and nothing else).
//! - Tombstones that ended since the window's start, with their end hour and (when also
//!   opened within the window) their opening hour: one range of `sessions_by_ended`
//!   (`ended_at`, tombstones only). A tombstone opened within the window ended within it
//!   too (an end comes after its opening), so this range holds every ended session the
//!   opened counts need.
//!
//! No index was added for them (issue 10: every index costs every insert and end). At
//! 1,000,000 sessions (600,000 live, 356,000 ended in the window; measured once with a
//! throwaway loader, and in every bench run as "console overview") all tenants took
//! 1.0-1.7 s and one of three tenants 0.43-0.67 s, on a loaded 2-core machine. Most of it is the GROUP BY sort
//! of every row and the row lookups: covering versions of the two partial indexes (same
//! entries, wider) took the sqlite3 shell from ~1.5 s to ~0.85 s, not worth a migration
//! and wider index entries on every insert and end. Tombstones are purged after the
//! retention period, and with them their part of the hourly counts.

use crate::error::map_err;
use rusqlite::{params_from_iter, Connection};
use sessiond_core::filter::TenantScope;
use sessiond_core::stats::{hour_start, SessionStats, StatsBuilder};
use sessiond_core::{StoreResult, TenantId};

/// `x`'s Unix hour, for `x >= ?1` (?1 the window's first instant, ?2 its hour): the
/// difference is not negative, so SQLite's truncating division rounds down.
const HOUR: &str = "((%s - ?1) / 3600000000000 + ?2)";

fn hour(col: &str) -> String {
    HOUR.replace("%s", col)
}

/// The statements for a scope: (live, ended). Literal `live = 1` / `live = 0`, not
/// parameters: the partial indexes are only usable when the query says so. The indexes are
/// named: for all tenants the planner preferred walking `sessions_by_service` (every
/// session, tombstones too, each looked up: 2.2 s against 0.7 s at a million).
fn statements(tenant: Option<TenantId>) -> (String, String) {
    let (live_index, and_tenant) = if tenant.is_some() {
        ("sessions_by_tenant", " AND tenant_id = ?3")
    } else {
        ("sessions_by_opened", "")
    };
    let opened = format!("CASE WHEN opened_at >= ?1 THEN {} END", hour("opened_at"));
    let live = format!(
        "SELECT tenant_id, service, {opened}, count(*) FROM sessions \
         INDEXED BY {live_index} WHERE live = 1{and_tenant} GROUP BY 1, 2, 3"
    );
    let ended = format!(
        "SELECT tenant_id, service, {}, {opened}, count(*) FROM sessions \
         INDEXED BY sessions_by_ended \
         WHERE live = 0 AND ended_at >= ?1{and_tenant} GROUP BY 1, 2, 3, 4",
        hour("ended_at")
    );
    (live, ended)
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

pub(crate) fn session_stats(
    conn: &Connection,
    scope: &TenantScope,
    since_hour: i64,
) -> StoreResult<SessionStats> {
    let tenant = match scope {
        TenantScope::One(t) => Some(*t),
        TenantScope::All => None,
    };
    let mut params = vec![hour_start(since_hour).nanos(), since_hour];
    params.extend(tenant.map(i64::from));
    let (live_sql, ended_sql) = statements(tenant);
    let mut b = StatsBuilder::default();
    // One snapshot for both: a session ending between them is counted once, as what it
    // was at that instant.
    conn.execute_batch("BEGIN").map_err(map_err)?;
    let read = (|| -> rusqlite::Result<()> {
        let mut stmt = conn.prepare_cached(&live_sql)?;
        let mut rows = stmt.query(params_from_iter(params.iter()))?;
        while let Some(r) = rows.next()? {
            let (t, svc): (TenantId, String) = (r.get(0)?, r.get(1)?);
            let n = count(r.get(3)?);
            b.live(t, &svc, n);
            if let Some(h) = r.get::<_, Option<i64>>(2)? {
                b.opened(t, &svc, h, n);
            }
        }
        let mut stmt = conn.prepare_cached(&ended_sql)?;
        let mut rows = stmt.query(params_from_iter(params.iter()))?;
        while let Some(r) = rows.next()? {
            let (t, svc): (TenantId, String) = (r.get(0)?, r.get(1)?);
            let n = count(r.get(4)?);
            b.ended(t, &svc, r.get(2)?, n);
            if let Some(h) = r.get::<_, Option<i64>>(3)? {
                b.opened(t, &svc, h, n);
            }
        }
        Ok(())
    })();
    // A read transaction has nothing to keep (should the rollback fail, the pool drops the
    // connection rather than reuse it).
    let _ = conn.execute_batch("ROLLBACK");
    read.map_err(map_err)?;
    Ok(b.build(since_hour))
}

/// `EXPLAIN QUERY PLAN` of both statements for `scope`, one line per step (tests).
pub(crate) fn explain(conn: &Connection, scope: &TenantScope) -> StoreResult<Vec<String>> {
    let tenant = match scope {
        TenantScope::One(t) => Some(*t),
        TenantScope::All => None,
    };
    let (live, ended) = statements(tenant);
    let mut params = vec![0i64, 0];
    params.extend(tenant.map(i64::from));
    let mut out = Vec::new();
    for sql in [live, ended] {
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .map_err(map_err)?;
        let rows = stmt
            .query_map(params_from_iter(params.iter()), |r| r.get::<_, String>(3))
            .map_err(map_err)?;
        for r in rows {
            out.push(r.map_err(map_err)?);
        }
    }
    Ok(out)
}
