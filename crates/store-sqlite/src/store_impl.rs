//! The store traits over SQLite: each call is a read on the pool (point reads inline) or
//! one op queued to the writer thread.

use crate::write_ops::{NewRow, WriteOp, WriteReply};
use crate::{read, unexpected, SqliteStore};
use async_trait::async_trait;
use sessiond_core::events::{EventDraft, EventId, StoredEvent};
use sessiond_core::filter::{ListQuery, Page, SessionFilter, TenantScope};
use sessiond_core::sinks::{DeliveryAttempt, DeliveryState, Sink, SinkKind, SinkStatus};
use sessiond_core::stats::SessionStats;
use sessiond_core::store::{
    AuditStore, DirectoryStore, EndBatch, EndEffects, EndInfo, EventStore, Invalidation,
    LoginFailures, SessionStore, SinkStore, TokenHash, Touch,
};
use sessiond_core::{
    AuditRecord, Principal, Session, SessionId, Store, StoreError, StoreResult, Tenant, TenantId,
    Timestamp,
};

/// Deadline bounds moved per writer transaction by `due_for_expiry`.
const ADVANCE_CHUNK: usize = 4096;

#[async_trait]
impl SessionStore for SqliteStore {
    async fn insert_session(
        &self,
        s: &Session,
        token_hash: &TokenHash,
        expires_at: Option<Timestamp>,
        event: Option<&EventDraft>,
    ) -> StoreResult<()> {
        self.write_done(WriteOp::Insert(vec![NewRow {
            session: s.clone(),
            hash: *token_hash,
            expires_at,
            event: event.cloned(),
        }]))
        .await
    }

    async fn get_session(&self, id: &SessionId) -> StoreResult<Option<Session>> {
        self.readers.run_point(|c| read::get_session(c, id))
    }

    async fn get_sessions(&self, ids: &[SessionId]) -> StoreResult<Vec<Option<Session>>> {
        if ids.len() <= 1 {
            return ids
                .iter()
                .map(|id| self.readers.run_point(|c| read::get_session(c, id)))
                .collect();
        }
        let ids = ids.to_vec();
        self.readers.run(move |c| read::get_sessions(c, &ids)).await
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
        end: &EndInfo,
        atomic: bool,
        effects: &EndEffects<'_>,
    ) -> StoreResult<(EndBatch, bool)> {
        if ids.is_empty() {
            let none = EndBatch {
                committed: true,
                outcomes: vec![],
            };
            return Ok((none, false));
        }
        let op = WriteOp::End {
            ids: ids.to_vec(),
            end: end.clone(),
            atomic,
            audit: effects.audit.map(|(r, n)| (r.clone(), n)),
            events: effects.events.to_vec(),
        };
        match self.writer.submit(op).await? {
            WriteReply::Ended(b, audited) => Ok((b, audited)),
            r => Err(unexpected(r)),
        }
    }

