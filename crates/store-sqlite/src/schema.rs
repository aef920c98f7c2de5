//! The schema as an ordered list of migrations, and the connection settings of writer and
//! readers.
//!
//! Index design: every list filter is served by an index whose columns end in
//! `(tenant_id, id)` after the filtered column, so a filter with a tenant is one ordered
//! range scan `id > after` in that index (keyset paging without a sort), the state checked
//! per row. Only the tenant index is `(tenant_id, live, id)`. `live` is a generated column
//! (`state = 'active'`); keeping it out of the other keys means an end moves no entry in
//! them (migration 6).

use crate::error::SqliteError;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

/// Migrations, applied in order, each in its own transaction; `PRAGMA user_version` is the
/// number applied so far. Never edit a released entry: append a new one.
pub const MIGRATIONS: &[&str] = &[
    // 1: tenants, principals, sessions with their indexes, share side table, audit.
    r#"
CREATE TABLE tenants (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
INSERT INTO tenants (id, name) VALUES (1, 'default');

CREATE TABLE principals (
    name          TEXT PRIMARY KEY,
    tenant_id     INTEGER NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX principals_by_tenant ON principals (tenant_id, name);

CREATE TABLE sessions (
    id               TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('login', 'registered')),
    owner            TEXT NOT NULL,
    external_id      TEXT,
    tenant_id        INTEGER NOT NULL,
    service          TEXT NOT NULL,
    node_id          TEXT,
    server_address   TEXT,
    originator       TEXT,
    -- A tag byte (4 or 6) and the address bytes, so that a CIDR is one BLOB range and an
    -- IPv4 address never equals an IPv4-mapped IPv6 one (they are different originators).
    originator_ip    BLOB,
    -- ASCII-lower-cased originator when it is not an IP address (host-name filters).
    originator_host  TEXT,
    user_domain      TEXT NOT NULL,
    user_name        TEXT,
    -- identity::fold(user_name): full Unicode case folding, which NOCASE lacks.
    user_name_folded TEXT,
    user_sid         TEXT,
    user_sid_upper   TEXT,
    user_uid         INTEGER,
    user_gid         INTEGER,
    -- u64 stored as the i64 with the same bits: equality stays exact.
    user_auth_id     INTEGER,
    user_full_name   TEXT,
    user_agent       TEXT,
    locale           TEXT,
    is_guest         INTEGER NOT NULL,
    is_encrypted     INTEGER NOT NULL,
    share_names      TEXT NOT NULL,
    num_opens        INTEGER NOT NULL,
    call_count       INTEGER NOT NULL,
    activity         TEXT,
    opened_at        INTEGER NOT NULL,
    last_active_at   INTEGER NOT NULL,
    idle_timeout     TEXT NOT NULL,
    absolute_timeout TEXT NOT NULL,
    state            TEXT NOT NULL
                     CHECK (state IN ('active', 'closed', 'terminated', 'expired')),
    ended_at         INTEGER,
    ended_by         TEXT,
    end_reason       TEXT,
    attributes       TEXT NOT NULL,
    token_hash       BLOB NOT NULL,
    -- The sweeper's deadline in nanoseconds; NULL = none.
    expires_at       INTEGER,
    live             INTEGER GENERATED ALWAYS AS (state = 'active') VIRTUAL
);

-- Tombstones are immutable: a row that has ended can be deleted (purge) but never changed,
-- so no code path, present or future, can make it live again.
CREATE TRIGGER sessions_tombstones_are_final
BEFORE UPDATE ON sessions FOR EACH ROW WHEN OLD.state <> 'active'
BEGIN
    SELECT RAISE(ABORT, 'an ended session cannot change');
END;

CREATE UNIQUE INDEX sessions_pk ON sessions (id);
CREATE INDEX sessions_by_tenant ON sessions (tenant_id, live, id);
CREATE INDEX sessions_by_name ON sessions (user_name_folded, tenant_id, live, id)
    WHERE user_name_folded IS NOT NULL;
CREATE INDEX sessions_by_sid ON sessions (user_sid_upper, tenant_id, live, id)
    WHERE user_sid_upper IS NOT NULL;
CREATE INDEX sessions_by_uid ON sessions (user_uid, tenant_id, live, id)
    WHERE user_uid IS NOT NULL;
CREATE INDEX sessions_by_gid ON sessions (user_gid, tenant_id, live, id)
    WHERE user_gid IS NOT NULL;
CREATE INDEX sessions_by_auth_id ON sessions (user_auth_id, tenant_id, live, id)
    WHERE user_auth_id IS NOT NULL;
CREATE INDEX sessions_by_ip ON sessions (originator_ip, tenant_id, live, id)
    WHERE originator_ip IS NOT NULL;
CREATE INDEX sessions_by_host ON sessions (originator_host, tenant_id, live, id)
    WHERE originator_host IS NOT NULL;
CREATE INDEX sessions_by_external_id ON sessions (external_id, tenant_id, live, id)
    WHERE external_id IS NOT NULL;
CREATE INDEX sessions_by_owner ON sessions (owner, kind, tenant_id, live, id);
CREATE INDEX sessions_by_service ON sessions (service, tenant_id, live, id);
CREATE INDEX sessions_by_node ON sessions (node_id, tenant_id, live, id)
    WHERE node_id IS NOT NULL;
CREATE INDEX sessions_by_last_active ON sessions (last_active_at) WHERE live = 1;
CREATE INDEX sessions_by_opened ON sessions (opened_at) WHERE live = 1;
CREATE INDEX sessions_by_deadline ON sessions (expires_at)
    WHERE live = 1 AND expires_at IS NOT NULL;
CREATE INDEX sessions_by_ended ON sessions (ended_at) WHERE live = 0;
-- One live session per (tenant, service, node, external_id). A missing node is a value of
-- its own (x'00' can never equal a TEXT node id), not a NULL that UNIQUE would ignore.
CREATE UNIQUE INDEX sessions_live_external_id
    ON sessions (tenant_id, service, ifnull(node_id, x'00'), external_id)
    WHERE live = 1 AND external_id IS NOT NULL;

-- One row per (share, session): the `share` filter is an index range, not a JSON scan.
CREATE TABLE session_shares (
    share      TEXT NOT NULL,
    tenant_id  INTEGER NOT NULL,
    session_id TEXT NOT NULL,
    PRIMARY KEY (share, tenant_id, session_id)
) WITHOUT ROWID;
CREATE INDEX session_shares_by_session ON session_shares (session_id);

CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    tenant_id INTEGER NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    origin    TEXT,
    detail    TEXT
);
CREATE INDEX audit_by_time ON audit (at, seq);
CREATE INDEX audit_by_tenant ON audit (tenant_id, at, seq);
"#,
    // 2: access keys (AK/SK); the secret only sealed, by a key that is not in the database.
    r#"
CREATE TABLE access_keys (
    access_key    TEXT PRIMARY KEY,
    principal     TEXT NOT NULL REFERENCES principals(name),
    tenant_id     INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    sealed_secret BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX access_keys_by_principal ON access_keys (principal, created_at);
"#,
    // 3: the current operation's filter fields as columns computed from the `activity` JSON
    // (`rows::StoredActivity`: `started_at` in integer nanoseconds), so operation filters
    // compare plain columns with the exact semantics of the rest of the schema (binary
    // TEXT equality, integer instants). VIRTUAL: computed on read, nothing is stored
    // twice, existing rows need no rewrite and no writer can get them out of step.
    //
    // `sessions_by_operation` holds only live sessions with an operation in progress (idle
    // ones have no `activity`), so it stays small however many connections a node keeps
    // open. It leads with the tenant so that a node's operations (DDS) and a tenant's
    // (native list without `node_id`) are both one range; a start-time bound ("running
    // longer than") narrows it further.
    r#"
ALTER TABLE sessions ADD COLUMN activity_type TEXT
    GENERATED ALWAYS AS (json_extract(activity, '$.op_type')) VIRTUAL;
ALTER TABLE sessions ADD COLUMN activity_namespace TEXT
    GENERATED ALWAYS AS (json_extract(activity, '$.namespace')) VIRTUAL;
ALTER TABLE sessions ADD COLUMN activity_plan_summary TEXT
    GENERATED ALWAYS AS (json_extract(activity, '$.plan_summary')) VIRTUAL;
ALTER TABLE sessions ADD COLUMN activity_started_at INTEGER
    GENERATED ALWAYS AS (json_extract(activity, '$.started_at')) VIRTUAL;
CREATE INDEX sessions_by_operation
    ON sessions (tenant_id, node_id, activity_started_at)
    WHERE live = 1 AND activity IS NOT NULL;
"#,
    // 4: failed logins per name, shared by every process on this file (the throttle is the
    // store's, not a process's).
    r#"
CREATE TABLE login_failures (
    name    TEXT PRIMARY KEY,
    count   INTEGER NOT NULL,
    last_at INTEGER NOT NULL
) WITHOUT ROWID;
"#,
    // 5: the user's realm (`User::realm`): shown, never filtered on, so no index.
    r#"
ALTER TABLE sessions ADD COLUMN user_realm TEXT;
"#,
    // 6: the filter-column indexes lose `live` from their key (issue 10). With it, ending a
    // session moved an entry in each of them (a delete and an insert at the far end of the
    // range): ~12 B-tree moves per end, three quarters of a bulk end's cost. Without it an
    // end leaves them untouched, and a list of live sessions by such a column checks
    // `live` per row, skipping the tombstones of that value (bounded by the scan budget;
    // tombstones are purged after the retention period). The tenant index keeps `live`:
    // an unfiltered list of a tenant's live sessions never walks tombstones.
    r#"
DROP INDEX sessions_by_name;
CREATE INDEX sessions_by_name ON sessions (user_name_folded, tenant_id, id)
    WHERE user_name_folded IS NOT NULL;
DROP INDEX sessions_by_sid;
CREATE INDEX sessions_by_sid ON sessions (user_sid_upper, tenant_id, id)
    WHERE user_sid_upper IS NOT NULL;
DROP INDEX sessions_by_uid;
CREATE INDEX sessions_by_uid ON sessions (user_uid, tenant_id, id)
    WHERE user_uid IS NOT NULL;
DROP INDEX sessions_by_gid;
CREATE INDEX sessions_by_gid ON sessions (user_gid, tenant_id, id)
    WHERE user_gid IS NOT NULL;
DROP INDEX sessions_by_auth_id;
CREATE INDEX sessions_by_auth_id ON sessions (user_auth_id, tenant_id, id)
    WHERE user_auth_id IS NOT NULL;
DROP INDEX sessions_by_ip;
CREATE INDEX sessions_by_ip ON sessions (originator_ip, tenant_id, id)
    WHERE originator_ip IS NOT NULL;
DROP INDEX sessions_by_host;
CREATE INDEX sessions_by_host ON sessions (originator_host, tenant_id, id)
    WHERE originator_host IS NOT NULL;
DROP INDEX sessions_by_external_id;
CREATE INDEX sessions_by_external_id ON sessions (external_id, tenant_id, id)
    WHERE external_id IS NOT NULL;
DROP INDEX sessions_by_owner;
CREATE INDEX sessions_by_owner ON sessions (owner, kind, tenant_id, id);
DROP INDEX sessions_by_service;
CREATE INDEX sessions_by_service ON sessions (service, tenant_id, id);
DROP INDEX sessions_by_node;
CREATE INDEX sessions_by_node ON sessions (node_id, tenant_id, id)
    WHERE node_id IS NOT NULL;
"#,
    // 7: what touches change lives in a narrow table of its own (issue 10). A touch used to
    // rewrite the whole session row (~400 bytes, a random page of a table far larger than
    // the writer's cache) and move its entries in the last-activity and deadline indexes:
    // at 1M sessions ~2.5 dirty pages and ~4 page reads per touch. A row here is ~45 bytes
    // keyed by the session id (one descent, no rowid lookup), so a flush dirties a page per
    // ~100 sessions of a table that fits in the writer's cache.
    //
    // The row exists while the session is live: insert creates it, an end folds its values
    // back into the session row and deletes it, so `coalesce(a.x, s.x)` is the current
    // value of either. `expires_at` here is the exact deadline; `sessions.expires_at`
    // (indexed) becomes a lower bound that touches no longer move: the sweep's read moves
    // the bounds that came due early (`write_ops::advance_deadlines`). The last-activity
    // index goes: keeping it would move an entry per touch again; an idle-time filter is a
    // residual condition on another plan.
    r#"
CREATE TABLE session_activity (
    id             TEXT PRIMARY KEY,
    last_active_at INTEGER NOT NULL,
    call_count     INTEGER NOT NULL,
    expires_at     INTEGER
) WITHOUT ROWID;
INSERT INTO session_activity (id, last_active_at, call_count, expires_at)
    SELECT id, last_active_at, call_count, expires_at FROM sessions WHERE live = 1 ORDER BY id;
DROP INDEX sessions_by_last_active;
-- The indexed bound never lies above the exact deadline. Core's touches only push a
-- deadline later, so this never fires for them; any write that pulls a deadline in (or
-- gives a session its first one) pulls the bound with it.
CREATE TRIGGER session_activity_bound_follows_an_earlier_deadline
AFTER UPDATE OF expires_at ON session_activity FOR EACH ROW
WHEN NEW.expires_at IS NOT NULL AND (OLD.expires_at IS NULL OR NEW.expires_at < OLD.expires_at)
BEGIN
    UPDATE sessions SET expires_at = NEW.expires_at
    WHERE id = NEW.id AND state = 'active'
      AND (expires_at IS NULL OR expires_at > NEW.expires_at);
END;
"#,
    // 8: the event outbox (issue 11). A change and its event are one transaction, so an
    // acknowledged end always has its event, across kill -9. AUTOINCREMENT: ids are never
    // reused, even after retention deleted every event (a subscriber's cursor stays valid).
    // No index on `at`: events are written in time order, so retention deletes from the
    // front of the id order.
    r#"
CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    type       TEXT NOT NULL,
    tenant_id  INTEGER NOT NULL,
    service    TEXT,
    session_id TEXT,
    body       TEXT NOT NULL
);
"#,
    // 9: event sinks (webhooks, SSF streams) with their delivery state and lease, and the
    // log of their delivery attempts (the newest MAX_LOGGED_ATTEMPTS per sink).
    r#"
CREATE TABLE sinks (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    tenant_id       INTEGER NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    config          TEXT NOT NULL,
    sealed_secret   BLOB,
    status          TEXT NOT NULL,
    status_reason   TEXT,
    cursor          INTEGER NOT NULL,
    attempts        INTEGER NOT NULL,
    failing_since   INTEGER,
    next_attempt_at INTEGER,
    lease_holder    TEXT,
    lease_until     INTEGER
);
CREATE TABLE sink_attempts (
    id          INTEGER PRIMARY KEY,
    sink_id     TEXT NOT NULL,
    event_id    INTEGER NOT NULL,
    attempt     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    delivered   INTEGER NOT NULL,
    status      INTEGER,
    error       TEXT,
    duration_ms INTEGER NOT NULL
);
CREATE INDEX sink_attempts_by_sink ON sink_attempts (sink_id, id);
"#,
];

