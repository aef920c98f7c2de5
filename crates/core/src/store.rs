//! The store contract: the only way to persistence, split by what it keeps (sessions, the
//! directory, audit). Backends store and compare-and-set; every rule lives in core.
//!
//! Guarantees, stated so that a non-SQL engine (Redis Cluster) can keep them:
//! - **One session is the unit of atomicity.** Inserting a session (with its `external_id`
//!   uniqueness check), rewriting its live fields, and ending it are each atomic on that one
//!   session. Nothing else is promised to be atomic across sessions except `all_or_nothing`
//!   below.
//! - **Ends are compare-and-set.** `end_if_active` changes a session only while its state is
//!   `active` and reports what it found; core has already decided which sessions the caller
//!   may end (tenant, owner, service, kind) and that `active → state` is allowed. A tombstone
//!   is never changed again.
//! - **`atomic` (all_or_nothing)** is check-all-then-end-all: if any id is not active at the
//!   check, nothing is changed by this call. Once the check passed, every id ends up ended —
//!   by this call, or by a concurrent one that got there first (then it keeps that end's
//!   `ended_by`). While the call runs, a reader on another shard may see the batch half
//!   applied. A single SQLite transaction has no such window; Redis across shards does.
//! - **Durability:** an acknowledged insert or end survives a crash of the process (SQLite:
//!   fsync; Redis: `WAIT` for replicas when they exist). Touches may be lost (DESIGN.md §1).
//! - **Lists** follow id order with keyset cursors: a walk never skips or repeats a session
//!   that lives through it. A page may be short and still carry `next` when the store bounded
//!   its scan. `count_sessions` and `max_matching_id` are exact, and cost a scan of the
//!   matches (SQLite: one index range; Redis: one pass per shard over the narrowest index).
//! - **Events** are written with the change they report, in the same atomic step (an
//!   outbox): the insert of a session with its `session.created`, each end with the event of
//!   that session's end (only for the ids the call ended), a principal's change with its
//!   `principal.disabled`. Ids increase in the order events were written, and every replica
//!   reads the same sequence; a session's events keep their order.
//! - **Statistics** (`session_stats`) are exact: live sessions as `count_sessions` counts
//!   them, openings and ends by the hour, each shard's at one instant (SQLite: one read transaction; Redis: one script per shard, its
//!   counters written by the scripts that open and end sessions).
//! - A store never reads a clock: core passes every instant.

use crate::domain::{
    AccessKey, AuditRecord, Principal, Session, SessionId, SessionState, Tenant, TenantId,
};
use crate::events::{EventDraft, EventId, StoredEvent};
use crate::filter::{ListQuery, Page, SessionFilter, TenantScope};
use crate::sinks::{DeliveryAttempt, DeliveryState, Sink, SinkKind, SinkStatus};
use crate::stats::SessionStats;
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
    /// The backend cannot be reached, is failing over or is overloaded; callers answer 503.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store error: {0}")]
    Internal(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// How a session ends: the final state, who ended it and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndInfo {
    pub state: SessionState,
    pub at: Timestamp,
    pub by: String,
    pub reason: Option<String>,
}

/// What a compare-and-set end found for one id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndOutcome {
    /// It was active and is now ended by this call.
    Ended,
    /// No such session (never existed, or its tombstone was purged).
    NotFound,
    /// It had already ended (in this state).
    AlreadyEnded(SessionState),
}

/// The result of one `end_if_active` call, one outcome per id in input order. With `atomic`,
/// `committed` is false when any id was not active at the check, and then nothing changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndBatch {
    pub committed: bool,
    pub outcomes: Vec<EndOutcome>,
}

/// What an end writes besides the ends themselves, in the same durable step.
#[derive(Clone, Copy, Debug, Default)]
pub struct EndEffects<'a> {
    /// An audit record, appended only if exactly this many sessions end and the step
    /// commits (see [`SessionStore::end_sessions`]).
    pub audit: Option<(&'a AuditRecord, usize)>,
    /// One event per session core expects to end (keyed by `session_id`); the store
    /// appends the events of the ids this call ended, in the order of `ids`.
    pub events: &'a [EventDraft],
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

/// Failed logins of one principal name, counted across every replica of the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginFailures {
    pub count: u32,
    pub last: Timestamp,
}

