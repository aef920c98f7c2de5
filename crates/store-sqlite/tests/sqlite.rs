//! SQLite-specific behaviour: durability across reopen, idempotent migrations, online
//! backup, index use (EXPLAIN QUERY PLAN), group commit under a burst of single-id ends,
//! bounded scans that resume exactly, a 100,000-session filter terminate, and (ignored) the
//! statistics' time at a million sessions.

use sessiond_core::filter::{ListQuery, OriginatorFilter, SessionFilter, StateFilter, TenantScope};
use sessiond_core::identity::parse_identity;
use sessiond_core::registry::BulkTerminate;
use sessiond_core::store::{AuditStore, DirectoryStore, EndOutcome, SessionStore, Touch};
use sessiond_core::wire::{FilterParams, TerminateRequest};
use sessiond_core::{
    Activity, AuditRecord, Domain, Principal, Role, Session, SessionId, SessionState, Store,
    StoreError, User,
};
use sessiond_store_sqlite::{SqliteError, SqliteStore, MIGRATIONS};
use sessiond_store_tests::fixtures::{
    at, end_info, hash_of, insert, session, walk, Env, Ids, Rng, T0,
};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

fn open(path: &Path) -> Arc<SqliteStore> {
    Arc::new(SqliteStore::open(path).expect("open store"))
}

/// Every session of the store (any state), via the store's own list.
async fn everything(store: &dyn Store) -> Vec<Session> {
    let f = SessionFilter {
        state: StateFilter::All,
        ..SessionFilter::default()
    };
    walk(store, &f, 1000).await
}

#[tokio::test]
async fn reopen_finds_exactly_the_acknowledged_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.db");
    let ids = Ids::default();
    let (sessions, tenant) = {
        let store = open(&path);
        let tenant = store.create_tenant("acme").await.expect("tenant");
        let mut made = Vec::new();
        for i in 0..60 {
            let mut s = session(ids.next(), if i % 2 == 0 { 1 } else { tenant.id }, at(i));
            s.share_names = vec![format!("share-{}", i % 3)];
            insert(store.as_ref(), &s).await;
            made.push(s.id);
        }
        let b = store
            .end_if_active(
                &made[..20],
                &end_info(SessionState::Terminated, at(100), "op"),
                false,
            )
            .await
            .expect("end");
        assert!(b.outcomes.iter().all(|o| *o == EndOutcome::Ended));
        let touches: Vec<Touch> = made[20..40]
            .iter()
            .map(|id| Touch {
                id: id.clone(),
                at: at(500),
                calls: 2,
                expires_at: Some(at(900)),
            })
            .collect();
        store.apply_touches(&touches).await.expect("touches");
        store
            .create_principal(&Principal {
                name: "ops".into(),
                tenant_id: tenant.id,
                role: Role::Operator,
                password_hash: "$argon2id$x".into(),
                disabled: false,
                created_at: T0,
            })
            .await
            .expect("principal");
        store
            .append_audit(&[AuditRecord {
                at: at(1),
                actor: "admin".into(),
                tenant_id: 1,
                action: "sessions.terminate".into(),
                target: "20".into(),
                origin: None,
                detail: None,
            }])
            .await
            .expect("audit");
        (everything(store.as_ref()).await, tenant)
        // The store is dropped here: its writer finishes and stops.
    };
    assert_eq!(sessions.len(), 60);
    let store = open(&path);
    assert_eq!(everything(store.as_ref()).await, sessions);
    assert_eq!(
        store.tenant_by_name("acme").await.expect("tenant"),
        Some(tenant)
    );
    assert!(store.get_principal("ops").await.expect("get").is_some());
    assert_eq!(
        store
            .list_audit(&TenantScope::All, 10)
            .await
            .expect("audit")
            .len(),
        1
    );
    let due = store.due_for_expiry(at(900), 100).await.expect("due");
    assert_eq!(due.len(), 20, "touched deadlines survive the reopen");
}

#[tokio::test]
async fn an_open_write_transaction_does_not_block_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("r.db");
    let store = open(&path);
    let ids = Ids::default();
    let s = session(ids.next(), 1, T0);
    insert(store.as_ref(), &s).await;
    // Another connection holds the write lock with an uncommitted change. In WAL mode the
    // store's readers see the last committed state at once instead of waiting for the lock
    // (which would end in `Unavailable` after the busy timeout).
    let raw = rusqlite::Connection::open(&path).expect("raw");
    raw.execute_batch("BEGIN IMMEDIATE; UPDATE sessions SET num_opens = 99;")
        .expect("hold the write lock");
    let got = store
        .get_session(&s.id)
        .await
        .expect("read")
        .expect("present");
    assert_eq!(got.num_opens, 0, "uncommitted writes are invisible");
    let page = walk(store.as_ref(), &SessionFilter::default(), 10).await;
    assert_eq!(page.len(), 1);
    store.ping().await.expect("ping");
    raw.execute_batch("COMMIT").expect("commit");
    let got = store
        .get_session(&s.id)
        .await
        .expect("read")
        .expect("present");
    assert_eq!(got.num_opens, 99);
}

