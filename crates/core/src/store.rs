//! The `Store` trait: the only way to persistence. Backends store; rules live in core.

use crate::domain::{
    AccessKey, AuditRecord, Principal, Session, SessionId, SessionKind, SessionState, Tenant,
    TenantId,
};
use crate::filter::{ListQuery, Page, SessionFilter, TenantScope};
use crate::time::Timestamp;
use async_trait::async_trait;

/// SHA-256 of a token's verifier.
pub type TokenHash = [u8; 32];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// The backend cannot be reached or is overloaded; callers answer 503.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store error: {0}")]
    Internal(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Conditions a session must meet to be ended by a given call; a session that fails them
/// is reported as `NotFound`, exactly like one that does not exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndScope {
    pub tenant: TenantScope,
    pub owner: Option<String>,
    pub service: Option<String>,
    pub kind: Option<SessionKind>,
}

impl EndScope {
    pub fn tenant(tenant: TenantScope) -> Self {
        EndScope {
            tenant,
            owner: None,
            service: None,
            kind: None,
        }
    }
    pub fn admits(&self, s: &Session) -> bool {
        self.tenant.contains(s.tenant_id)
            && self.owner.as_ref().is_none_or(|o| *o == s.owner)
            && self.service.as_ref().is_none_or(|v| *v == s.service)
            && self.kind.is_none_or(|k| k == s.kind)
    }
}

/// How a session ends: the final state, who ended it and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndInfo {
    pub state: SessionState,
    pub at: Timestamp,
    pub by: String,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndOutcome {
    Ended,
    NotFound,
    AlreadyEnded(SessionState),
}

/// The result of ending a batch in one transaction. With `atomic`, `committed` is false when
/// any item was not live, and then nothing was changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndBatch {
    pub committed: bool,
    pub outcomes: Vec<EndOutcome>,
}

/// A coalesced last-activity update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Touch {
    pub id: SessionId,
    pub at: Timestamp,
    /// API calls to add to `call_count`.
    pub calls: u64,
    /// The session's new deadline (computed by core's timeout rules).
    pub expires_at: Option<Timestamp>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A short name for logs and `/readyz` (`sqlite`, `redis`).
    fn backend(&self) -> &'static str;

    /// Inserts a new live session. `expires_at` is its deadline (index for the sweeper).
    /// `Conflict` when a live session already has the same (tenant, service, node, external_id).
    async fn insert_session(
        &self,
        s: &Session,
        token_hash: &TokenHash,
        expires_at: Option<Timestamp>,
    ) -> StoreResult<()>;

    async fn get_session(&self, id: &SessionId) -> StoreResult<Option<Session>>;

    /// The session and its token hash (validate and API authentication).
    async fn get_session_auth(&self, id: &SessionId) -> StoreResult<Option<(Session, TokenHash)>>;

    /// Rewrites the mutable fields of a live session (not `last_active_at` or `call_count`,
    /// which belong to touches). `NotFound` when absent, `Conflict` when it has ended.
    async fn update_live(&self, s: &Session, expires_at: Option<Timestamp>) -> StoreResult<()>;

    /// Applies coalesced touches to live sessions in one transaction; `last_active_at` only
    /// ever moves forward. Ended or unknown ids are ignored.
    async fn apply_touches(&self, touches: &[Touch]) -> StoreResult<()>;

    async fn list_sessions(&self, q: &ListQuery) -> StoreResult<Page>;
    async fn count_sessions(&self, f: &SessionFilter) -> StoreResult<u64>;
    /// The highest id matching `f` (a dry run pins its set with it).
    async fn max_matching_id(&self, f: &SessionFilter) -> StoreResult<Option<SessionId>>;

    /// Ends the given sessions in one durable transaction, per item: `Ended` (was live and
    /// admitted by `scope`), `NotFound` (absent or outside `scope`), `AlreadyEnded`. With
    /// `atomic`, any non-`Ended` item rolls the whole batch back.
    async fn end_sessions(
        &self,
        ids: &[SessionId],
        scope: &EndScope,
        end: &EndInfo,
        atomic: bool,
    ) -> StoreResult<EndBatch>;

    /// Live sessions whose stored deadline is at or before `now`, oldest deadline first.
    async fn due_for_expiry(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<Session>>;
    /// Corrects a stored deadline (the sweeper found it stale).
    async fn set_deadline(&self, id: &SessionId, expires_at: Option<Timestamp>) -> StoreResult<()>;
    /// Deletes up to `limit` tombstones that ended before `before`; returns how many.
    async fn purge_ended(&self, before: Timestamp, limit: usize) -> StoreResult<u64>;

    async fn create_tenant(&self, name: &str) -> StoreResult<Tenant>;
    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>>;
    async fn tenant_by_id(&self, id: TenantId) -> StoreResult<Option<Tenant>>;
    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>>;

    /// `Conflict` when the name is taken (names are unique across tenants).
    async fn create_principal(&self, p: &Principal) -> StoreResult<()>;
    async fn get_principal(&self, name: &str) -> StoreResult<Option<Principal>>;
    async fn list_principals(&self, scope: &TenantScope) -> StoreResult<Vec<Principal>>;
    /// Replaces role, password hash and disabled flag; `NotFound` when absent.
    async fn update_principal(&self, p: &Principal) -> StoreResult<()>;
    async fn count_principals(&self) -> StoreResult<u64>;

    /// `Conflict` when the access key id exists.
    async fn create_access_key(&self, k: &AccessKey) -> StoreResult<()>;
    async fn get_access_key(&self, access_key: &str) -> StoreResult<Option<AccessKey>>;
    /// A principal's keys, oldest first.
    async fn list_access_keys(&self, principal: &str) -> StoreResult<Vec<AccessKey>>;
    /// Whether a key was deleted.
    async fn delete_access_key(&self, access_key: &str) -> StoreResult<bool>;
    /// Deletes every key of a principal (it was disabled); returns how many.
    async fn delete_access_keys_of(&self, principal: &str) -> StoreResult<u64>;

    async fn append_audit(&self, records: &[AuditRecord]) -> StoreResult<()>;
    /// Newest first.
    async fn list_audit(&self, scope: &TenantScope, limit: usize) -> StoreResult<Vec<AuditRecord>>;

    /// Reachability check for `/readyz`.
    async fn ping(&self) -> StoreResult<()>;
}