/// How long a connection waits on a lock before reporting `Unavailable`. Only checkpoints
/// and WAL recovery take locks readers wait on; the single writer never contends.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens the write connection: WAL, `synchronous=FULL` (an acknowledged termination
/// survives power loss), then applies pending migrations.
pub(crate) fn open_writer(path: &Path) -> Result<Connection, SqliteError> {
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(SqliteError::NotWal(mode));
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    // 32 MiB of page cache for the writer: index pages of recent ids stay hot.
    conn.pragma_update(None, "cache_size", -32_768)?;
    // Savepoints (one per request in a group commit) keep their undo pages in a statement
    // journal; in memory that costs a copy, in a temp file a write per page.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.set_prepared_statement_cache_capacity(64);
    migrate(&mut conn)?;
    Ok(conn)
}

/// Bytes of the database file each read connection maps. Bounded so that resident memory
/// stays bounded whatever the file's size: each connection has its own mapping and the
/// pages it touched count in the process's RSS once per mapping (1 GiB maps took a server
/// with 1M sessions to 843 MB RSS, 132 MB of it heap). Past the bound, reads use pread.
const READER_MMAP: i64 = 128 << 20;

/// A connection to an existing database besides the writer's (readers, checkpointer).
fn open_existing(path: &Path) -> Result<Connection, rusqlite::Error> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

