//! Reads: a small pool of read connections used on blocking threads (WAL lets them run while
//! the writer commits), and the queries behind every read method of the `Store` trait.

use crate::error::{corrupt, map_err};
use crate::query::{plan, scan_budget, Stmt};
use crate::rows::{session_from_row, ACTIVITY_JOIN, N_SESSION_COLS, SESSION_COLS};
use crate::schema::open_reader;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use sessiond_core::filter::{ListQuery, Page, SessionFilter, TenantScope};
use sessiond_core::store::{LoginFailures, TokenHash};
use sessiond_core::{
    AuditRecord, Principal, Role, Session, SessionId, StoreError, StoreResult, Tenant, TenantId,
    Timestamp,
};
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};
use tokio::sync::Semaphore;

/// Most reads running at once (and so most open read connections).
const MAX_READERS: usize = 8;

/// Read connections, opened on demand and kept for reuse.
pub(crate) struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    slots: Arc<Semaphore>,
}

impl ReadPool {
    pub(crate) fn new(path: PathBuf) -> Arc<ReadPool> {
        Arc::new(ReadPool {
            path,
            idle: Mutex::new(Vec::new()),
            slots: Arc::new(Semaphore::new(MAX_READERS)),
        })
    }

    fn take(&self) -> StoreResult<Connection> {
        let pooled = match self.idle.lock() {
            Ok(mut v) => v.pop(),
            Err(p) => p.into_inner().pop(),
        };
        match pooled {
            Some(c) => Ok(c),
            None => open_reader(&self.path).map_err(map_err),
        }
    }

    fn give_back(&self, c: Connection) {
        // A connection left inside a transaction would pin an old snapshot for whoever
        // takes it next: close it instead.
        if !c.is_autocommit() {
            return;
        }
        match self.idle.lock() {
            Ok(mut v) => v.push(c),
            Err(p) => p.into_inner().push(c),
        }
    }

    /// Runs a point read (one primary-key or unique-index lookup) on the calling thread.
    /// Such a read takes microseconds on a cached page, less than the hand-off to a blocking
    /// thread would cost, and it is the validate/authenticate hot path; anything that may
    /// scan goes through [`run`](Self::run) instead.
    pub(crate) fn run_point<T, F>(&self, f: F) -> StoreResult<T>
    where
        F: FnOnce(&Connection) -> StoreResult<T>,
    {
        let conn = self.take()?;
        let r = f(&conn);
        self.give_back(conn);
        r
    }

    /// Runs `f` with a read connection on a blocking thread; at most [`MAX_READERS`] at once
    /// so that a burst of reads cannot open unbounded connections.
    pub(crate) async fn run<T, F>(self: &Arc<Self>, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let permit = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Unavailable("store is closed".into()))?;
        let pool = self.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let conn = pool.take()?;
            let r = f(&conn);
            pool.give_back(conn);
            r
        })
        .await
        .map_err(|e| StoreError::Internal(format!("read task: {e}")))?
    }
}

fn query_sessions(conn: &Connection, sql: &str, id: &SessionId) -> StoreResult<Option<Session>> {
    let mut stmt = conn.prepare_cached(sql).map_err(map_err)?;
    let mut rows = stmt.query([id.as_str()]).map_err(map_err)?;
    match rows.next().map_err(map_err)? {
        Some(row) => session_from_row(row).map(Some),
        None => Ok(None),
    }
}

/// The hot-path statements, built once (validate runs `GET_AUTH` on every call).
static GET: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {SESSION_COLS} FROM sessions s {ACTIVITY_JOIN} WHERE s.id = ?1")
});
static GET_AUTH: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {SESSION_COLS}, s.token_hash FROM sessions s {ACTIVITY_JOIN} WHERE s.id = ?1")
});

pub(crate) fn get_session(conn: &Connection, id: &SessionId) -> StoreResult<Option<Session>> {
    query_sessions(conn, &GET, id)
}