fn schema_of(path: &Path) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(path).expect("open raw");
    let mut stmt = conn
        .prepare("SELECT name, ifnull(sql, '') FROM sqlite_schema ORDER BY name")
        .expect("prepare");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[tokio::test]
async fn migrations_are_idempotent_and_versioned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.db");
    let first = {
        let store = open(&path);
        assert_eq!(
            store.schema_version().expect("version"),
            MIGRATIONS.len() as i64
        );
        schema_of(&path)
    };
    for _ in 0..2 {
        let store = open(&path);
        assert_eq!(
            store.schema_version().expect("version"),
            MIGRATIONS.len() as i64
        );
        let tenants = store.list_tenants().await.expect("tenants");
        assert_eq!(tenants.len(), 1, "default is created once: {tenants:?}");
        assert_eq!(tenants[0].name, "default");
    }
    assert_eq!(schema_of(&path), first);
    assert!(first.iter().any(|(n, _)| n == "sessions_by_name"));

    // A database from a newer sessiond is refused, not silently used.
    {
        let conn = rusqlite::Connection::open(&path).expect("raw");
        conn.pragma_update(None, "user_version", MIGRATIONS.len() as i64 + 1)
            .expect("bump");
    }
    match SqliteStore::open(&path) {
        Err(SqliteError::NewerSchema { .. }) => {}
        other => panic!("want NewerSchema, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_is_a_consistent_copy_taken_while_running() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir.path().join("live.db"));
    let ids = Arc::new(Ids::default());
    for i in 0..200 {
        insert(store.as_ref(), &session(ids.next(), 1, at(i))).await;
    }
    let before = everything(store.as_ref()).await;
    // Writes keep coming while the backup runs.
    let (bg_store, bg_ids) = (store.clone(), ids.clone());
    let writer = tokio::spawn(async move {
        for i in 0..200 {
            insert(bg_store.as_ref(), &session(bg_ids.next(), 1, at(1000 + i))).await;
        }
    });
    let dest = dir.path().join("copy.db");
    let (b_store, b_dest) = (store.clone(), dest.clone());
    tokio::task::spawn_blocking(move || b_store.backup_to(&b_dest))
        .await
        .expect("join")
        .expect("backup");
    writer.await.expect("writer");
    let copy = open(&dest);
    let copied = everything(copy.as_ref()).await;
    assert!(copied.len() >= before.len() && copied.len() <= 400);
    assert_eq!(&copied[..before.len()], &before[..]);
    // A snapshot: the copied sessions are a prefix (in id order) of what the store has now.
    let now = everything(store.as_ref()).await;
    assert_eq!(&now[..copied.len()], &copied[..]);
}

fn plan_uses(plan: &[String], index: &str) {
    assert!(
        plan.iter().any(|l| l.contains(index)),
        "plan should use {index}: {plan:?}"
    );
    for l in plan {
        let full_scan = l.starts_with("SCAN") && !l.contains("INDEX");
        assert!(!full_scan, "full table scan in {plan:?}");
    }
}

#[tokio::test]
async fn list_filters_are_answered_by_indexes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir.path().join("q.db"));
    let one = Some(TenantScope::One(1));
    let q = |f: SessionFilter| ListQuery {
        filter: f,
        after: Some(SessionId::min()),
        limit: 100,
    };
    let ident = |s: &str| parse_identity(s).expect("identity");
    let cases: Vec<(SessionFilter, &str, bool)> = vec![
        // (filter, index, ordered: no sort step needed)
        (
            SessionFilter {
                tenant: one.clone(),
                ..SessionFilter::default()
            },
            "sessions_by_tenant",
            true,
        ),
        (
            SessionFilter {
                tenant: one.clone(),
                identity: Some(ident("ad:alice")),
                ..SessionFilter::default()
            },
            "sessions_by_name",
            true,
        ),
        (
            SessionFilter {
                tenant: one.clone(),
                state: StateFilter::Ended,
                identity: Some(ident("S-1-5-21-1-2-3")),
                ..SessionFilter::default()
            },
            "sessions_by_sid",
            true,
        ),
        // Live and ended alike: the column indexes have no state in their key (migration
        // 6), so a tenant's list of every state by a column is in id order too.
        (
            SessionFilter {
                tenant: one.clone(),
                state: StateFilter::All,
                identity: Some(ident("ad:alice")),
                ..SessionFilter::default()
            },
            "sessions_by_name (user_name_folded=? AND tenant_id=? AND id>?)",
            true,
        ),
        (
            SessionFilter {
                tenant: one.clone(),
                identity: Some(ident("uid:5")),
                ..SessionFilter::default()
            },
            "sessions_by_uid",
            true,
        ),
        (
            SessionFilter {
                tenant: one.clone(),
                identity: Some(ident("auth_id:0x8000000000000001")),
                ..SessionFilter::default()
            },
            "sessions_by_auth_id",
            true,
        ),
        (
            SessionFilter {
                tenant: one.clone(),
                originator: OriginatorFilter::parse("10.1.2.3"),
                ..SessionFilter::default()
            },
            "sessions_by_ip",
            true,
        ),
        (
            SessionFilter {
                tenant: one.clone(),
                originator: OriginatorFilter::parse("10.1.0.0/16"),
                ..SessionFilter::default()
            },
            "sessions_by_ip",
            false,
        ),
        (
            SessionFilter {
                tenant: one.clone(),
                originator: OriginatorFilter::parse("laptop.example"),
                ..SessionFilter::default()
            },
            "sessions_by_host",
            true,
        ),
        (
            SessionFilter {
                tenant: one.clone(),
                share: Some("home".into()),
                ..SessionFilter::default()
            },
            "SEARCH x USING PRIMARY KEY (share=? AND tenant_id=? AND session_id>?)",
            true,
        ),
        (
            SessionFilter {
                tenant: one.clone(),
                service: Some("mongodb".into()),
                node_id: Some("node-1".into()),
                ..SessionFilter::default()
            },
            "sessions_by_node",
            true,
        ),
        (
            SessionFilter {
                tenant: one.clone(),
                service: Some("smb".into()),
                ..SessionFilter::default()
            },
            "sessions_by_service",
            true,
        ),
        (
            SessionFilter {
                tenant: one.clone(),
                external_id: Some("77".into()),
                ..SessionFilter::default()
            },
            "sessions_by_external_id",
            true,
        ),
        (
            SessionFilter {
                tenant: one.clone(),
                owner: Some("ops".into()),
                kind: Some(sessiond_core::SessionKind::Login),
                ..SessionFilter::default()
            },
            "sessions_by_owner",
            true,
        ),
        (
            SessionFilter {
                tenant: one.clone(),
                last_active_before: Some(at(10)),
                ..SessionFilter::default()
            },
            // No index holds last activity (migration 7): the tenant's id order, residual.
            "sessions_by_tenant",
            true,
        ),
        (
            SessionFilter {
                tenant: Some(TenantScope::All),
                identity: Some(ident("alice")),
                ..SessionFilter::default()
            },
            "sessions_by_name",
            false,
        ),
        (
            SessionFilter {
                tenant: Some(TenantScope::All),
                ..SessionFilter::default()
            },
            "sessions_pk",
            true,
        ),
        // A DDS node list of slow queries: the partial operation index, by tenant, node
        // and start time.
        (
            SessionFilter {
                tenant: one.clone(),
                service: Some("mongodb".into()),
                node_id: Some("node-1".into()),
                activity_type: Some("query".into()),
                activity_started_before: Some(at(10)),
                ..SessionFilter::default()
            },
            "sessions_by_operation (tenant_id=? AND node_id=? AND activity_started_at<?)",
            false,
        ),
        (
            SessionFilter {
                tenant: one.clone(),
                has_activity: Some(true),
                ..SessionFilter::default()
            },
            "sessions_by_operation (tenant_id=?)",
            false,
        ),
        // Idle sessions are not in the operation index: the node's id order, residual.
        (
            SessionFilter {
                tenant: one.clone(),
                service: Some("mongodb".into()),
                node_id: Some("node-1".into()),
                has_activity: Some(false),
                ..SessionFilter::default()
            },
            "sessions_by_node",
            true,
        ),
    ];
    for (f, index, ordered) in cases {
        let plan = store.explain_list(&q(f.clone())).await.expect("explain");
        plan_uses(&plan, index);
        if ordered {
            assert!(
                !plan.iter().any(|l| l.contains("TEMP B-TREE")),
                "{f:?} should need no sort: {plan:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_single_id_ends_gets_individual_results() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir.path().join("g.db"));
    let ids = Ids::default();
    let mut live = Vec::new();
    for i in 0..300 {
        let mut s = session(ids.next(), 1, at(i));
        s.external_id = Some(format!("x{i}"));
        live.push(s.clone());
    }
    store
        .insert_many(
            live.iter()
                .map(|s| (s.clone(), hash_of(&s.id), None))
                .collect(),
        )
        .await
        .expect("insert_many");
    let before = store
        .writer_stats()
        .requests
        .load(std::sync::atomic::Ordering::Relaxed);
    let groups_before = store
        .writer_stats()
        .groups
        .load(std::sync::atomic::Ordering::Relaxed);
    // Every live id once, the first 50 twice, 50 unknown ids, and 50 conflicting inserts:
    // all at once.
    let mut calls: Vec<SessionId> = live.iter().map(|s| s.id.clone()).collect();
    calls.extend(live[..50].iter().map(|s| s.id.clone()));
    let unknown: Vec<SessionId> = (0..50).map(|_| ids.next()).collect();
    calls.extend(unknown.iter().cloned());
    let mut tasks = Vec::new();
    for (n, id) in calls.into_iter().enumerate() {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let end = end_info(SessionState::Terminated, at(n as i64), "burst");
            let b = store
                .end_if_active(std::slice::from_ref(&id), &end, false)
                .await
                .expect("end_if_active");
            (id, b.outcomes)
        }));
    }
    let mut conflicts = Vec::new();
    for (i, s) in live.iter().take(50).enumerate() {
        let store = store.clone();
        // Same external id as a session that may or may not have ended yet: either a
        // conflict or a success, never an error that leaks into other requests.
        let mut dup = session(ids.next(), 1, at(i as i64));
        dup.external_id = s.external_id.clone();
        conflicts.push(tokio::spawn(async move {
            store
                .insert_session(&dup, &hash_of(&dup.id), None, None)
                .await
        }));
    }
    let mut ended: HashMap<SessionId, usize> = HashMap::new();
    for t in tasks {
        let (id, outcomes) = t.await.expect("task");
        assert_eq!(outcomes.len(), 1);
        match &outcomes[0] {
            EndOutcome::Ended => *ended.entry(id).or_default() += 1,
            EndOutcome::AlreadyEnded(SessionState::Terminated) => {
                assert!(live[..50].iter().any(|s| s.id == id), "{id} ended twice?");
            }
            EndOutcome::NotFound => assert!(unknown.contains(&id)),
            other => panic!("unexpected outcome {other:?} for {id}"),
        }
    }
    for s in &live {
        assert_eq!(ended.get(&s.id), Some(&1), "{} must end exactly once", s.id);
        let got = store
            .get_session(&s.id)
            .await
            .expect("get")
            .expect("present");
        assert_eq!(got.state, SessionState::Terminated);
    }
    for c in conflicts {
        match c.await.expect("task") {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => panic!("unexpected insert error {e}"),
        }
    }
    let stats = store.writer_stats();
    let requests = stats.requests.load(std::sync::atomic::Ordering::Relaxed) - before;
    let groups = stats.groups.load(std::sync::atomic::Ordering::Relaxed) - groups_before;
    eprintln!("{requests} write requests in {groups} transactions");
    assert_eq!(requests, 450);
    assert!(groups <= requests);
}