    async fn due_for_expiry(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<Session>> {
        // First move the bounds that came due early (busy sessions), so that the read below
        // finds the due ones without walking past them; a chunk at a time, so that durable
        // writes queued meanwhile wait for one chunk at most.
        loop {
            match self
                .writer
                .submit(WriteOp::AdvanceDeadlines(now, ADVANCE_CHUNK))
                .await?
            {
                WriteReply::Advanced(n) if (n as usize) < ADVANCE_CHUNK => break,
                WriteReply::Advanced(_) => continue,
                r => return Err(unexpected(r)),
            }
        }
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

    async fn session_stats(
        &self,
        scope: &TenantScope,
        since_hour: i64,
    ) -> StoreResult<SessionStats> {
        let scope = scope.clone();
        self.readers
            .run(move |c| crate::stats::session_stats(c, &scope, since_hour))
            .await
    }
}

#[async_trait]
impl DirectoryStore for SqliteStore {
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

    async fn update_principal(&self, p: &Principal, event: Option<&EventDraft>) -> StoreResult<()> {
        self.write_done(WriteOp::UpdatePrincipal(p.clone(), event.cloned()))
            .await
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

    async fn login_failures(&self, name: &str) -> StoreResult<Option<LoginFailures>> {
        self.readers.run_point(|c| read::login_failures(c, name))
    }

    async fn record_login_failure(&self, name: &str, at: Timestamp) -> StoreResult<LoginFailures> {
        match self
            .writer
            .submit(WriteOp::LoginFailure(name.to_string(), at))
            .await?
        {
            WriteReply::Failures(f) => Ok(f),
            r => Err(unexpected(r)),
        }
    }

    async fn clear_login_failures(&self, name: &str) -> StoreResult<()> {
        self.write_done(WriteOp::ClearLoginFailures(name.to_string()))
            .await
    }

    async fn purge_login_failures(&self, before: Timestamp, limit: usize) -> StoreResult<u64> {
        match self
            .writer
            .submit(WriteOp::PurgeLoginFailures(before, limit))
            .await?
        {
            WriteReply::Purged(n) => Ok(n),
            r => Err(unexpected(r)),
        }
    }
}

#[async_trait]
impl AuditStore for SqliteStore {
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
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn events_after(&self, after: EventId, limit: usize) -> StoreResult<Vec<StoredEvent>> {
        self.readers
            .run(move |c| crate::events::after(c, after, limit))
            .await
    }

    async fn last_event_id(&self) -> StoreResult<EventId> {
        // The writer raises the signal before it acknowledges, so it is never behind an
        // acknowledged change.
        Ok(*self.events.borrow())
    }

    async fn purge_events(&self, before: Timestamp, limit: usize) -> StoreResult<u64> {
        match self
            .writer
            .submit(WriteOp::PurgeEvents(before, limit))
            .await?
        {
            WriteReply::Purged(n) => Ok(n),
            r => Err(unexpected(r)),
        }
    }

    fn event_signal(&self) -> tokio::sync::watch::Receiver<EventId> {
        self.events.subscribe()
    }
}

#[async_trait]
impl SinkStore for SqliteStore {
    async fn create_sink(&self, s: &Sink) -> StoreResult<()> {
        self.write_done(WriteOp::CreateSink(Box::new(s.clone())))
            .await
    }

    async fn get_sink(&self, id: &str) -> StoreResult<Option<Sink>> {
        self.readers.run_point(|c| crate::sinks::get(c, id))
    }

    async fn list_sinks(
        &self,
        kind: Option<SinkKind>,
        scope: &TenantScope,
    ) -> StoreResult<Vec<Sink>> {
        let scope = scope.clone();
        self.readers
            .run(move |c| crate::sinks::list(c, kind, &scope))
            .await
    }

    async fn update_sink(&self, s: &Sink) -> StoreResult<()> {
        self.write_done(WriteOp::UpdateSink(Box::new(s.clone())))
            .await
    }

    async fn delete_sink(&self, id: &str) -> StoreResult<bool> {
        match self.writer.submit(WriteOp::DeleteSink(id.into())).await? {
            WriteReply::Deleted(n) => Ok(n > 0),
            r => Err(unexpected(r)),
        }
    }

    async fn advance_sink(
        &self,
        id: &str,
        expected: &DeliveryState,
        next: &DeliveryState,
        status: Option<(SinkStatus, Option<String>)>,
        attempts: &[DeliveryAttempt],
    ) -> StoreResult<bool> {
        let op = WriteOp::AdvanceSink {
            id: id.into(),
            expected: expected.clone(),
            next: next.clone(),
            status,
            attempts: attempts.to_vec(),
        };
        match self.writer.submit(op).await? {
            WriteReply::Deleted(n) => Ok(n > 0),
            r => Err(unexpected(r)),
        }
    }

    async fn list_attempts(&self, id: &str, limit: usize) -> StoreResult<Vec<DeliveryAttempt>> {
        let id = id.to_string();
        self.readers
            .run(move |c| crate::sinks::attempts(c, &id, limit))
            .await
    }

    async fn lease_sink(
        &self,
        id: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> StoreResult<bool> {
        let op = WriteOp::LeaseSink(id.into(), holder.into(), now, until);
        match self.writer.submit(op).await? {
            WriteReply::Deleted(n) => Ok(n > 0),
            r => Err(unexpected(r)),
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> StoreResult<()> {
        if !self.writer.is_running() {
            return Err(StoreError::Unavailable(
                "the SQLite writer has stopped".into(),
            ));
        }
        self.readers.run(read::ping).await
    }

    async fn publish(&self, items: &[Invalidation]) -> StoreResult<()> {
        for i in items {
            // No receiver (no registry follows) is fine.
            let _ = self.feed.send(i.clone());
        }
        Ok(())
    }

    fn invalidations(&self) -> Option<tokio::sync::broadcast::Receiver<Invalidation>> {
        Some(self.feed.subscribe())
    }

    /// In one process the feed never drops a message it was given.
    fn invalidations_live(&self) -> bool {
        true
    }
}
