//! Cases driven through core's `Registry` over the store: timeouts with a manual clock,
//! the three terminate modes, filter terminates with dry runs, confirm and limits, tenant
//! isolation between callers, and external-id uniqueness under concurrent registrations.

use crate::fixtures::{ids_of, login, Env, Ids};
use sessiond_core::filter::{SessionFilter, StateFilter, TenantScope};
use sessiond_core::registry::{BulkItem, BulkTerminate, EndScope, ItemOutcome, ListRequest};
use sessiond_core::rules::bulk::BulkMode;
use sessiond_core::token::Token;
use sessiond_core::wire::{CreatePrincipal, FilterParams, RegisterRequest, TerminateRequest};
use sessiond_core::{
    Caller, CoreError, Domain, HumanDuration, Role, Session, SessionState, Store, User,
};
use std::sync::Arc;
use std::time::Duration;

const MIN: Duration = Duration::from_secs(60);

fn request(name: &str, domain: Domain) -> RegisterRequest {
    RegisterRequest {
        service: "smb".into(),
        user: User {
            domain,
            name: Some(name.into()),
            ..User::default()
        },
        ..RegisterRequest::default()
    }
}

async fn register(env: &Env, caller: &Caller, req: RegisterRequest) -> (Session, Token) {
    env.registry
        .register(caller, req)
        .await
        .unwrap_or_else(|e| panic!("register: {e}"))
}

async fn state(env: &Env, id: &sessiond_core::SessionId) -> SessionState {
    env.registry
        .get(&env.admin, id)
        .await
        .expect("get session")
        .state
}

/// Idle and absolute timeouts with a manual clock: validate refuses an idle-expired session
/// before any sweep; validating postpones idle expiry; the sweeper ends sessions as
/// `expired` with `timeout:idle` / `timeout:absolute`; tombstones are purged after the
/// retention period.
pub async fn timeouts_with_manual_clock(store: Arc<dyn Store>) {
    let env = Env::new(store).await;
    let (r, admin, clock) = (&env.registry, &env.admin, &env.clock);
    let timed = |name: &str| RegisterRequest {
        idle_timeout: Some(HumanDuration(10 * MIN)),
        absolute_timeout: Some(HumanDuration(60 * MIN)),
        ..request(name, Domain::Local)
    };
    let (idle, idle_tok) = register(&env, admin, timed("idle-user")).await;
    let (busy, busy_tok) = register(&env, admin, timed("busy-user")).await;

    // t=9m and t=18m: both validated. At 18m the idle session is 18 minutes old but was
    // active 9 minutes ago, so validating postponed its idle expiry.
    for _ in 0..2 {
        clock.advance(9 * MIN);
        r.validate(admin, idle_tok.expose())
            .await
            .expect("validate idle-user");
        r.validate(admin, busy_tok.expose())
            .await
            .expect("validate busy-user");
    }
    clock.advance(9 * MIN);
    r.validate(admin, busy_tok.expose())
        .await
        .expect("validate busy at 27m");
    // t=28m: 10 minutes since idle-user's last activity. Refused before any sweep.
    clock.advance(MIN);
    match r.validate(admin, idle_tok.expose()).await {
        Err(CoreError::NotFound(_)) => {}
        other => panic!("an idle-expired session must not validate: {other:?}"),
    }
    assert_eq!(
        state(&env, &idle.id).await,
        SessionState::Active,
        "not swept yet"
    );
    let report = r.sweep().await.expect("sweep");
    assert!(report.expired_idle >= 1, "{report:?}");
    let s = r.get(admin, &idle.id).await.expect("get");
    assert_eq!(s.state, SessionState::Expired);
    assert_eq!(s.ended_by.as_deref(), Some("timeout:idle"));
    assert_eq!(state(&env, &busy.id).await, SessionState::Active);

    // Keep busy-user active (t=36, 45, 54m): it still ends at its absolute hour.
    for step in [8, 9, 9] {
        clock.advance(step * MIN);
        r.validate(admin, busy_tok.expose())
            .await
            .expect("validate busy");
        r.sweep().await.expect("sweep");
        assert_eq!(state(&env, &busy.id).await, SessionState::Active);
    }
    clock.advance(6 * MIN);
    assert!(
        r.validate(admin, busy_tok.expose()).await.is_err(),
        "past 1h"
    );
    let report = r.sweep().await.expect("sweep");
    assert!(report.expired_absolute >= 1, "{report:?}");
    let s = r.get(admin, &busy.id).await.expect("get");
    assert_eq!(s.state, SessionState::Expired);
    assert_eq!(s.ended_by.as_deref(), Some("timeout:absolute"));

    // Tombstones stay for the retention period (7 days), then the sweeper purges them.
    clock.advance(Duration::from_secs(6 * 24 * 3600));
    r.sweep().await.expect("sweep");
    assert!(env
        .store()
        .get_session(&idle.id)
        .await
        .expect("get")
        .is_some());
    clock.advance(Duration::from_secs(24 * 3600 + 60));
    let report = r.sweep().await.expect("sweep");
    assert!(report.purged >= 2, "{report:?}");
    for id in [&idle.id, &busy.id] {
        assert!(env.store().get_session(id).await.expect("get").is_none());
    }
}