/// Sessions `0..n` of tenant 1; every `guest_every`-th is a guest, half are in 10.7.0.0/16.
fn bulk(ids: &Ids, n: usize, guest_every: usize, name: &str) -> Vec<Session> {
    let mut rng = Rng::new(n as u64);
    (0..n)
        .map(|i| {
            let mut s = session(ids.next(), 1, at(i as i64 / 1000));
            s.is_guest = i % guest_every == guest_every / 2;
            s.originator = Some(if rng.chance(50) {
                format!("10.7.{}.{}", rng.below(256), rng.below(256))
            } else {
                "192.168.0.1".to_string()
            });
            s.user = User {
                domain: Domain::ActiveDirectory,
                name: Some(name.into()),
                auth_id: Some(1),
                ..User::default()
            };
            s
        })
        .collect()
}

async fn load(store: &SqliteStore, sessions: &[Session]) {
    for chunk in sessions.chunks(10_000) {
        store
            .insert_many(
                chunk
                    .iter()
                    .map(|s| (s.clone(), hash_of(&s.id), s.expires_at()))
                    .collect(),
            )
            .await
            .expect("insert_many");
    }
}

#[tokio::test]
async fn bounded_scans_return_short_pages_that_resume_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir.path().join("b.db"));
    let ids = Ids::default();
    let sessions = bulk(&ids, 25_000, 1000, "scan");
    load(&store, &sessions).await;
    let guests = SessionFilter {
        tenant: Some(TenantScope::One(1)),
        is_guest: Some(true),
        ..SessionFilter::default()
    };
    let first = store
        .list_sessions(&ListQuery {
            filter: guests.clone(),
            after: None,
            limit: 20,
        })
        .await
        .expect("list");
    assert!(
        first.items.len() < 20 && first.next.is_some(),
        "a selective residual filter answers a short page with a cursor"
    );
    for (f, limit) in [
        (guests, 10),
        (
            SessionFilter {
                tenant: Some(TenantScope::All),
                originator: OriginatorFilter::parse("10.7.0.0/16"),
                ..SessionFilter::default()
            },
            1000,
        ),
    ] {
        let want: Vec<SessionId> = sessions
            .iter()
            .filter(|s| f.matches(s))
            .map(|s| s.id.clone())
            .collect();
        let got: Vec<SessionId> = walk(store.as_ref(), &f, limit)
            .await
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(got.len(), want.len(), "{f:?}");
        assert_eq!(got, want, "{f:?}");
        assert_eq!(
            store.count_sessions(&f).await.expect("count"),
            want.len() as u64
        );
    }
}

