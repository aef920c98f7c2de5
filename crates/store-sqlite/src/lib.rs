//! sessiond's embedded store: `SqliteStore`, the `Store` trait over one SQLite file in WAL
//! mode, with one group-committing writer thread and a pool of readers.
//!
//! Architecture invariant: every write goes through the writer thread (one connection, so
//! no write ever waits on a lock), every read through the read pool (WAL: reads never wait
//! on the writer). Business rules live in core; this crate only stores.

mod checkpointer;
mod error;
mod events;
mod query;
mod read;
mod rows;
mod schema;
mod sinks;
mod stats;
mod store_impl;
mod write_ops;
mod writer;

pub use error::SqliteError;
pub use schema::MIGRATIONS;
pub use writer::WriterStats;

use read::ReadPool;
use rusqlite::backup::StepResult;
use sessiond_core::filter::ListQuery;
use sessiond_core::store::TokenHash;
use sessiond_core::{Session, StoreError, StoreResult, Timestamp};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use write_ops::{WriteOp, WriteReply};
use writer::Writer;

/// The SQLite `Store`. Cheap to share behind an `Arc`; dropping the last handle finishes the
/// queued writes and stops the writer thread.
pub struct SqliteStore {
    path: PathBuf,
    writer: Writer,
    readers: Arc<ReadPool>,
    /// Cache invalidations of the registries sharing this store in this process (a file
    /// has one process: the data dir is locked).
    pub(crate) feed: tokio::sync::broadcast::Sender<sessiond_core::store::Invalidation>,
    /// The highest event id committed; the writer raises it after each commit that
    /// appended events, and subscribers wake on it.
    pub(crate) events: tokio::sync::watch::Sender<sessiond_core::events::EventId>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

pub(crate) fn unexpected(r: WriteReply) -> StoreError {
    StoreError::Internal(format!("unexpected writer reply {r:?}"))
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, switches it to WAL and applies any
    /// pending schema migrations. Locking the data directory is the caller's job.
    pub fn open(path: &Path) -> Result<SqliteStore, SqliteError> {
        let conn = schema::open_writer(path)?;
        let last = events::last_id(&conn).map_err(|e| SqliteError::Writer(e.to_string()))?;
        let signal = tokio::sync::watch::Sender::new(last);
        let writer = Writer::spawn(conn, path, signal.clone())?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            writer,
            readers: ReadPool::new(path.to_path_buf()),
            feed: tokio::sync::broadcast::channel(4096).0,
            events: signal,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the file (the number of [`MIGRATIONS`] applied).
    pub fn schema_version(&self) -> Result<i64, SqliteError> {
        let conn = schema::open_reader(&self.path)?;
        Ok(schema::user_version(&conn)?)
    }

    /// Counters of the writer thread (how many requests shared a transaction).
    pub fn writer_stats(&self) -> &WriterStats {
        &self.writer.stats
    }

    /// Writes a consistent copy of the database to `dest` while the store keeps running
    /// (SQLite online backup, all pages in one step, so the copy is one snapshot). The copy
    /// is written beside `dest` and renamed into place, so `dest` is never half-written.
    /// Blocking: call it from a blocking thread.
    pub fn backup_to(&self, dest: &Path) -> Result<(), SqliteError> {
        backup_file(&self.path, dest)
    }

    /// Inserts many sessions in one transaction, without events. For test fixtures and the
    /// bench harness (loading a million sessions one request at a time would measure the
    /// loader).
    pub async fn insert_many(
        &self,
        sessions: Vec<(Session, TokenHash, Option<Timestamp>)>,
    ) -> StoreResult<()> {
        let rows = sessions
            .into_iter()
            .map(|(session, hash, expires_at)| write_ops::NewRow {
                session,
                hash,
                expires_at,
                event: None,
            })
            .collect();
        match self.writer.submit(WriteOp::Insert(rows)).await? {
            WriteReply::Done => Ok(()),
            r => Err(unexpected(r)),
        }
    }

    /// The `EXPLAIN QUERY PLAN` lines of the statement `list_sessions(q)` would run, for
    /// tests and diagnostics (proves a filter is answered by an index).
    pub async fn explain_list(&self, q: &ListQuery) -> StoreResult<Vec<String>> {
        let q = q.clone();
        self.readers.run(move |c| read::explain_list(c, &q)).await
    }

    /// The `EXPLAIN QUERY PLAN` lines of the statements `session_stats` runs for `scope`
    /// (tests: they use the indexes the module documentation names).
    pub async fn explain_stats(
        &self,
        scope: &sessiond_core::filter::TenantScope,
    ) -> StoreResult<Vec<String>> {
        let scope = scope.clone();
        self.readers.run(move |c| stats::explain(c, &scope)).await
    }

    async fn write_done(&self, op: WriteOp) -> StoreResult<()> {
        match self.writer.submit(op).await? {
            WriteReply::Done => Ok(()),
            r => Err(unexpected(r)),
        }
    }
}

/// A consistent online copy of the database file at `db` (SQLite's backup API), usable
/// from another process while a server runs on it: no store is opened and no migration runs.
pub fn backup_file(db: &Path, dest: &Path) -> Result<(), SqliteError> {
    let tmp = dest.with_extension("partial");
    if tmp.exists() {
        std::fs::remove_file(&tmp)?;
    }
    let src = schema::open_reader(db)?;
    {
        let mut dst = rusqlite::Connection::open(&tmp)?;
        let backup = rusqlite::backup::Backup::new(&src, &mut dst)?;
        // -1 = every page in one step, inside one read transaction of the source: the
        // copy is a single snapshot and concurrent commits cannot force a restart.
        let mut waits = 0;
        loop {
            match backup.step(-1)? {
                StepResult::Done => break,
                StepResult::More => {}
                StepResult::Busy | StepResult::Locked if waits < 100 => {
                    waits += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                other => {
                    return Err(SqliteError::Backup(format!("gave up: {other:?}")));
                }
            }
        }
    }
    std::fs::rename(&tmp, dest)?;
    Ok(())
}