/// A best-effort terminate of ids leaves exactly one audit record saying how many of the
/// listed ids it ended (in the ends' own durable step where the store can, after them
/// otherwise), and none when it ended nothing.
pub async fn bulk_terminate_is_audited_once(store: Arc<dyn Store>) {
    let env = Env::new(store.clone()).await;
    let (r, admin) = (&env.registry, &env.admin);
    let scope = EndScope::tenant(admin.scope());
    let mut ids = Vec::new();
    for i in 0..4 {
        let (s, _) = register(&env, admin, request(&format!("a{i}"), Domain::Local)).await;
        ids.push(s.id.to_string());
    }
    let bad = Ids::default().next().to_string();
    let terminations = || async {
        store
            .list_audit(&TenantScope::All, 100)
            .await
            .expect("audit")
            .into_iter()
            .filter(|a| a.action == "sessions.terminate")
            .map(|a| (a.target, a.detail))
            .collect::<Vec<_>>()
    };
    let scope = &scope;
    let terminate = |raw: Vec<String>| async move {
        r.terminate_ids(
            admin,
            &raw,
            BulkMode::BestEffort,
            Some("r".into()),
            scope,
            false,
        )
        .await
        .expect("terminate")
        .terminated
    };
    let three = vec![ids[0].clone(), ids[1].clone(), bad, ids[2].clone()];
    assert_eq!(terminate(three).await, 3);
    assert_eq!(
        terminations().await,
        vec![("3 of 4 ids".to_string(), Some("r".to_string()))]
    );
    // One of two already ended: the record counts the one this call ended.
    assert_eq!(terminate(vec![ids[0].clone(), ids[3].clone()]).await, 1);
    assert_eq!(terminations().await.len(), 2);
    assert_eq!(terminations().await[0].0, "1 of 2 ids");
    // Nothing ended, nothing recorded.
    assert_eq!(terminate(vec![ids[0].clone()]).await, 0);
    assert_eq!(terminations().await.len(), 2);
}

fn item(id: &str, outcome: ItemOutcome) -> BulkItem {
    BulkItem {
        id: id.to_string(),
        outcome,
    }
}