/// The identity index has no state in its key (migration 6): a list of one user's live
/// sessions walks past that user's tombstones, in short pages that still carry a cursor,
/// and finds exactly the live ones; the ended list finds exactly the tombstones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_lists_by_a_column_skip_its_tombstones_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir.path().join("t.db"));
    let ids = Ids::default();
    // 30,000 of alice's sessions, three scan budgets' worth; all but every 12,000th end.
    let mut sessions = bulk(&ids, 30_000, 1_000_000, "alice");
    load(&store, &sessions).await;
    let gone: Vec<SessionId> = sessions
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 12_000 != 11_999)
        .map(|(_, s)| s.id.clone())
        .collect();
    let end = end_info(SessionState::Terminated, at(100), "op");
    for chunk in gone.chunks(5_000) {
        store.end_if_active(chunk, &end, false).await.expect("end");
    }
    let gone: std::collections::HashSet<SessionId> = gone.into_iter().collect();
    for s in sessions.iter_mut().filter(|s| gone.contains(&s.id)) {
        *s = sessiond_store_tests::fixtures::ended(s.clone(), &end);
    }
    let by = |state| SessionFilter {
        tenant: Some(TenantScope::One(1)),
        state,
        identity: Some(parse_identity("alice").expect("identity")),
        ..SessionFilter::default()
    };
    let first = store
        .list_sessions(&ListQuery {
            filter: by(StateFilter::Active),
            after: None,
            limit: 100,
        })
        .await
        .expect("list");
    assert!(
        first.items.is_empty() && first.next.is_some(),
        "the first 12,000 rows hold no live one: {:?}",
        first.items.len()
    );
    for (state, n) in [(StateFilter::Active, 2), (StateFilter::Ended, 30_000 - 2)] {
        let f = by(state);
        let want: Vec<SessionId> = sessions
            .iter()
            .filter(|s| f.matches(s))
            .map(|s| s.id.clone())
            .collect();
        assert_eq!(want.len(), n);
        let got: Vec<SessionId> = walk(store.as_ref(), &f, 100)
            .await
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(got, want, "{state:?}");
        assert_eq!(store.count_sessions(&f).await.expect("count"), n as u64);
        assert_eq!(
            store.max_matching_id(&f).await.expect("max").as_ref(),
            want.last()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_terminate_of_100k_sessions_ends_them_all() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir.path().join("big.db"));
    let ids = Ids::default();
    let targets = bulk(&ids, 100_000, 1_000_000, "leaver");
    load(&store, &targets).await;
    let bystanders = bulk(&ids, 100, 1_000_000, "stayer");
    load(&store, &bystanders).await;
    let env = Env::new(store.clone()).await;
    let resp = env
        .registry
        .terminate_bulk(
            &env.admin,
            TerminateRequest {
                filter: Some(FilterParams {
                    identity: Some("ad:leaver".into()),
                    ..FilterParams::default()
                }),
                reason: Some("offboarding".into()),
                ..TerminateRequest::default()
            },
        )
        .await
        .expect("terminate_bulk");
    assert!(
        matches!(
            resp,
            BulkTerminate::Filter {
                terminated: 100_000,
                ..
            }
        ),
        "{resp:?}"
    );
    let leaver = SessionFilter {
        tenant: Some(TenantScope::One(1)),
        identity: Some(parse_identity("ad:leaver").expect("identity")),
        ..SessionFilter::default()
    };
    assert_eq!(store.count_sessions(&leaver).await.expect("count"), 0);
    let ended = SessionFilter {
        state: StateFilter::Ended,
        ..leaver
    };
    assert_eq!(store.count_sessions(&ended).await.expect("count"), 100_000);
    let stayer = SessionFilter {
        tenant: Some(TenantScope::One(1)),
        identity: Some(parse_identity("stayer").expect("identity")),
        ..SessionFilter::default()
    };
    assert_eq!(store.count_sessions(&stayer).await.expect("count"), 100);
    let sample = store
        .get_session(&targets[54_321].id)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(sample.state, SessionState::Terminated);
    assert_eq!(sample.ended_by.as_deref(), Some("admin"));
    assert_eq!(sample.end_reason.as_deref(), Some("offboarding"));
}