/// Sessions: the records every dialect is a view of, and their guarded state changes.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Inserts a new live session, and `event` with it. `expires_at` is its deadline (the
    /// sweeper's index). `Conflict` when a live session already has the same (tenant,
    /// service, node, external_id); the check, the insert and the event are one atomic step.
    /// An id that [`SessionStore::accepts_id`] refuses for `s` is an error, never a second
    /// live holder.
    async fn insert_session(
        &self,
        s: &Session,
        token_hash: &TokenHash,
        expires_at: Option<Timestamp>,
        event: Option<&EventDraft>,
    ) -> StoreResult<()>;

    /// Whether `id` may be the id of `s` when it is inserted. A store that keeps a session's
    /// uniqueness key in a place chosen by its contents (Redis: the shard of its external id)
    /// may refuse an id that would put the session elsewhere; core then draws another (ids
    /// stay time-ordered: they come from the same generator). Cheap and synchronous: core
    /// calls it once per draw, and with S places expects about S draws.
    fn accepts_id(&self, id: &SessionId, s: &Session) -> bool {
        let _ = (id, s);
        true
    }

    async fn get_session(&self, id: &SessionId) -> StoreResult<Option<Session>>;

    /// Several sessions by id, one answer per id in input order (batched: one round trip
    /// per shard, not per id).
    async fn get_sessions(&self, ids: &[SessionId]) -> StoreResult<Vec<Option<Session>>>;

    /// The session and its token hash (validate and API authentication): one point read.
    async fn get_session_auth(&self, id: &SessionId) -> StoreResult<Option<(Session, TokenHash)>>;

    /// Rewrites the mutable fields of a session while it is active (not `last_active_at` or
    /// `call_count`, which belong to touches). `NotFound` when absent, `Conflict` when ended.
    async fn update_live(&self, s: &Session, expires_at: Option<Timestamp>) -> StoreResult<()>;

    /// Applies coalesced touches to active sessions; `last_active_at` only ever moves
    /// forward. Ended or unknown ids are ignored. Not durable (may be lost in a crash).
    async fn apply_touches(&self, touches: &[Touch]) -> StoreResult<()>;

    async fn list_sessions(&self, q: &ListQuery) -> StoreResult<Page>;
    /// Exact number of matches.
    async fn count_sessions(&self, f: &SessionFilter) -> StoreResult<u64>;
    /// The highest id matching `f` (a dry run pins its set with it).
    async fn max_matching_id(&self, f: &SessionFilter) -> StoreResult<Option<SessionId>>;

    /// Compare-and-set end: each id that is `active` gets `end`'s state, time, ender and
    /// reason; the others are reported as found. Durable when it returns, with its effects:
    /// the events of the ids it ended, and the audit record when the step ended exactly the
    /// expected number of sessions and committed (the `bool` says whether it was appended).
    /// Core builds the record for the count it expects (the sessions it read as live); when
    /// a concurrent end won some of them the record would be wrong, so the store leaves it
    /// and core appends the right one itself. A store whose audit log lives apart from its
    /// sessions may never append it (Redis: a directory key, in another slot than the
    /// sessions). See the module documentation for what `atomic` promises.
    async fn end_sessions(
        &self,
        ids: &[SessionId],
        end: &EndInfo,
        atomic: bool,
        effects: &EndEffects<'_>,
    ) -> StoreResult<(EndBatch, bool)>;

    /// [`SessionStore::end_sessions`] without events or audit.
    async fn end_if_active(
        &self,
        ids: &[SessionId],
        end: &EndInfo,
        atomic: bool,
    ) -> StoreResult<EndBatch> {
        let none = EndEffects::default();
        Ok(self.end_sessions(ids, end, atomic, &none).await?.0)
    }

    /// [`SessionStore::end_sessions`] with an audit record and no events.
    async fn end_if_active_audited(
        &self,
        ids: &[SessionId],
        end: &EndInfo,
        atomic: bool,
        audit: &AuditRecord,
        expected: usize,
    ) -> StoreResult<(EndBatch, bool)> {
        let effects = EndEffects {
            audit: Some((audit, expected)),
            events: &[],
        };
        self.end_sessions(ids, end, atomic, &effects).await
    }

    /// Active sessions whose stored deadline is at or before `now`, oldest deadline first.
    async fn due_for_expiry(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<Session>>;
    /// Corrects a stored deadline of an active session (the sweeper found it stale).
    async fn set_deadline(&self, id: &SessionId, expires_at: Option<Timestamp>) -> StoreResult<()>;
    /// Deletes up to `limit` tombstones that ended before `before`; returns how many. A store
    /// whose tombstones expire by themselves (key TTL) may delete fewer or none.
    async fn purge_ended(&self, before: Timestamp, limit: usize) -> StoreResult<u64>;

    /// Statistics of the sessions in `scope` (see [`crate::stats`]):
    /// - `live`: per (tenant, service), the sessions whose state is `active` — what
    ///   `count_sessions` counts with the default (`Active`) state filter; a session past
    ///   its deadline that no sweep has ended yet is still live.
    /// - `hourly`: per (tenant, service, hour), the sessions opened (`opened_at`) and the
    ///   sessions ended, in any way (`ended_at`: closed, terminated, expired), in the hours
    ///   from `since_hour` on (Unix hours, [`crate::stats::hour_of`]). A session opened
    ///   before `since_hour` and ended after it counts as ended only.
    ///
    /// Each shard's counts are of one instant (a Redis Cluster answers shard by shard). Hours
    /// older than the tombstone retention period, or than 8 days, may be forgotten: a store
    /// may count from the records it keeps, or keep counters for 8 days. A store may rely on
    /// an end coming after its session's opening (`ended_at >= opened_at`: both are core's
    /// clock readings, in that order).
    async fn session_stats(
        &self,
        scope: &TenantScope,
        since_hour: i64,
    ) -> StoreResult<SessionStats>;
}