/// Five ids with an unknown one in the middle, in each mode.
pub async fn terminate_modes(store: Arc<dyn Store>) {
    let env = Env::new(store).await;
    let (r, admin) = (&env.registry, &env.admin);
    let bad = Ids::default().next().to_string();
    let scope = EndScope::tenant(admin.scope());
    for mode in [
        BulkMode::BestEffort,
        BulkMode::StopOnError,
        BulkMode::AllOrNothing,
    ] {
        let mut ids = Vec::new();
        for i in 0..4 {
            let (s, _) = register(&env, admin, request(&format!("u{i}"), Domain::Local)).await;
            ids.push(s.id);
        }
        let mut raw: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        raw.insert(2, bad.clone());
        let out = r
            .terminate_ids(admin, &raw, mode, Some("test".into()), &scope, false)
            .await
            .expect("terminate_ids");
        let (want, ended): (Vec<BulkItem>, [bool; 4]) = match mode {
            BulkMode::BestEffort => (
                vec![
                    item(&raw[0], ItemOutcome::Ended),
                    item(&raw[1], ItemOutcome::Ended),
                    item(&raw[2], ItemOutcome::NotFound),
                    item(&raw[3], ItemOutcome::Ended),
                    item(&raw[4], ItemOutcome::Ended),
                ],
                [true; 4],
            ),
            BulkMode::StopOnError => (
                vec![
                    item(&raw[0], ItemOutcome::Ended),
                    item(&raw[1], ItemOutcome::Ended),
                    item(&raw[2], ItemOutcome::NotFound),
                    item(&raw[3], ItemOutcome::NotAttempted),
                    item(&raw[4], ItemOutcome::NotAttempted),
                ],
                [true, true, false, false],
            ),
            BulkMode::AllOrNothing => (
                vec![
                    item(&raw[0], ItemOutcome::NotAttempted),
                    item(&raw[1], ItemOutcome::NotAttempted),
                    item(&raw[2], ItemOutcome::NotFound),
                    item(&raw[3], ItemOutcome::NotAttempted),
                    item(&raw[4], ItemOutcome::NotAttempted),
                ],
                [false; 4],
            ),
        };
        assert_eq!(out.items, want, "{mode:?}");
        assert_eq!(
            out.terminated,
            ended.iter().filter(|e| **e).count() as u64,
            "{mode:?}"
        );
        for (id, should_end) in ids.iter().zip(ended) {
            let st = state(&env, id).await;
            let want = if should_end {
                SessionState::Terminated
            } else {
                SessionState::Active
            };
            assert_eq!(st, want, "{mode:?}: session {id}");
        }
    }
}

/// vSphere's rule, kept in core: the caller's own login session is refused at its place in
/// a sequential list (earlier ones stay ended, later ones untouched), and refuses the whole
/// request in the other modes.
pub async fn refuse_own_session(store: Arc<dyn Store>) {
    let env = Env::new(store).await;
    let (r, admin) = (&env.registry, &env.admin);
    let scope = EndScope::tenant(admin.scope());
    let (a, _) = register(&env, admin, request("own-a", Domain::Local)).await;
    let (b, _) = register(&env, admin, request("own-b", Domain::Local)).await;
    let own_id = admin
        .session_id
        .clone()
        .expect("a login caller has a session");
    let own = own_id.to_string();
    let raw = vec![a.id.to_string(), own.clone(), b.id.to_string()];
    let out = r
        .terminate_ids(admin, &raw, BulkMode::BestEffort, None, &scope, true)
        .await
        .expect("terminate_ids");
    assert_eq!(
        out.terminated, 0,
        "best_effort with the own session ends nothing"
    );
    assert_eq!(out.items[1], item(&own, ItemOutcome::OwnSession));
    assert_eq!(state(&env, &a.id).await, SessionState::Active);
    let out = r
        .terminate_ids(admin, &raw, BulkMode::StopOnError, None, &scope, true)
        .await
        .expect("terminate_ids");
    assert_eq!(
        out.items,
        vec![
            item(&raw[0], ItemOutcome::Ended),
            item(&own, ItemOutcome::OwnSession),
            item(&raw[2], ItemOutcome::NotAttempted),
        ]
    );
    assert_eq!(state(&env, &a.id).await, SessionState::Terminated);
    assert_eq!(state(&env, &own_id).await, SessionState::Active);
    assert_eq!(state(&env, &b.id).await, SessionState::Active);
}

/// An id named twice in an all_or_nothing request (also in another letter case) is ended
/// once; the request does not fail on meeting itself already ended.
pub async fn all_or_nothing_with_repeated_ids(store: Arc<dyn Store>) {
    let env = Env::new(store).await;
    let (r, admin) = (&env.registry, &env.admin);
    let scope = EndScope::tenant(admin.scope());
    let (a, _) = register(&env, admin, request("rep-a", Domain::Local)).await;
    let (b, _) = register(&env, admin, request("rep-b", Domain::Local)).await;
    let raw = vec![
        a.id.to_string(),
        a.id.to_string().to_lowercase(),
        b.id.to_string(),
        a.id.to_string(),
    ];
    let out = r
        .terminate_ids(admin, &raw, BulkMode::AllOrNothing, None, &scope, false)
        .await
        .expect("terminate_ids");
    assert_eq!(out.terminated, 2);
    assert!(
        out.items.iter().all(|i| i.outcome.is_ok()),
        "{:?}",
        out.items
    );
    assert_eq!(out.items.len(), 4);
    assert_eq!(state(&env, &a.id).await, SessionState::Terminated);
    assert_eq!(state(&env, &b.id).await, SessionState::Terminated);
}