/// `n` live `mongodb` sessions of tenant 1 on `node`; every `op_every`-th runs a query (of a
/// type from `types`, started `i` seconds after T0), the others are idle.
fn mongodb(ids: &Ids, n: usize, node: &str, op_every: usize, types: &[&str]) -> Vec<Session> {
    (0..n)
        .map(|i| {
            let mut s = session(ids.next(), 1, at(0));
            s.service = "mongodb".into();
            s.node_id = Some(node.into());
            if i % op_every == 0 {
                s.activity = Some(Activity {
                    op_type: Some(types[i / op_every % types.len()].into()),
                    namespace: Some("shop.orders".into()),
                    started_at: Some(at(i as i64)),
                    ..Activity::default()
                });
            }
            s
        })
        .collect()
}

/// A node's `mongodb` list with an operation filter (the DDS query) is answered by the
/// operation index when the node has few operations in progress, and still exactly (in the
/// node's id order, residual conditions) when the tenant has too many for that range to be
/// narrow.
#[tokio::test]
async fn operation_filters_use_the_operation_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir.path().join("ops.db"));
    let ids = Ids::default();
    // node-1: 3,000 connections, 30 of them running an operation; node-2: 2,500 busy ones.
    let mut sessions = mongodb(&ids, 3_000, "node-1", 100, &["query", "update", "command"]);
    load(&store, &sessions).await;
    let dds = |node: &str| SessionFilter {
        tenant: Some(TenantScope::One(1)),
        service: Some("mongodb".into()),
        node_id: Some(node.into()),
        has_activity: Some(true),
        activity_type: Some("query".into()),
        activity_started_before: Some(at(2_000)),
        ..SessionFilter::default()
    };
    let check = |sessions: Vec<Session>, f: SessionFilter, index: &'static str| {
        let store = store.clone();
        async move {
            let q = ListQuery {
                filter: f.clone(),
                after: None,
                limit: 10,
            };
            let plan = store.explain_list(&q).await.expect("explain");
            eprintln!("{f:?}:\n  {}", plan.join("\n  "));
            plan_uses(&plan, index);
            let want: Vec<SessionId> = sessions
                .iter()
                .filter(|s| f.matches(s))
                .map(|s| s.id.clone())
                .collect();
            let got: Vec<SessionId> = walk(store.as_ref(), &f, 3)
                .await
                .into_iter()
                .map(|s| s.id)
                .collect();
            assert_eq!(got, want, "{f:?}");
            let count = store.count_sessions(&f).await.expect("count");
            assert_eq!(count, want.len() as u64, "count of {f:?}");
            let max = store.max_matching_id(&f).await.expect("max");
            assert_eq!(max.as_ref(), want.last(), "max of {f:?}");
            want.len()
        }
    };
    let n = check(
        sessions.clone(),
        dds("node-1"),
        "sessions_by_operation (tenant_id=? AND node_id=? AND activity_started_at<?)",
    )
    .await;
    assert_eq!(n, 7, "queries started at 0, 300, …, 1800 s");

    let busy = mongodb(&ids, 2_500, "node-2", 1, &["query"]);
    load(&store, &busy).await;
    sessions.extend(busy);
    // node-1's range is still narrow; the tenant's operations without a node are not.
    check(
        sessions.clone(),
        dds("node-1"),
        "sessions_by_operation (tenant_id=? AND node_id=? AND activity_started_at<?)",
    )
    .await;
    let n = check(sessions.clone(), dds("node-2"), "sessions_by_node").await;
    assert_eq!(n, 2_000, "node-2's queries started before 2,000 s");
    let tenant_wide = SessionFilter {
        node_id: None,
        activity_started_before: None,
        ..dds("node-1")
    };
    let n = check(sessions.clone(), tenant_wide, "sessions_by_service").await;
    assert_eq!(n, 10 + 2_500);
}