/// Opens a read connection. `query_only` makes a stray write through it an error.
pub(crate) fn open_reader(path: &Path) -> Result<Connection, rusqlite::Error> {
    let conn = open_existing(path)?;
    conn.pragma_update(None, "query_only", "ON")?;
    conn.pragma_update(None, "cache_size", -8_192)?;
    // Pages of the database file read through a mapping, not pread into the page cache:
    // every commit (a touch flush each second under load) makes WAL readers drop their
    // whole page cache, so without it a validate re-reads its pages by syscall. Measured
    // warm at 100k sessions: validate +25-35 %. The mapped pages a process touched count in
    // its RSS as file pages (reclaimable page cache, not heap).
    conn.pragma_update(None, "mmap_size", READER_MMAP)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Opens the checkpointer's connection (see `checkpointer.rs`): it reads and writes only
/// through `PRAGMA wal_checkpoint`, so it needs no cache of its own.
pub(crate) fn open_checkpointer(path: &Path) -> Result<Connection, rusqlite::Error> {
    let conn = open_existing(path)?;
    // Checkpoints write the database file; its fsync is what lets the WAL be reused.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "cache_size", -1_024)?;
    Ok(conn)
}

/// The schema version of an open database.
pub(crate) fn user_version(conn: &Connection) -> Result<i64, rusqlite::Error> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Applies every migration not yet applied, each in one transaction together with its
/// `user_version` bump, so a crash leaves the database at a whole version.
fn migrate(conn: &mut Connection) -> Result<(), SqliteError> {
    let found = user_version(conn)?;
    if found > MIGRATIONS.len() as i64 {
        return Err(SqliteError::NewerSchema {
            found,
            known: MIGRATIONS.len(),
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        let version = i + 1;
        let step = |conn: &mut Connection| -> Result<(), rusqlite::Error> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
            // Re-check inside the lock: another process may have migrated meanwhile.
            if user_version(&tx)? >= version as i64 {
                return Ok(());
            }
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", version as i64)?;
            tx.commit()
        };
        step(conn).map_err(|source| SqliteError::Migration { version, source })?;
    }
    Ok(())
}