fn by_identity(identity: &str) -> FilterParams {
    FilterParams {
        identity: Some(identity.into()),
        ..FilterParams::default()
    }
}

async fn live_ids(env: &Env, identity: &str) -> Vec<sessiond_core::SessionId> {
    let mut out = Vec::new();
    let mut after: Option<sessiond_core::SessionId> = None;
    loop {
        let page = env
            .registry
            .list(
                &env.admin,
                &ListRequest {
                    filter: by_identity(identity),
                    limit: Some(1000),
                    after: after.clone(),
                },
            )
            .await
            .expect("list");
        out.extend(ids_of(&page.items));
        match page.next {
            None => return out,
            Some(n) => after = Some(n),
        }
    }
}

/// Filter terminates: a dry run counts and pins the set with `confirm`; sessions registered
/// after the preview survive the confirmed call; a confirm for another filter is refused; a
/// `limit` works through the set in calls that report `remaining` and `next`.
pub async fn terminate_bulk_by_filter(store: Arc<dyn Store>) {
    let env = Env::new(store).await;
    let (r, admin) = (&env.registry, &env.admin);
    for _ in 0..12 {
        register(&env, admin, request("dave", Domain::ActiveDirectory)).await;
    }
    register(&env, admin, request("dave", Domain::Local)).await;
    register(&env, admin, request("erin", Domain::ActiveDirectory)).await;
    let preview = r
        .terminate_bulk(
            admin,
            TerminateRequest {
                filter: Some(by_identity("ad:dave")),
                dry_run: true,
                ..TerminateRequest::default()
            },
        )
        .await
        .expect("dry run");
    let BulkTerminate::DryRun {
        would_terminate,
        items,
        confirm,
    } = preview
    else {
        panic!("a dry run answers with a preview: {preview:?}");
    };
    assert_eq!(would_terminate, 12);
    assert_eq!(items.len(), 12);
    let mut late = Vec::new();
    for _ in 0..3 {
        late.push(
            register(&env, admin, request("dave", Domain::ActiveDirectory))
                .await
                .0
                .id,
        );
    }
    // A confirm issued for another filter is refused.
    match r
        .terminate_bulk(
            admin,
            TerminateRequest {
                filter: Some(by_identity("ad:erin")),
                confirm: Some(confirm.clone()),
                ..TerminateRequest::default()
            },
        )
        .await
    {
        Err(CoreError::ConfirmMismatch) => {}
        other => panic!("a foreign confirm must be refused: {other:?}"),
    }
    let done = r
        .terminate_bulk(
            admin,
            TerminateRequest {
                filter: Some(by_identity("ad:dave")),
                confirm: Some(confirm),
                reason: Some("offboarding".into()),
                ..TerminateRequest::default()
            },
        )
        .await
        .expect("terminate");
    assert!(
        matches!(done, BulkTerminate::Filter { terminated: 12, .. }),
        "{done:?}"
    );
    assert_eq!(
        live_ids(&env, "ad:dave").await,
        late,
        "late sessions survive"
    );
    assert_eq!(live_ids(&env, "local:dave").await.len(), 1);

    // `limit`: 25 sessions in calls of 10.
    for _ in 0..25 {
        register(&env, admin, request("frank", Domain::ActiveDirectory)).await;
    }
    let mut after: Option<String> = None;
    let mut total = 0;
    let mut calls = 0;
    loop {
        calls += 1;
        assert!(calls <= 10, "the limited terminate does not finish");
        let resp = r
            .terminate_bulk(
                admin,
                TerminateRequest {
                    filter: Some(by_identity("ad:frank")),
                    limit: Some(10),
                    after: after.clone(),
                    ..TerminateRequest::default()
                },
            )
            .await
            .expect("terminate with limit");
        let BulkTerminate::Filter {
            terminated,
            remaining,
            next,
        } = resp
        else {
            panic!("a filter terminate answers with counts: {resp:?}");
        };
        total += terminated;
        assert_eq!(remaining, Some(25 - total), "remaining after {total}");
        match next {
            Some(n) => after = Some(n.to_string()),
            None => break,
        }
    }
    assert_eq!(total, 25);
    assert_eq!(calls, 3);
    assert!(live_ids(&env, "ad:frank").await.is_empty());
}