/// Migration 7 moves live sessions' activity into `session_activity`: a file left by
/// schema 6 (activity in the session rows, a last-activity index) reads exactly the same
/// after it, and touches, ends and the sweep work on the migrated rows.
#[tokio::test]
async fn migration_7_moves_activity_out_of_the_session_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("six.db");
    let ids = Ids::default();
    let touch = |id: &SessionId, secs: i64, calls: u64, exp: i64| Touch {
        id: id.clone(),
        at: at(secs),
        calls,
        expires_at: Some(at(exp)),
    };
    let (before, made) = {
        let store = open(&path);
        let mut made = Vec::new();
        for i in 0..30 {
            let s = session(ids.next(), 1, at(i));
            insert(store.as_ref(), &s).await;
            made.push(s.id);
        }
        let touches: Vec<Touch> = made[10..].iter().map(|id| touch(id, 500, 3, 900)).collect();
        store.apply_touches(&touches).await.expect("touch");
        // Ended before the touches (5..10) and after them (10..15).
        store
            .end_if_active(
                &made[5..15],
                &end_info(SessionState::Terminated, at(600), "op"),
                false,
            )
            .await
            .expect("end");
        (everything(store.as_ref()).await, made)
    };
    assert_eq!(
        before.iter().filter(|s| s.call_count == 3).count(),
        20,
        "an end keeps the touched call count"
    );
    {
        // Back to schema 6: activity in the live rows, the table and its trigger gone.
        let conn = rusqlite::Connection::open(&path).expect("raw");
        conn.execute_batch(
            "UPDATE sessions SET last_active_at = a.last_active_at, call_count = a.call_count,
                 expires_at = a.expires_at
             FROM session_activity a WHERE a.id = sessions.id;
             DROP TABLE session_activity;
             CREATE INDEX sessions_by_last_active ON sessions (last_active_at) WHERE live = 1;
             DROP TABLE events;
             DROP TABLE sink_attempts;
             DROP TABLE sinks;
             PRAGMA user_version = 6;",
        )
        .expect("downgrade");
    }
    let store = open(&path);
    assert_eq!(
        store.schema_version().expect("version"),
        MIGRATIONS.len() as i64
    );
    assert_eq!(everything(store.as_ref()).await, before);
    let due = |n| {
        let store = store.clone();
        async move { store.due_for_expiry(at(n), 100).await.expect("due").len() }
    };
    assert_eq!(due(899).await, 0);
    assert_eq!(due(900).await, 15, "the migrated live touched sessions");
    // A touch of a migrated row moves its exact deadline; the bound it left behind is
    // moved by the sweep's read instead of being reported.
    store
        .apply_touches(&[touch(&made[20], 800, 1, 1500)])
        .await
        .expect("touch");
    assert_eq!(due(900).await, 14);
    assert_eq!(due(1500).await, 15);
    store
        .end_if_active(
            &made[20..21],
            &end_info(SessionState::Closed, at(850), "svc"),
            false,
        )
        .await
        .expect("end");
    let ended = store
        .get_session(&made[20])
        .await
        .expect("get")
        .expect("kept");
    assert_eq!(
        (ended.state, ended.last_active_at, ended.call_count),
        (SessionState::Closed, at(800), 4)
    );
    // Ended sessions take no touch.
    store
        .apply_touches(&[touch(&made[20], 900, 1, 2000)])
        .await
        .expect("touch");
    let ended = store
        .get_session(&made[20])
        .await
        .expect("get")
        .expect("kept");
    assert_eq!((ended.last_active_at, ended.call_count), (at(800), 4));
}

