//! Shared test material: a deterministic RNG, session builders, id generation, a full keyset
//! walk with its invariants checked, and a `Registry` environment with a manual clock.

use sessiond_core::filter::{ListQuery, SessionFilter};
use sessiond_core::ids::IdGen;
use sessiond_core::rules::bulk::ConfirmKey;
use sessiond_core::store::{EndInfo, TokenHash};
use sessiond_core::{
    Activity, Caller, Domain, HumanDuration, LoginInfo, ManualClock, Registry, RegistryConfig,
    Session, SessionId, SessionKind, SessionState, Store, TenantId, Timestamp, User,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The instant every fixture starts from (ManualClock's default, 2026-11-23T00:00:00Z).
pub const T0: Timestamp = Timestamp(1_795_392_000_000_000_000);

/// `T0 + secs`.
pub fn at(secs: i64) -> Timestamp {
    Timestamp(T0.0 + secs * 1_000_000_000)
}

/// xorshift64*: deterministic, so a failing population is the same on every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform-ish in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// The instant operation start times are spread around (`OP_PIVOT ± 15 min`); some start
/// exactly on it, so the strict `activity_started_before` bound is tested where it matters.
pub const OP_PIVOT: Timestamp = Timestamp(T0.0 + 1_000 * 1_000_000_000);

/// Operation field values: case, Unicode and whitespace variants of each other, so an
/// exact match is told apart from a folded or trimmed one.
pub const OP_TYPES: &[&str] = &["query", "Query", "update", "command", "getmore", "straße"];
pub const OP_NAMESPACES: &[&str] = &[
    "shop.orders",
    "shop.Orders",
    "shop.orders ",
    "app.users",
    "ωmega.ΣΣ",
];
pub const OP_PLAN_SUMMARIES: &[&str] = &["COLLSCAN", "collscan", "IXSCAN { _id: 1 }", "IDHACK"];

/// A varied current operation, or `None` (idle) about half of the time: each field present
/// or absent on its own (a few operations have none at all), start times spread around
/// [`OP_PIVOT`] with about one in eight exactly on it and a few one nanosecond either side.
pub fn varied_activity(rng: &mut Rng) -> Option<Activity> {
    if rng.chance(50) {
        return None;
    }
    if rng.chance(6) {
        return Some(Activity::default());
    }
    let mut field = |values: &[&str]| rng.chance(80).then(|| rng.pick(values).to_string());
    let op_type = field(OP_TYPES);
    let namespace = field(OP_NAMESPACES);
    let plan_summary = field(OP_PLAN_SUMMARIES);
    let started_at = match rng.below(100) {
        0..=14 => None,
        15..=27 => Some(OP_PIVOT),
        28..=30 => Some(Timestamp(OP_PIVOT.0 - 1)),
        31..=33 => Some(Timestamp(OP_PIVOT.0 + 1)),
        _ => {
            let secs = rng.below(1_800) as i64 - 900;
            Some(Timestamp(
                OP_PIVOT.0 + secs * 1_000_000_000 + rng.below(1_000_000_000) as i64,
            ))
        }
    };
    Some(Activity {
        operation: Some("query".into()),
        op_type,
        namespace,
        db: Some("shop".into()),
        plan_summary,
        description: Some("find ⟨x⟩".into()),
        started_at,
    })
}

/// Time-ordered ids, shared by a case's tasks.
#[derive(Default)]
pub struct Ids(Mutex<IdGen>);

impl Ids {
    pub fn next(&self) -> SessionId {
        let mut g = match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        g.next(T0).expect("random source")
    }
}

/// Redraws `s.id` from `ids` until the store accepts it for `s`
/// (`SessionStore::accepts_id`), as core's creation path does: for cases that insert
/// sessions with an external id directly. Ids stay time-ordered.
pub fn place(store: &dyn Store, ids: &Ids, s: &mut Session) {
    for _ in 0..1 << 16 {
        if store.accepts_id(&s.id, s) {
            return;
        }
        s.id = ids.next();
    }
    panic!(
        "the store accepted none of 65,536 ids for {:?}",
        s.external_id
    );
}

/// A token hash derived from the id, so a round trip can be checked.
pub fn hash_of(id: &SessionId) -> TokenHash {
    let mut h = [0u8; 32];
    for (i, b) in id.as_str().bytes().enumerate() {
        h[i % 32] ^= b.rotate_left(i as u32 % 8);
    }
    h[31] = 0xA5;
    h
}

/// A plain live session of `tenant`, opened and last active at `opened`.
pub fn session(id: SessionId, tenant: TenantId, opened: Timestamp) -> Session {
    Session {
        id,
        kind: SessionKind::Registered,
        owner: "svc".into(),
        external_id: None,
        tenant_id: tenant,
        service: "smb".into(),
        node_id: None,
        server_address: None,
        originator: None,
        user: User {
            domain: Domain::Local,
            name: Some("user".into()),
            auth_id: Some(5 << 32),
            ..User::default()
        },
        user_agent: None,
        locale: None,
        is_guest: false,
        is_encrypted: false,
        share_names: vec![],
        num_opens: 0,
        call_count: 0,
        activity: None,
        opened_at: opened,
        last_active_at: opened,
        idle_timeout: HumanDuration(Duration::from_secs(30 * 60)),
        absolute_timeout: HumanDuration(Duration::from_secs(24 * 3600)),
        state: SessionState::Active,
        ended_at: None,
        ended_by: None,
        end_reason: None,
        attributes: BTreeMap::new(),
    }
}

/// Inserts `s` with its deadline; panics with `what` on failure.
pub async fn insert(store: &dyn Store, s: &Session) {
    store
        .insert_session(s, &hash_of(&s.id), s.expires_at(), None)
        .await
        .unwrap_or_else(|e| panic!("insert_session {}: {e}", s.id));
}

pub fn end_info(state: SessionState, at: Timestamp, by: &str) -> EndInfo {
    EndInfo {
        state,
        at,
        by: by.into(),
        reason: Some(format!("{by} said so")),
    }
}

/// What a stored session looks like after `end`.
pub fn ended(mut s: Session, end: &EndInfo) -> Session {
    s.state = end.state;
    s.ended_at = Some(end.at);
    s.ended_by = Some(end.by.clone());
    s.end_reason = end.reason.clone();
    s
}

pub async fn get(store: &dyn Store, id: &SessionId) -> Session {
    store
        .get_session(id)
        .await
        .expect("get_session")
        .unwrap_or_else(|| panic!("session {id} is missing"))
}

pub async fn state_of(store: &dyn Store, id: &SessionId) -> SessionState {
    get(store, id).await.state
}

/// Walks every page of `filter` with pages of `limit`, checking the keyset invariants on the
/// way: ids strictly increase within and across pages, pages hold at most `limit` items, and
/// every `next` moves forward. A page may be short and still carry `next`.
pub async fn walk(store: &dyn Store, filter: &SessionFilter, limit: usize) -> Vec<Session> {
    let mut out: Vec<Session> = Vec::new();
    let mut after: Option<SessionId> = None;
    for _ in 0..100_000 {
        let page = store
            .list_sessions(&ListQuery {
                filter: filter.clone(),
                after: after.clone(),
                limit,
            })
            .await
            .unwrap_or_else(|e| panic!("list_sessions {filter:?}: {e}"));
        assert!(
            page.items.len() <= limit,
            "a page of limit {limit} held {} items",
            page.items.len()
        );
        for s in page.items {
            if let Some(prev) = out.last().map(|p| &p.id).or(after.as_ref()) {
                assert!(
                    s.id > *prev,
                    "ids must strictly increase: {} after {prev} ({filter:?}, limit {limit})",
                    s.id
                );
            }
            out.push(s);
        }
        match page.next {
            None => return out,
            Some(n) => {
                if let Some(a) = &after {
                    assert!(n > *a, "cursor {n} does not advance past {a} ({filter:?})");
                }
                after = Some(n);
            }
        }
    }
    panic!("the walk of {filter:?} did not end");
}

pub fn ids_of(sessions: &[Session]) -> Vec<SessionId> {
    sessions.iter().map(|s| s.id.clone()).collect()
}

pub const ADMIN_PASSWORD: &str = "conformance-admin-pw";

/// A registry over the store with a manual clock and a logged-in bootstrap admin.
pub struct Env {
    pub registry: Registry,
    pub clock: Arc<ManualClock>,
    pub admin: Caller,
}

impl Env {
    pub async fn new(store: Arc<dyn Store>) -> Env {
        let clock = Arc::new(ManualClock::at_default());
        let registry = Registry::new(
            store,
            clock.clone(),
            RegistryConfig::default(),
            ConfirmKey::random().expect("random source"),
        )
        .with_seal_key(sessiond_core::secretbox::SealKey::new([9; 32]));
        registry
            .bootstrap(Some(ADMIN_PASSWORD.into()))
            .await
            .expect("bootstrap");
        let admin = login(&registry, "admin", ADMIN_PASSWORD).await;
        Env {
            registry,
            clock,
            admin,
        }
    }

    pub fn store(&self) -> &dyn Store {
        self.registry.store().as_ref()
    }
}

/// Logs in and authenticates, returning the caller.
pub async fn login(registry: &Registry, name: &str, password: &str) -> Caller {
    let (_, token) = registry
        .login(
            name,
            password,
            LoginInfo {
                service: "sessiond".into(),
                ..LoginInfo::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("login {name}: {e}"));
    registry
        .authenticate(token.expose())
        .await
        .unwrap_or_else(|e| panic!("authenticate {name}: {e}"))
}