/// A non-admin caller of tenant B can neither read, list nor end tenant A's sessions; a
/// caller of tenant A can.
pub async fn tenant_isolation(store: Arc<dyn Store>) {
    let env = Env::new(store).await;
    let (r, admin) = (&env.registry, &env.admin);
    r.create_tenant(admin, "acme").await.expect("tenant");
    r.create_tenant(admin, "globex").await.expect("tenant");
    for (name, tenant, role) in [
        ("op-acme", "acme", Role::Operator),
        ("op-globex", "globex", Role::Operator),
        ("svc-globex", "globex", Role::Service),
    ] {
        r.create_principal(
            admin,
            CreatePrincipal {
                name: name.into(),
                password: "password-123".into(),
                role,
                tenant: Some(tenant.into()),
            },
        )
        .await
        .expect("principal");
    }
    let a = RegisterRequest {
        tenant: Some("acme".into()),
        ..request("alice", Domain::ActiveDirectory)
    };
    let (sa, tok_a) = register(&env, admin, a).await;
    let op_a = login(r, "op-acme", "password-123").await;
    let op_b = login(r, "op-globex", "password-123").await;
    let svc_b = login(r, "svc-globex", "password-123").await;

    match r.get(&op_b, &sa.id).await {
        Err(CoreError::NotFound(_)) => {}
        other => panic!("tenant B must not read A's session: {other:?}"),
    }
    let page = r.list(&op_b, &ListRequest::default()).await.expect("list");
    assert!(page.items.iter().all(|s| s.id != sa.id));
    let named = ListRequest {
        filter: FilterParams {
            tenant: Some("acme".into()),
            ..FilterParams::default()
        },
        ..ListRequest::default()
    };
    assert!(matches!(
        r.list(&op_b, &named).await,
        Err(CoreError::NotFound(_))
    ));
    let scope_b = EndScope::tenant(op_b.scope());
    let out = r
        .terminate_ids(
            &op_b,
            &[sa.id.to_string()],
            BulkMode::BestEffort,
            None,
            &scope_b,
            false,
        )
        .await
        .expect("terminate_ids");
    assert_eq!(out.items, vec![item(sa.id.as_str(), ItemOutcome::NotFound)]);
    assert!(matches!(
        r.terminate_one(&op_b, &sa.id, None, scope_b.clone()).await,
        Err(CoreError::NotFound(_))
    ));
    let by_filter = r
        .terminate_bulk(
            &op_b,
            TerminateRequest {
                filter: Some(by_identity("alice")),
                ..TerminateRequest::default()
            },
        )
        .await
        .expect("terminate by filter");
    assert!(
        matches!(by_filter, BulkTerminate::Filter { terminated: 0, .. }),
        "{by_filter:?}"
    );
    assert!(r.validate(&svc_b, tok_a.expose()).await.is_err());
    assert_eq!(state(&env, &sa.id).await, SessionState::Active);

    // Tenant A's own operator sees and ends it.
    let alice = ListRequest {
        filter: by_identity("alice"),
        ..ListRequest::default()
    };
    let page = r.list(&op_a, &alice).await.expect("list");
    assert_eq!(ids_of(&page.items), vec![sa.id.clone()]);
    let scope_a = EndScope::tenant(op_a.scope());
    let ended = r
        .terminate_one(&op_a, &sa.id, Some("bye".into()), scope_a)
        .await
        .expect("terminate_one");
    assert_eq!(ended.state, SessionState::Terminated);
    assert_eq!(ended.ended_by.as_deref(), Some("op-acme"));
}

