//! The registry: every operation a dialect can ask for, with authentication, privilege and
//! tenant scope checked here once, over any `Store`.

mod access_keys;
mod admin;
mod auth;
mod caches;
mod creating;
mod delivery;
mod ending;
mod events;
mod filters;
mod kill;
mod maintenance;
mod sessions;
mod ssf;
mod stats;
mod terminate;
mod webhooks;

pub use access_keys::{AccessKeyView, NewAccessKey, MAX_KEYS_PER_PRINCIPAL};
pub use auth::{Caller, LoginInfo};
pub use ending::{EndReport, EndScope, EndedSession};
pub use events::EventsRequest;
pub use filters::{build_filter, canonical_filter};
pub use kill::KillRefusal;
pub use maintenance::{SweepReport, TOUCH_FLUSH_CHUNK};
pub use sessions::ListRequest;
pub use ssf::{DeliveryRequest, Poll, PollBatch, StreamRequest, StreamStatus, StreamView};
pub use stats::STATS_WINDOW;
pub use terminate::{BulkEnd, BulkItem, BulkTerminate, ItemOutcome};
pub use webhooks::{webhook_config, CreateWebhook, NewWebhook, UpdateWebhook, WebhookView};

use crate::domain::{SessionId, Tenant, TenantId};
use crate::error::{CoreError, CoreResult};
use crate::rules::bulk::ConfirmKey;
use crate::store::Store;
use crate::time::Clock;
use crate::touch::TouchBuffer;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Tunables with the defaults of DESIGN.md §1.
#[derive(Clone, Debug)]
pub struct RegistryConfig {
    pub default_idle_timeout: Duration,
    pub default_absolute_timeout: Duration,
    pub login_idle_timeout: Duration,
    pub login_absolute_timeout: Duration,
    /// How long tombstones are kept.
    pub retention: Duration,
    /// How long events are kept (subscribers resume within it).
    pub event_retention: Duration,
    pub default_page: usize,
    pub max_page: usize,
    /// Sessions ended per transaction in bulk work (bounds memory and lock time).
    pub end_chunk: usize,
    /// Most explicit ids one bulk request may name.
    pub max_bulk_ids: usize,
    /// Failed logins per name before backing off.
    pub login_failures_before_backoff: u32,
    /// Failed logins from one client address (whatever the names) before backing off: the
    /// names an address tries are many, its failures add up here. Higher than per name, for
    /// the users behind one NAT.
    pub login_failures_per_address: u32,
    /// Whether webhooks may target loopback, link-local and private addresses.
    pub webhooks_allow_private: bool,
    /// How event sinks retry failed deliveries.
    pub sink_retry: crate::sinks::RetryPolicy,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            default_idle_timeout: Duration::from_secs(30 * 60),
            default_absolute_timeout: Duration::from_secs(24 * 3600),
            login_idle_timeout: Duration::from_secs(30 * 60),
            login_absolute_timeout: Duration::from_secs(24 * 3600),
            retention: Duration::from_secs(7 * 24 * 3600),
            event_retention: Duration::from_secs(7 * 24 * 3600),
            default_page: 100,
            max_page: 1000,
            end_chunk: 5000,
            max_bulk_ids: 100_000,
            login_failures_before_backoff: 5,
            login_failures_per_address: 20,
            webhooks_allow_private: false,
            sink_retry: crate::sinks::RetryPolicy::default(),
        }
    }
}

pub struct Registry {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    cfg: RegistryConfig,
    touches: TouchBuffer,
    ids: Mutex<crate::ids::IdGen>,
    confirm_key: ConfirmKey,
    caches: caches::Caches,
    seal_key: Option<crate::secretbox::SealKey>,
}

impl Registry {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        cfg: RegistryConfig,
        confirm_key: ConfirmKey,
    ) -> Self {
        Registry {
            store,
            clock,
            cfg,
            touches: TouchBuffer::default(),
            ids: Mutex::new(crate::ids::IdGen::default()),
            confirm_key,
            caches: caches::Caches::default(),
            seal_key: None,
        }
    }

    /// Enables access keys: their secrets are sealed with `key`.
    pub fn with_seal_key(mut self, key: crate::secretbox::SealKey) -> Self {
        self.seal_key = Some(key);
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
    pub fn config(&self) -> &RegistryConfig {
        &self.cfg
    }

    /// A new time-ordered id. The generator is monotonic within this process, so ids of
    /// sessions registered later sort after earlier ones even within one millisecond.
    fn new_id(&self) -> CoreResult<SessionId> {
        let now = self.clock.now();
        let mut g = self
            .ids
            .lock()
            .map_err(|_| CoreError::Internal("id generator poisoned".into()))?;
        g.next(now)
            .map_err(|e| CoreError::Internal(format!("id generation: {e}")))
    }

    /// Resolves a tenant by name, or the caller's own when none is named. A tenant the
    /// caller may not see is reported as not found.
    async fn resolve_tenant(&self, caller: &Caller, name: Option<&str>) -> CoreResult<Tenant> {
        let t = match name {
            None => self.store.tenant_by_id(caller.tenant_id).await?,
            Some(n) => self.store.tenant_by_name(n).await?,
        };
        match t {
            Some(t) if caller.sees_tenant(t.id) => Ok(t),
            _ => Err(CoreError::NotFound("tenant")),
        }
    }

    /// The audit record of `caller`'s action, now.
    fn audit_record(
        &self,
        caller: &Caller,
        action: &str,
        target: &str,
        detail: Option<String>,
    ) -> crate::domain::AuditRecord {
        crate::domain::AuditRecord {
            at: self.clock.now(),
            actor: caller.principal.clone(),
            tenant_id: caller.tenant_id,
            action: action.to_string(),
            target: target.to_string(),
            origin: None,
            detail,
        }
    }

    /// Appends an audit record of `caller`'s action. The action itself is already durable
    /// (a termination is also recorded on its tombstone), so a failed append is logged, not
    /// turned into an error of an action that happened.
    async fn audit(&self, caller: &Caller, action: &str, target: &str, detail: Option<String>) {
        self.append_audit_record(self.audit_record(caller, action, target, detail))
            .await;
    }

    /// Appends a record built with [`Registry::audit_record`]; a failure is logged (see
    /// [`Registry::audit`]).
    async fn append_audit_record(&self, rec: crate::domain::AuditRecord) {
        if let Err(e) = self.store.append_audit(&[rec]).await {
            tracing::warn!(error = %e, "audit append failed");
        }
    }

    /// Checks that `name` is the caller's own tenant (a vendor dialect's project or
    /// account); any other, existing or not, is the same `NotFound`.
    pub async fn own_tenant_named(&self, caller: &Caller, name: &str) -> CoreResult<Tenant> {
        match self.store.tenant_by_id(caller.tenant_id).await? {
            Some(t) if t.name == name => Ok(t),
            _ => Err(CoreError::NotFound("tenant")),
        }
    }

    /// A tenant's name (its id as text if it has none). Tenants are never renamed or
    /// deleted, so a name, once read, is kept for the life of the process (every event and
    /// every whoami carries one).
    pub async fn tenant_name(&self, id: TenantId) -> CoreResult<String> {
        if let Some(n) = self.caches.tenant_name(id) {
            return Ok(n);
        }
        let Some(t) = self.store.tenant_by_id(id).await? else {
            return Ok(id.to_string());
        };
        self.caches.keep_tenant_name(id, &t.name);
        Ok(t.name)
    }
}
