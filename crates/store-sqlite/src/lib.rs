//! sessiond's embedded store: `SqliteStore`, the `Store` trait over one SQLite file in WAL
//! mode, with one group-committing writer thread and a pool of readers.
//!
//! Architecture invariant: every write goes through the writer thread (one connection, so
//! no write ever waits on a lock), every read through the read pool (WAL: reads never wait
//! on the writer). Business rules live in core; this crate only stores.

mod error;
mod query;
mod read;
mod rows;
mod schema;
mod write_ops;
mod writer;

pub use error::SqliteError;
pub use schema::MIGRATIONS;
pub use writer::WriterStats;

use async_trait::async_trait;
use read::ReadPool;
use rusqlite::backup::StepResult;
use sessiond_core::filter::{ListQuery, Page, SessionFilter, TenantScope};
use sessiond_core::store::{EndBatch, EndInfo, EndScope, TokenHash, Touch};
use sessiond_core::{
    AuditRecord, Principal, Session, SessionId, Store, StoreError, StoreResult, Tenant, TenantId,
    Timestamp,
};
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
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn unexpected(r: WriteReply) -> StoreError {
    StoreError::Internal(format!("unexpected writer reply {r:?}"))
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, switches it to WAL and applies any
    /// pending schema migrations. Locking the data directory is the caller's job.
    pub fn open(path: &Path) -> Result<SqliteStore, SqliteError> {
        let conn = schema::open_writer(path)?;
        let writer = Writer::spawn(conn)?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            writer,
            readers: ReadPool::new(path.to_path_buf()),
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

    /// Inserts many sessions in one transaction. For test fixtures and the bench harness
    /// (loading a million sessions one request at a time would measure the loader).
    pub async fn insert_many(
        &self,
        sessions: Vec<(Session, TokenHash, Option<Timestamp>)>,
    ) -> StoreResult<()> {
        match self.writer.submit(WriteOp::Insert(sessions)).await? {
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

    async fn write_done(&self, op: WriteOp) -> StoreResult<()> {
        match self.writer.submit(op).await? {
            WriteReply::Done => Ok(()),
            r => Err(unexpected(r)),
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn insert_session(
        &self,
        s: &Session,
        token_hash: &TokenHash,
        expires_at: Option<Timestamp>,
    ) -> StoreResult<()> {
        self.write_done(WriteOp::Insert(vec![(s.clone(), *token_hash, expires_at)]))
            .await
    }

    async fn get_session(&self, id: &SessionId) -> StoreResult<Option<Session>> {
        self.readers.run_point(|c| read::get_session(c, id))
    }

    async fn get_session_auth(&self, id: &SessionId) -> StoreResult<Option<(Session, TokenHash)>> {
        self.readers.run_point(|c| read::get_session_auth(c, id))
    }

    async fn update_live(&self, s: &Session, expires_at: Option<Timestamp>) -> StoreResult<()> {
        self.write_done(WriteOp::UpdateLive(Box::new(s.clone()), expires_at))
            .await
    }

    async fn apply_touches(&self, touches: &[Touch]) -> StoreResult<()> {
        if touches.is_empty() {
            return Ok(());
        }
        self.write_done(WriteOp::Touches(touches.to_vec())).await
    }

    async fn list_sessions(&self, q: &ListQuery) -> StoreResult<Page> {
        let q = q.clone();
        self.readers.run(move |c| read::list_sessions(c, &q)).await
    }

    async fn count_sessions(&self, f: &SessionFilter) -> StoreResult<u64> {
        let f = f.clone();
        self.readers.run(move |c| read::count_sessions(c, &f)).await
    }

    async fn max_matching_id(&self, f: &SessionFilter) -> StoreResult<Option<SessionId>> {
        let f = f.clone();
        self.readers
            .run(move |c| read::max_matching_id(c, &f))
            .await
    }

    async fn end_sessions(
        &self,
        ids: &[SessionId],
        scope: &EndScope,
        end: &EndInfo,
        atomic: bool,
    ) -> StoreResult<EndBatch> {
        if ids.is_empty() {
            return Ok(EndBatch {
                committed: true,
                outcomes: vec![],
            });
        }
        let op = WriteOp::End {
            ids: ids.to_vec(),
            scope: scope.clone(),
            end: end.clone(),
            atomic,
        };
        match self.writer.submit(op).await? {
            WriteReply::Ended(b) => Ok(b),
            r => Err(unexpected(r)),
        }
    }

    async fn due_for_expiry(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<Session>> {
        self.readers
            .run(move |c| read::due_for_expiry(c, now, limit))
            .await
    }

    async fn set_deadline(&self, id: &SessionId, expires_at: Option<Timestamp>) -> StoreResult<()> {
        self.write_done(WriteOp::SetDeadline(id.clone(), expires_at))
            .await
    }

    async fn purge_ended(&self, before: Timestamp, limit: usize) -> StoreResult<u64> {
        match self.writer.submit(WriteOp::Purge(before, limit)).await? {
            WriteReply::Purged(n) => Ok(n),
            r => Err(unexpected(r)),
        }
    }

    async fn create_tenant(&self, name: &str) -> StoreResult<Tenant> {
        match self
            .writer
            .submit(WriteOp::CreateTenant(name.to_string()))
            .await?
        {
            WriteReply::Tenant(t) => Ok(t),
            r => Err(unexpected(r)),
        }
    }

    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>> {
        self.readers.run_point(|c| read::tenant_by_name(c, name))
    }

    async fn tenant_by_id(&self, id: TenantId) -> StoreResult<Option<Tenant>> {
        self.readers.run_point(|c| read::tenant_by_id(c, id))
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        self.readers.run(read::list_tenants).await
    }

    async fn create_principal(&self, p: &Principal) -> StoreResult<()> {
        self.write_done(WriteOp::CreatePrincipal(p.clone())).await
    }

    async fn get_principal(&self, name: &str) -> StoreResult<Option<Principal>> {
        self.readers.run_point(|c| read::get_principal(c, name))
    }

    async fn list_principals(&self, scope: &TenantScope) -> StoreResult<Vec<Principal>> {
        let scope = scope.clone();
        self.readers
            .run(move |c| read::list_principals(c, &scope))
            .await
    }

    async fn update_principal(&self, p: &Principal) -> StoreResult<()> {
        self.write_done(WriteOp::UpdatePrincipal(p.clone())).await
    }

    async fn count_principals(&self) -> StoreResult<u64> {
        self.readers.run(read::count_principals).await
    }

    async fn create_access_key(&self, k: &sessiond_core::AccessKey) -> StoreResult<()> {
        self.write_done(WriteOp::CreateAccessKey(k.clone())).await
    }

    async fn get_access_key(
        &self,
        access_key: &str,
    ) -> StoreResult<Option<sessiond_core::AccessKey>> {
        self.readers
            .run_point(|c| read::get_access_key(c, access_key))
    }

    async fn list_access_keys(
        &self,
        principal: &str,
    ) -> StoreResult<Vec<sessiond_core::AccessKey>> {
        let principal = principal.to_string();
        self.readers
            .run(move |c| read::list_access_keys(c, &principal))
            .await
    }

    async fn delete_access_key(&self, access_key: &str) -> StoreResult<bool> {
        let op = WriteOp::DeleteAccessKeys {
            access_key: Some(access_key.to_string()),
            principal: None,
        };
        match self.writer.submit(op).await? {
            WriteReply::Deleted(n) => Ok(n > 0),
            other => Err(StoreError::Internal(format!(
                "unexpected writer reply {other:?}"
            ))),
        }
    }

    async fn delete_access_keys_of(&self, principal: &str) -> StoreResult<u64> {
        let op = WriteOp::DeleteAccessKeys {
            access_key: None,
            principal: Some(principal.to_string()),
        };
        match self.writer.submit(op).await? {
            WriteReply::Deleted(n) => Ok(n),
            other => Err(StoreError::Internal(format!(
                "unexpected writer reply {other:?}"
            ))),
        }
    }

    async fn append_audit(&self, records: &[AuditRecord]) -> StoreResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        self.write_done(WriteOp::AppendAudit(records.to_vec()))
            .await
    }

    async fn list_audit(&self, scope: &TenantScope, limit: usize) -> StoreResult<Vec<AuditRecord>> {
        let scope = scope.clone();
        self.readers
            .run(move |c| read::list_audit(c, &scope, limit))
            .await
    }

    /// Readable and writable: a store whose writer thread has died must not report ready.
    async fn ping(&self) -> StoreResult<()> {
        if !self.writer.is_running() {
            return Err(StoreError::Unavailable(
                "the SQLite writer has stopped".into(),
            ));
        }
        self.readers.run(read::ping).await
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