/// Which sessions a call may end is core's rule (`EndScope`), applied before the store's
/// compare-and-set: a session outside the scope — another tenant, owner, service or kind —
/// is `NotFound` and stays live; an ended one outside it is `NotFound` too, not "ended".
pub async fn end_scopes(store: Arc<dyn Store>) {
    let env = Env::new(store).await;
    let (r, admin) = (&env.registry, &env.admin);
    let other_tenant = r.create_tenant(admin, "acme").await.expect("tenant").id;
    let mut sessions = Vec::new();
    for i in 0..6 {
        let (s, _) = register(&env, admin, request(&format!("scoped{i}"), Domain::Local)).await;
        sessions.push(s);
    }
    let all = EndScope::tenant(admin.scope());
    let scopes = [
        EndScope::tenant(sessiond_core::filter::TenantScope::One(other_tenant)),
        EndScope {
            owner: Some("someone-else".into()),
            ..all.clone()
        },
        EndScope::service(admin.scope(), "vsphere"),
        EndScope {
            kind: Some(sessiond_core::SessionKind::Login),
            ..all.clone()
        },
    ];
    for (s, scope) in sessions.iter().zip(&scopes) {
        let out = r
            .terminate_ids(
                admin,
                &[s.id.to_string()],
                BulkMode::BestEffort,
                None,
                scope,
                false,
            )
            .await
            .expect("terminate_ids");
        assert_eq!(
            out.items,
            vec![item(s.id.as_str(), ItemOutcome::NotFound)],
            "{scope:?}"
        );
        assert_eq!(state(&env, &s.id).await, SessionState::Active, "{scope:?}");
    }
    // In scope: ended; a second time: already ended; outside the scope: not found.
    let last = &sessions[5];
    let raw = [last.id.to_string()];
    let out = r
        .terminate_ids(admin, &raw, BulkMode::BestEffort, None, &all, false)
        .await
        .expect("terminate_ids");
    assert_eq!(out.terminated, 1);
    assert_eq!(out.ended.len(), 1);
    assert_eq!(out.ended[0].id, last.id);
    assert_eq!(out.ended[0].state, SessionState::Terminated);
    let out = r
        .terminate_ids(admin, &raw, BulkMode::BestEffort, None, &all, false)
        .await
        .expect("terminate_ids");
    assert_eq!(
        out.items,
        vec![item(
            &raw[0],
            ItemOutcome::AlreadyEnded(SessionState::Terminated)
        )]
    );
    let out = r
        .terminate_ids(admin, &raw, BulkMode::BestEffort, None, &scopes[0], false)
        .await
        .expect("terminate_ids");
    assert_eq!(out.items, vec![item(&raw[0], ItemOutcome::NotFound)]);
}

/// External-id uniqueness through the one creation path: of two concurrent registrations
/// with the same (service, node, external_id) exactly one succeeds and the other is
/// `Conflict`, leaving nothing behind; once the winner is terminated the external id can be
/// registered again. Ids stay time-ordered whatever the store makes core redraw.
pub async fn register_external_id_races(store: Arc<dyn Store>) {
    let env = Env::new(store).await;
    let (r, admin) = (&env.registry, &env.admin);
    let req = || RegisterRequest {
        service: "mongodb".into(),
        node_id: Some("node-1".into()),
        external_id: Some("conn-42".into()),
        ..request("racer", Domain::Local)
    };
    let live = SessionFilter {
        node_id: Some("node-1".into()),
        external_id: Some("conn-42".into()),
        ..SessionFilter::default()
    };
    let all = SessionFilter {
        state: StateFilter::All,
        ..live.clone()
    };
    let mut last: Option<sessiond_core::SessionId> = None;
    for round in 0..4u64 {
        let (a, b) = tokio::join!(r.register(admin, req()), r.register(admin, req()));
        let winner = match (a, b) {
            (Ok((s, _)), Err(CoreError::Conflict(_)))
            | (Err(CoreError::Conflict(_)), Ok((s, _))) => s,
            (a, b) => panic!(
                "round {round}: want one success and one Conflict, got {:?} and {:?}",
                a.map(|(s, _)| s.id),
                b.map(|(s, _)| s.id)
            ),
        };
        assert_eq!(winner.external_id.as_deref(), Some("conn-42"));
        if let Some(prev) = &last {
            assert!(winner.id > *prev, "ids must stay time-ordered");
        }
        let store = env.store();
        assert_eq!(store.count_sessions(&live).await.expect("count"), 1);
        assert_eq!(store.count_sessions(&all).await.expect("count"), round + 1);
        // Another node is another key: not refused.
        let (other, _) = register(
            &env,
            admin,
            RegisterRequest {
                node_id: Some(format!("node-other-{round}")),
                ..req()
            },
        )
        .await;
        assert_eq!(other.external_id.as_deref(), Some("conn-42"));
        // A third try while the winner lives is refused too.
        match r.register(admin, req()).await {
            Err(CoreError::Conflict(_)) => {}
            other => panic!("round {round}: a live external id must conflict: {other:?}"),
        }
        r.terminate_one(
            admin,
            &winner.id,
            Some("race over".into()),
            EndScope::tenant(admin.scope()),
        )
        .await
        .expect("terminate the winner");
        assert_eq!(store.count_sessions(&live).await.expect("count"), 0);
        last = Some(winner.id);
    }
    // Free again after the last end.
    let (s, _) = register(&env, admin, req()).await;
    assert_eq!(state(&env, &s.id).await, SessionState::Active);
}