/// Many sessions by id in one read transaction: one snapshot for the batch a bulk end
/// reads first, and one WAL read lock taken and released instead of one per id (ending a
/// transaction per statement was ~8 % of the workers' samples in a Qumulo close profile;
/// the end-to-end gain was within this machine's noise).
pub(crate) fn get_sessions(
    conn: &Connection,
    ids: &[SessionId],
) -> StoreResult<Vec<Option<Session>>> {
    conn.execute_batch("BEGIN").map_err(map_err)?;
    let out = ids.iter().map(|id| get_session(conn, id)).collect();
    // A read transaction has nothing to keep: rolling it back just releases the snapshot
    // (should that fail, the pool drops the connection rather than reuse it).
    let _ = conn.execute_batch("ROLLBACK");
    out
}

pub(crate) fn get_session_auth(
    conn: &Connection,
    id: &SessionId,
) -> StoreResult<Option<(Session, TokenHash)>> {
    let mut stmt = conn.prepare_cached(&GET_AUTH).map_err(map_err)?;
    let mut rows = stmt.query([id.as_str()]).map_err(map_err)?;
    let Some(row) = rows.next().map_err(map_err)? else {
        return Ok(None);
    };
    let s = session_from_row(row)?;
    let raw: Vec<u8> = row.get(N_SESSION_COLS).map_err(map_err)?;
    let hash: TokenHash = raw
        .as_slice()
        .try_into()
        .map_err(|_| corrupt("token hash", format!("{} bytes", raw.len())))?;
    Ok(Some((s, hash)))
}

/// One keyset page. Rows come in id order; with residual conditions at most
/// [`scan_budget`] rows are read, and a page cut short by it carries the last id read as
/// `next`, so the walk resumes exactly there and never skips or repeats a row.
pub(crate) fn list_sessions(conn: &Connection, q: &ListQuery) -> StoreResult<Page> {
    // A zero limit would make "full page" and "end" indistinguishable.
    let limit = q.limit.max(1);
    let p = plan(conn, &q.filter).map_err(map_err)?;
    let rows = if p.bounded() {
        scan_budget(limit)
    } else {
        limit
    };
    let Stmt { sql, params } = p.list(q.after.as_ref(), q.filter.max_id.as_ref(), rows);
    let mut stmt = conn.prepare_cached(&sql).map_err(map_err)?;
    let mut cursor = stmt
        .query(params_from_iter(params.iter()))
        .map_err(map_err)?;
    let mut items = Vec::new();
    let mut read = 0usize;
    let mut last_read: Option<String> = None;
    while let Some(row) = cursor.next().map_err(map_err)? {
        read += 1;
        let matched: i64 = row.get(N_SESSION_COLS).map_err(map_err)?;
        if matched != 0 {
            items.push(session_from_row(row)?);
            if items.len() == limit {
                let next = items.last().map(|s| s.id.clone());
                return Ok(Page { items, next });
            }
        } else {
            last_read = Some(row.get(0).map_err(map_err)?);
        }
    }
    // Fewer rows than asked for means the index range is exhausted: the walk is complete.
    if read < rows {
        return Ok(Page { items, next: None });
    }
    let last_matched = items.last().map(|s| s.id.clone());
    let next = match last_read.as_deref().and_then(SessionId::parse) {
        Some(r) if last_matched.as_ref().is_none_or(|m| r > *m) => Some(r),
        _ => last_matched,
    };
    Ok(Page { items, next })
}

pub(crate) fn count_sessions(conn: &Connection, f: &SessionFilter) -> StoreResult<u64> {
    let Stmt { sql, params } = plan(conn, f).map_err(map_err)?.count(f.max_id.as_ref());
    let n: i64 = conn
        .prepare_cached(&sql)
        .and_then(|mut s| s.query_row(params_from_iter(params.iter()), |r| r.get(0)))
        .map_err(map_err)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(crate) fn max_matching_id(
    conn: &Connection,
    f: &SessionFilter,
) -> StoreResult<Option<SessionId>> {
    let Stmt { sql, params } = plan(conn, f).map_err(map_err)?.max_id(f.max_id.as_ref());
    let id: Option<String> = conn
        .prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_row(params_from_iter(params.iter()), |r| r.get(0))
                .optional()
        })
        .map_err(map_err)?;
    id.map(|i| SessionId::parse(&i).ok_or_else(|| corrupt("session id", i)))
        .transpose()
}