/// The directory: tenants, principals, access keys and the login throttle. Every replica
/// reads it from the store, so a change made through one replica holds on all at once.
#[async_trait]
pub trait DirectoryStore: Send + Sync + 'static {
    /// `Conflict` when the name exists.
    async fn create_tenant(&self, name: &str) -> StoreResult<Tenant>;
    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>>;
    async fn tenant_by_id(&self, id: TenantId) -> StoreResult<Option<Tenant>>;
    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>>;

    /// `Conflict` when the name is taken (names are unique across tenants).
    async fn create_principal(&self, p: &Principal) -> StoreResult<()>;
    async fn get_principal(&self, name: &str) -> StoreResult<Option<Principal>>;
    async fn list_principals(&self, scope: &TenantScope) -> StoreResult<Vec<Principal>>;
    /// Replaces role, password hash and disabled flag, and appends `event` in the same
    /// atomic step; `NotFound` when absent.
    async fn update_principal(&self, p: &Principal, event: Option<&EventDraft>) -> StoreResult<()>;
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

    /// Failed logins recorded for `name`, if any.
    async fn login_failures(&self, name: &str) -> StoreResult<Option<LoginFailures>>;
    /// Counts one more failed login at `at` (atomically: concurrent replicas each add one)
    /// and returns the new count.
    async fn record_login_failure(&self, name: &str, at: Timestamp) -> StoreResult<LoginFailures>;
    /// Forgets the failures of `name` (a login succeeded).
    async fn clear_login_failures(&self, name: &str) -> StoreResult<()>;
    /// Deletes up to `limit` failure counters whose last failure was before `before`;
    /// returns how many. A store whose counters expire by themselves (Redis keys have a
    /// TTL) may delete none. Keeps a spray of made-up names from growing the store.
    async fn purge_login_failures(&self, before: Timestamp, limit: usize) -> StoreResult<u64> {
        let _ = (before, limit);
        Ok(0)
    }
}

/// The audit trail of terminations and admin changes.
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    async fn append_audit(&self, records: &[AuditRecord]) -> StoreResult<()>;
    /// Newest first.
    async fn list_audit(&self, scope: &TenantScope, limit: usize) -> StoreResult<Vec<AuditRecord>>;
}

