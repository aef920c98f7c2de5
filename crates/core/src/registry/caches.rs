//! What a replica keeps in memory to spare the store a read per API call — the principals
//! behind callers, and callers' login sessions — and how every replica forgets it at once:
//! the funnel and the directory publish an [`Invalidation`] through the store (Redis
//! pub/sub; in-process for SQLite), and [`Registry::follow_invalidations`] applies them.
//!
//! Login sessions are cached only while the invalidation feed is live, and only for the
//! positive path: anything that would refuse a caller is re-checked against the store.
//! Entries also expire on their own ([`LOGIN_TTL`], [`PRINCIPAL_TTL`]), which bounds the
//! staleness if a message is ever lost.

use super::Registry;
use crate::domain::{Principal, Session, SessionId};
use crate::store::{Invalidation, TokenHash};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub(super) const PRINCIPAL_TTL: Duration = Duration::from_secs(2);
pub(super) const LOGIN_TTL: Duration = Duration::from_secs(1);
const MAX_ENTRIES: usize = 10_000;

/// A small map whose entries expire; cleared whole when full (callers are few and hot).
struct Expiring<K, V> {
    ttl: Duration,
    map: Mutex<HashMap<K, (V, Instant)>>,
}

impl<K: std::hash::Hash + Eq, V: Clone> Expiring<K, V> {
    fn new(ttl: Duration) -> Self {
        Expiring {
            ttl,
            map: Mutex::new(HashMap::new()),
        }
    }
    fn get<Q>(&self, k: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        let map = self.map.lock().ok()?;
        map.get(k)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(v, _)| v.clone())
    }
    fn put(&self, k: K, v: V) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
            map.insert(k, (v, Instant::now()));
        }
    }
    fn evict<Q>(&self, k: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        if let Ok(mut map) = self.map.lock() {
            map.remove(k);
        }
    }
    fn clear(&self) {
        if let Ok(mut map) = self.map.lock() {
            map.clear();
        }
    }
}

pub(super) struct Caches {
    principals: Expiring<String, Principal>,
    logins: Expiring<SessionId, (Session, TokenHash)>,
    /// Whether invalidations are being followed right now; login sessions are cached only
    /// then.
    live: AtomicBool,
    /// Invalidations this replica published, and those it received from the feed (its own
    /// included): every replica has heard everything once each `applied` reaches the sum of
    /// all `published`.
    published: AtomicU64,
    applied: AtomicU64,
    /// Tenant names by id: tenants are never renamed or deleted, so nothing invalidates
    /// them, and there are few.
    tenant_names: Mutex<HashMap<crate::domain::TenantId, String>>,
}

impl Default for Caches {
    fn default() -> Self {
        Caches {
            principals: Expiring::new(PRINCIPAL_TTL),
            logins: Expiring::new(LOGIN_TTL),
            live: AtomicBool::new(false),
            published: AtomicU64::new(0),
            applied: AtomicU64::new(0),
            tenant_names: Mutex::new(HashMap::new()),
        }
    }
}

impl Caches {
    pub(super) fn tenant_name(&self, id: crate::domain::TenantId) -> Option<String> {
        self.tenant_names.lock().ok()?.get(&id).cloned()
    }
    pub(super) fn keep_tenant_name(&self, id: crate::domain::TenantId, name: &str) {
        if let Ok(mut m) = self.tenant_names.lock() {
            if m.len() >= MAX_ENTRIES {
                m.clear();
            }
            m.insert(id, name.to_string());
        }
    }
    pub(super) fn principal(&self, name: &str) -> Option<Principal> {
        self.principals.get(name)
    }
    pub(super) fn put_principal(&self, p: &Principal) {
        self.principals.put(p.name.clone(), p.clone());
    }
    pub(super) fn login(&self, id: &SessionId) -> Option<(Session, TokenHash)> {
        if !self.live.load(Ordering::Acquire) {
            return None;
        }
        self.logins.get(id)
    }
    pub(super) fn put_login(&self, s: &Session, hash: &TokenHash) {
        if self.live.load(Ordering::Acquire) {
            self.logins.put(s.id.clone(), (s.clone(), *hash));
        }
    }
    pub(super) fn apply(&self, i: &Invalidation) {
        match i {
            Invalidation::Session(id) => self.logins.evict(id),
            Invalidation::Principal(name) => self.principals.evict(name),
            Invalidation::All => {
                self.logins.clear();
                self.principals.clear();
            }
            Invalidation::Paused => {
                self.live.store(false, Ordering::Release);
                self.logins.clear();
                self.principals.clear();
            }
            Invalidation::Resumed => {
                self.logins.clear();
                self.principals.clear();
                self.live.store(true, Ordering::Release);
            }
        }
    }
}

impl Registry {
    /// Forgets locally at once, then tells every other replica through the store. A failed
    /// publish is logged: the change itself is durable, and other replicas' entries expire
    /// within their TTL.
    pub(super) async fn invalidate(&self, items: Vec<Invalidation>) {
        if items.is_empty() {
            return;
        }
        for i in &items {
            self.caches.apply(i);
        }
        match self.store.publish(&items).await {
            Ok(()) => {
                self.caches
                    .published
                    .fetch_add(items.len() as u64, Ordering::AcqRel);
                metrics::counter!("sessiond_invalidations_published_total")
                    .increment(items.len() as u64);
            }
            Err(e) => tracing::warn!(error = %e, "publishing cache invalidations failed"),
        }
    }

    /// (published, applied) invalidations of this replica; see [`Caches`]. Tests wait on
    /// them instead of sleeping.
    pub fn invalidation_counts(&self) -> (u64, u64) {
        (
            self.caches.published.load(Ordering::Acquire),
            self.caches.applied.load(Ordering::Acquire),
        )
    }

    /// Applies the invalidations every replica publishes, until the store's feed closes.
    /// The server runs this for the life of the process; until it runs (and whenever the
    /// feed is interrupted) login sessions are not cached at all.
    pub async fn follow_invalidations(&self) {
        let Some(mut rx) = self.store.invalidations() else {
            return;
        };
        // Subscribed first, then asked: a pause or resume after this point is in the feed.
        if self.store.invalidations_live() {
            self.caches.apply(&Invalidation::Resumed);
        }
        loop {
            match rx.recv().await {
                Ok(i) => {
                    self.caches.apply(&i);
                    if !matches!(i, Invalidation::Paused | Invalidation::Resumed) {
                        self.caches.applied.fetch_add(1, Ordering::AcqRel);
                        metrics::counter!("sessiond_invalidations_applied_total").increment(1);
                    }
                }
                // Missed some: forget everything (the feed itself is still there).
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    self.caches.apply(&Invalidation::All)
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
        self.caches.apply(&Invalidation::Paused);
    }
}