/// SQLite appends an end's audit record in the end's own transaction (one fsync for a
/// Qumulo close of 100, not two) whenever the count holds.
#[tokio::test]
async fn an_end_and_its_audit_record_are_one_transaction() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir.path().join("audit.db"));
    let ids = Ids::default();
    let live: Vec<Session> = (0..3).map(|i| session(ids.next(), 1, at(i))).collect();
    for s in &live {
        insert(store.as_ref(), s).await;
    }
    let record = AuditRecord {
        at: at(9),
        actor: "ops".into(),
        tenant_id: 1,
        action: "sessions.terminate".into(),
        target: "3 of 3 ids".into(),
        origin: None,
        detail: None,
    };
    let all: Vec<SessionId> = live.iter().map(|s| s.id.clone()).collect();
    let (b, audited) = store
        .end_if_active_audited(
            &all,
            &end_info(SessionState::Terminated, at(9), "ops"),
            false,
            &record,
            3,
        )
        .await
        .expect("end");
    assert!(b.committed && audited);
    assert_eq!(
        store
            .list_audit(&TenantScope::All, 10)
            .await
            .expect("audit"),
        vec![record]
    );
}

/// Touches move only the exact deadline; the sweep's read moves the indexed bounds that came
/// due early, a writer transaction of at most 4,096 at a time, and keeps going until none is
/// left: 5,000 early bounds in front of one due session, and one call finds exactly it.
#[tokio::test]
async fn the_sweep_moves_every_early_bound_and_finds_the_due_session_behind_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("early.db");
    let store = open(&path);
    let ids = Ids::default();
    let early: Vec<Session> = (0..5000).map(|_| session(ids.next(), 1, at(0))).collect();
    store
        .insert_many(
            early
                .iter()
                .map(|s| (s.clone(), hash_of(&s.id), Some(at(100))))
                .collect(),
        )
        .await
        .expect("insert");
    let due_one = session(ids.next(), 1, at(0));
    store
        .insert_session(&due_one, &hash_of(&due_one.id), Some(at(500)), None)
        .await
        .expect("insert");
    let touches: Vec<Touch> = early
        .iter()
        .map(|s| Touch {
            id: s.id.clone(),
            at: at(50),
            calls: 1,
            expires_at: Some(at(1000)),
        })
        .collect();
    store.apply_touches(&touches).await.expect("touch");
    let bounds_at_or_before = |t: i64| -> i64 {
        let conn = rusqlite::Connection::open(&path).expect("raw");
        conn.query_row(
            "SELECT count(*) FROM sessions WHERE live = 1 AND expires_at <= ?1",
            [at(t).nanos()],
            |r| r.get(0),
        )
        .expect("count")
    };
    assert_eq!(bounds_at_or_before(600), 5001, "touches leave the bounds");
    let due = store.due_for_expiry(at(600), 10).await.expect("due");
    assert_eq!(
        due.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
        vec![due_one.id.clone()]
    );
    assert_eq!(bounds_at_or_before(600), 1, "every early bound was moved");
    assert_eq!(bounds_at_or_before(1000), 5001, "to the exact deadline");
    assert_eq!(
        store
            .due_for_expiry(at(1000), 10_000)
            .await
            .expect("due")
            .len(),
        5001
    );
}