/// The event outbox, read in id order by every subscriber on every replica.
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Events with ids above `after`, in id order, at most `limit`.
    async fn events_after(&self, after: EventId, limit: usize) -> StoreResult<Vec<StoredEvent>>;
    /// The highest event id written so far (0 before the first).
    async fn last_event_id(&self) -> StoreResult<EventId>;
    /// Deletes up to `limit` events written before `before`, oldest first; returns how many.
    async fn purge_events(&self, before: Timestamp, limit: usize) -> StoreResult<u64>;
    /// Changes whenever events above the last value seen may have been written, on any
    /// replica (a wake-up hint: readers then call `events_after`). The value is the highest
    /// id this replica knows of.
    fn event_signal(&self) -> tokio::sync::watch::Receiver<EventId>;
}

/// Event sinks (webhooks, SSF streams) and their delivery state, shared by every replica:
/// whichever replica holds a sink's lease delivers to it.
#[async_trait]
pub trait SinkStore: Send + Sync + 'static {
    /// `Conflict` when the id exists.
    async fn create_sink(&self, s: &Sink) -> StoreResult<()>;
    async fn get_sink(&self, id: &str) -> StoreResult<Option<Sink>>;
    /// The sinks of `kind` in `scope` (all kinds when `None`), oldest first.
    async fn list_sinks(
        &self,
        kind: Option<SinkKind>,
        scope: &TenantScope,
    ) -> StoreResult<Vec<Sink>>;
    /// Replaces config, sealed secret, status and reason; leaves the delivery state alone.
    /// `NotFound` when absent.
    async fn update_sink(&self, s: &Sink) -> StoreResult<()>;
    /// Deletes a sink with its attempt log; whether it existed.
    async fn delete_sink(&self, id: &str) -> StoreResult<bool>;
    /// Compare-and-set of a sink's delivery state: when the stored state equals `expected`,
    /// stores `next` (and `status` with its reason, when given) and appends `attempts` to
    /// the sink's log, keeping the newest [`crate::sinks::MAX_LOGGED_ATTEMPTS`]; one atomic
    /// step. Returns whether it applied (false also when the sink is gone). Not required to
    /// be durable at return: a lost advance only means events delivered again (at least
    /// once).
    async fn advance_sink(
        &self,
        id: &str,
        expected: &DeliveryState,
        next: &DeliveryState,
        status: Option<(SinkStatus, Option<String>)>,
        attempts: &[DeliveryAttempt],
    ) -> StoreResult<bool>;
    /// A sink's attempts, newest first.
    async fn list_attempts(&self, id: &str, limit: usize) -> StoreResult<Vec<DeliveryAttempt>>;
    /// Takes or renews the delivery lease of sink `id` for `holder` until `until`, if no
    /// other holder's lease runs past `now`; whether `holder` has it. One replica at a
    /// time delivers a sink (in order); a crashed holder's lease runs out.
    async fn lease_sink(
        &self,
        id: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> StoreResult<bool>;
}

/// What every replica must forget at once (see `registry::caches`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Invalidation {
    /// A login session ended.
    Session(SessionId),
    /// A principal changed (role, password, disabled).
    Principal(String),
    /// Forget everything (some invalidations may have been missed).
    All,
    /// The feed is interrupted: forget everything and cache nothing until `Resumed`.
    Paused,
    /// The feed works again: forget everything, caching may resume.
    Resumed,
}

/// A whole backend, chosen at startup (`Arc<dyn Store>`).
#[async_trait]
pub trait Store: SessionStore + DirectoryStore + AuditStore + EventStore + SinkStore {
    /// A short name for logs and `/readyz` (`sqlite`, `redis`, `redis-cluster`).
    fn backend(&self) -> &'static str;
    /// Reachability check for `/readyz`.
    async fn ping(&self) -> StoreResult<()>;

    /// Sends invalidations to every replica sharing this store (itself included). Returns
    /// once the store has taken them (Redis: PUBLISH answered). A store without a feed
    /// accepts and drops them.
    async fn publish(&self, items: &[Invalidation]) -> StoreResult<()> {
        let _ = items;
        Ok(())
    }
    /// The feed of every replica's invalidations, or `None` when this store has none (then
    /// replicas cache no login sessions).
    fn invalidations(&self) -> Option<tokio::sync::broadcast::Receiver<Invalidation>> {
        None
    }
    /// Whether the feed is delivering right now (it announces changes with `Paused` and
    /// `Resumed`).
    fn invalidations_live(&self) -> bool {
        false
    }
}