/// `EXPLAIN QUERY PLAN` of the list statement for `q` (one line per plan step).
pub(crate) fn explain_list(conn: &Connection, q: &ListQuery) -> StoreResult<Vec<String>> {
    let p = plan(conn, &q.filter).map_err(map_err)?;
    let Stmt { sql, params } = p.list(q.after.as_ref(), q.filter.max_id.as_ref(), q.limit);
    let mut stmt = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .map_err(map_err)?;
    let rows = stmt
        .query_map(params_from_iter(params.iter()), |r| r.get::<_, String>(3))
        .map_err(map_err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(map_err)
}

/// Live sessions whose exact deadline (`session_activity.expires_at`) has come, in the
/// order of their indexed lower bounds. Bounds that came due early are moved by
/// `write_ops::advance_deadlines` just before; one moved by a touch since is skipped here
/// and moved by the next sweep.
pub(crate) fn due_for_expiry(
    conn: &Connection,
    now: Timestamp,
    limit: usize,
) -> StoreResult<Vec<Session>> {
    let sql = format!(
        "SELECT {SESSION_COLS} FROM sessions s INDEXED BY sessions_by_deadline {ACTIVITY_JOIN} \
         WHERE s.live = 1 AND s.expires_at <= ?1 AND coalesce(a.expires_at, s.expires_at) <= ?1 \
         ORDER BY s.expires_at LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(map_err)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut rows = stmt.query(params![now.nanos(), limit]).map_err(map_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(map_err)? {
        out.push(session_from_row(row)?);
    }
    Ok(out)
}

fn tenant_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Tenant> {
    Ok(Tenant {
        id: r.get(0)?,
        name: r.get(1)?,
    })
}

pub(crate) fn tenant_by_name(conn: &Connection, name: &str) -> StoreResult<Option<Tenant>> {
    conn.prepare_cached("SELECT id, name FROM tenants WHERE name = ?1")
        .and_then(|mut s| s.query_row([name], tenant_row).optional())
        .map_err(map_err)
}

pub(crate) fn tenant_by_id(conn: &Connection, id: TenantId) -> StoreResult<Option<Tenant>> {
    conn.prepare_cached("SELECT id, name FROM tenants WHERE id = ?1")
        .and_then(|mut s| s.query_row([id], tenant_row).optional())
        .map_err(map_err)
}

pub(crate) fn list_tenants(conn: &Connection) -> StoreResult<Vec<Tenant>> {
    let mut stmt = conn
        .prepare_cached("SELECT id, name FROM tenants ORDER BY id")
        .map_err(map_err)?;
    let rows = stmt.query_map([], tenant_row).map_err(map_err)?;
    rows.collect::<Result<_, _>>().map_err(map_err)
}

const PRINCIPAL_COLS: &str = "name, tenant_id, role, password_hash, disabled, created_at";

fn principal_row(r: &rusqlite::Row<'_>) -> StoreResult<Principal> {
    let role: String = r.get(2).map_err(map_err)?;
    Ok(Principal {
        name: r.get(0).map_err(map_err)?,
        tenant_id: r.get(1).map_err(map_err)?,
        role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
        password_hash: r.get(3).map_err(map_err)?,
        disabled: r.get(4).map_err(map_err)?,
        created_at: Timestamp(r.get(5).map_err(map_err)?),
    })
}

pub(crate) fn get_principal(conn: &Connection, name: &str) -> StoreResult<Option<Principal>> {
    let sql = format!("SELECT {PRINCIPAL_COLS} FROM principals WHERE name = ?1");
    let mut stmt = conn.prepare_cached(&sql).map_err(map_err)?;
    let mut rows = stmt.query([name]).map_err(map_err)?;
    match rows.next().map_err(map_err)? {
        Some(r) => principal_row(r).map(Some),
        None => Ok(None),
    }
}

pub(crate) fn list_principals(
    conn: &Connection,
    scope: &TenantScope,
) -> StoreResult<Vec<Principal>> {
    let (sql, tenant) = match scope {
        TenantScope::One(t) => (
            format!("SELECT {PRINCIPAL_COLS} FROM principals WHERE tenant_id = ?1 ORDER BY name"),
            Some(*t),
        ),
        TenantScope::All => (
            format!("SELECT {PRINCIPAL_COLS} FROM principals ORDER BY name"),
            None,
        ),
    };
    let mut stmt = conn.prepare_cached(&sql).map_err(map_err)?;
    let mut rows = match tenant {
        Some(t) => stmt.query([t]),
        None => stmt.query([]),
    }
    .map_err(map_err)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(map_err)? {
        out.push(principal_row(r)?);
    }
    Ok(out)
}

pub(crate) fn count_principals(conn: &Connection) -> StoreResult<u64> {
    let n: i64 = conn
        .query_row("SELECT count(*) FROM principals", [], |r| r.get(0))
        .map_err(map_err)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(crate) fn list_audit(
    conn: &Connection,
    scope: &TenantScope,
    limit: usize,
) -> StoreResult<Vec<AuditRecord>> {
    const COLS: &str = "at, actor, tenant_id, action, target, origin, detail";
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let (sql, tenant) = match scope {
        TenantScope::One(t) => (
            format!(
                "SELECT {COLS} FROM audit WHERE tenant_id = ?2 ORDER BY at DESC, seq DESC LIMIT ?1"
            ),
            Some(*t),
        ),
        TenantScope::All => (
            format!("SELECT {COLS} FROM audit ORDER BY at DESC, seq DESC LIMIT ?1"),
            None,
        ),
    };
    let mut stmt = conn.prepare_cached(&sql).map_err(map_err)?;
    let map = |r: &rusqlite::Row<'_>| {
        Ok(AuditRecord {
            at: Timestamp(r.get(0)?),
            actor: r.get(1)?,
            tenant_id: r.get(2)?,
            action: r.get(3)?,
            target: r.get(4)?,
            origin: r.get(5)?,
            detail: r.get(6)?,
        })
    };
    let rows = match tenant {
        Some(t) => stmt.query_map(params![limit, t], map),
        None => stmt.query_map(params![limit], map),
    }
    .map_err(map_err)?;
    rows.collect::<Result<_, _>>().map_err(map_err)
}

pub(crate) fn ping(conn: &Connection) -> StoreResult<()> {
    conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
        .map(|_| ())
        .map_err(map_err)
}

const ACCESS_KEY_COLS: &str = "access_key, principal, tenant_id, created_at, sealed_secret";

fn access_key_row(r: &rusqlite::Row<'_>) -> StoreResult<sessiond_core::AccessKey> {
    Ok(sessiond_core::AccessKey {
        access_key: r.get(0).map_err(map_err)?,
        principal: r.get(1).map_err(map_err)?,
        tenant_id: r.get(2).map_err(map_err)?,
        created_at: Timestamp::from_nanos(r.get(3).map_err(map_err)?),
        sealed_secret: r.get(4).map_err(map_err)?,
    })
}

pub(crate) fn get_access_key(
    conn: &Connection,
    access_key: &str,
) -> StoreResult<Option<sessiond_core::AccessKey>> {
    let sql = format!("SELECT {ACCESS_KEY_COLS} FROM access_keys WHERE access_key = ?1");
    let mut stmt = conn.prepare_cached(&sql).map_err(map_err)?;
    let mut rows = stmt.query([access_key]).map_err(map_err)?;
    match rows.next().map_err(map_err)? {
        Some(r) => access_key_row(r).map(Some),
        None => Ok(None),
    }
}

pub(crate) fn list_access_keys(
    conn: &Connection,
    principal: &str,
) -> StoreResult<Vec<sessiond_core::AccessKey>> {
    let sql = format!(
        "SELECT {ACCESS_KEY_COLS} FROM access_keys WHERE principal = ?1 ORDER BY created_at, access_key"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(map_err)?;
    let mut rows = stmt.query([principal]).map_err(map_err)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(map_err)? {
        out.push(access_key_row(r)?);
    }
    Ok(out)
}

pub(crate) fn login_failures(conn: &Connection, name: &str) -> StoreResult<Option<LoginFailures>> {
    conn.prepare_cached("SELECT count, last_at FROM login_failures WHERE name = ?1")
        .and_then(|mut s| {
            s.query_row([name], |r| {
                Ok(LoginFailures {
                    count: r.get(0)?,
                    last: Timestamp::from_nanos(r.get(1)?),
                })
            })
            .optional()
        })
        .map_err(map_err)
}