/// A database written before migration 3 gets the operation columns and index on upgrade,
/// computed for the rows it already holds.
#[tokio::test]
async fn migration_3_covers_existing_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.db");
    let ids = Ids::default();
    let sessions = mongodb(&ids, 40, "node-1", 4, &["query", "Query"]);
    {
        let store = open(&path);
        load(&store, &sessions).await;
    }
    {
        // Back to schema 2 with the rows kept: what an older sessiond left behind.
        let conn = rusqlite::Connection::open(&path).expect("raw");
        conn.execute_batch(
            "DROP INDEX sessions_by_operation;
             ALTER TABLE sessions DROP COLUMN activity_type;
             ALTER TABLE sessions DROP COLUMN activity_namespace;
             ALTER TABLE sessions DROP COLUMN activity_plan_summary;
             ALTER TABLE sessions DROP COLUMN activity_started_at;
             DROP TABLE login_failures;
             ALTER TABLE sessions DROP COLUMN user_realm;
             DROP TABLE session_activity;
             CREATE INDEX sessions_by_last_active ON sessions (last_active_at) WHERE live = 1;
             DROP TABLE events;
             DROP TABLE sink_attempts;
             DROP TABLE sinks;
             PRAGMA user_version = 2;",
        )
        .expect("downgrade");
    }
    let store = open(&path);
    assert_eq!(
        store.schema_version().expect("version"),
        sessiond_store_sqlite::MIGRATIONS.len() as i64
    );
    let f = SessionFilter {
        tenant: Some(TenantScope::One(1)),
        node_id: Some("node-1".into()),
        activity_type: Some("query".into()),
        activity_started_before: Some(at(30)),
        ..SessionFilter::default()
    };
    let plan = store
        .explain_list(&ListQuery {
            filter: f.clone(),
            after: None,
            limit: 10,
        })
        .await
        .expect("explain");
    plan_uses(&plan, "sessions_by_operation");
    let want: Vec<SessionId> = sessions
        .iter()
        .filter(|s| f.matches(s))
        .map(|s| s.id.clone())
        .collect();
    assert_eq!(want.len(), 4, "`query` (not `Query`) at 0, 8, 16 and 24 s");
    let got: Vec<SessionId> = walk(store.as_ref(), &f, 10)
        .await
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(got, want);
    // Rows written before migration 5 read back whole, without a realm.
    for s in &sessions {
        let back = store.get_session(&s.id).await.expect("get").expect("kept");
        assert_eq!(&back, s);
        assert_eq!(back.user.realm, None);
    }
}

/// The statistics read live sessions through `sessions_by_opened` (all tenants) or
/// `sessions_by_tenant` (one), and ends through `sessions_by_ended`: no full table scan.
#[tokio::test]
async fn stats_queries_use_the_live_and_ended_indexes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir.path().join("s.db"));
    let all = store
        .explain_stats(&TenantScope::All)
        .await
        .expect("explain");
    plan_uses(&all, "sessions_by_opened");
    plan_uses(&all, "sessions_by_ended");
    let one = store
        .explain_stats(&TenantScope::One(2))
        .await
        .expect("explain");
    plan_uses(&one, "sessions_by_tenant");
    plan_uses(&one, "sessions_by_ended");
}

#[tokio::test]
async fn stale_login_failure_counters_are_purged_in_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir.path().join("t.db"));
    let t = sessiond_core::Timestamp(1_796_000_000_000_000_000);
    for i in 0..5 {
        store
            .record_login_failure(&format!("made-up-{i}"), t)
            .await
            .expect("record");
    }
    let later = sessiond_core::Timestamp(t.0 + 1);
    store
        .record_login_failure("recent", later)
        .await
        .expect("record");
    assert_eq!(
        store.purge_login_failures(later, 3).await.expect("purge"),
        3
    );
    assert_eq!(
        store.purge_login_failures(later, 3).await.expect("purge"),
        2
    );
    assert_eq!(
        store.purge_login_failures(later, 3).await.expect("purge"),
        0
    );
    for i in 0..5 {
        assert!(store
            .login_failures(&format!("made-up-{i}"))
            .await
            .expect("read")
            .is_none());
    }
    assert_eq!(
        store
            .login_failures("recent")
            .await
            .expect("read")
            .map(|f| f.count),
        Some(1),
        "a counter at or after the bound stays"
    );
}