/// A sweep asked to stop ends between batches (of 1,000) and reports what it ended; the
/// next pass ends the rest. A server stopping while a million sessions come due stops
/// promptly this way (issue 13).
pub async fn a_stopped_sweep_ends_between_batches(store: Arc<dyn Store>) {
    let env = Env::new(store).await;
    let (r, admin, clock) = (&env.registry, &env.admin, &env.clock);
    for i in 0..1500 {
        let req = RegisterRequest {
            idle_timeout: Some(HumanDuration(10 * MIN)),
            ..request(&format!("due{i}"), Domain::Local)
        };
        register(&env, admin, req).await;
    }
    clock.advance(11 * MIN);
    // The stop comes after the first batch: the check before the second one sees it.
    let checks = std::sync::atomic::AtomicUsize::new(0);
    let first = r
        .sweep_until(|| checks.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= 1)
        .await
        .expect("sweep until stopped");
    assert_eq!(
        first.expired_idle, 1000,
        "one batch, then the stop: {first:?}"
    );
    let rest = r.sweep().await.expect("sweep");
    assert_eq!(rest.expired_idle, 500, "{rest:?}");
}

/// Failed logins back off, and are forgotten an hour after the last one: the name (and the
/// address) start afresh, and the sweeper may drop the counters.
pub async fn login_failures_are_forgotten_after_an_hour(store: Arc<dyn Store>) {
    let env = Env::new(store).await;
    let (r, clock) = (&env.registry, &env.clock);
    let info = || sessiond_core::LoginInfo {
        service: "sessiond".into(),
        originator: Some("198.51.100.9".into()),
        user_agent: None,
        locale: None,
        via: "native",
    };
    let free = r.config().login_failures_before_backoff;
    for _ in 0..free {
        match r.login("admin", "wrong-password", info()).await {
            Err(CoreError::InvalidCredentials) => {}
            other => panic!("a wrong password: {other:?}"),
        }
    }
    match r
        .login("admin", crate::fixtures::ADMIN_PASSWORD, info())
        .await
    {
        Err(CoreError::RateLimited { .. }) => {}
        other => panic!("backing off: {other:?}"),
    }
    clock.advance(61 * MIN);
    r.sweep().await.expect("sweep");
    // An hour of quiet: the right password works at once.
    r.login("admin", crate::fixtures::ADMIN_PASSWORD, info())
        .await
        .expect("forgotten after an hour");
    // A new failure counts from one again, not from where the old count stopped.
    match r.login("admin", "wrong-password", info()).await {
        Err(CoreError::InvalidCredentials) => {}
        other => panic!("a wrong password: {other:?}"),
    }
    r.login("admin", crate::fixtures::ADMIN_PASSWORD, info())
        .await
        .expect("one failure does not back off");
}
