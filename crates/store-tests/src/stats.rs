//! Session statistics (`SessionStore::session_stats`, `Registry::session_stats`): live counts
//! per tenant and service, hourly opened/ended counts from a given hour on, tenant scope, and
//! every end counted once whatever path or race ended it.

use crate::fixtures::{at, end_info, hash_of, insert, login, session, Env, Ids};
use sessiond_core::filter::{SessionFilter, TenantScope};
use sessiond_core::registry::{EndScope, STATS_WINDOW};
use sessiond_core::rules::bulk::BulkMode;
use sessiond_core::stats::{hour_of, SessionStats, StatsBuilder};
use sessiond_core::store::EndOutcome;
use sessiond_core::wire::{CreatePrincipal, RegisterRequest};
use sessiond_core::{
    Clock, CoreError, Domain, HumanDuration, Role, Session, SessionState, Store, StoreError,
    TenantId, User, DEFAULT_TENANT_ID,
};
use std::sync::Arc;
use std::time::Duration;

const MIN: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

async fn stats(store: &dyn Store, scope: TenantScope, since_hour: i64) -> SessionStats {
    store
        .session_stats(&scope, since_hour)
        .await
        .unwrap_or_else(|e| panic!("session_stats {scope:?} since {since_hour}: {e}"))
}

/// `s` with only the counts of `tenant`.
fn only(s: &SessionStats, tenant: TenantId) -> SessionStats {
    SessionStats {
        since_hour: s.since_hour,
        live: s
            .live
            .iter()
            .filter(|c| c.tenant_id == tenant)
            .cloned()
            .collect(),
        hourly: s
            .hourly
            .iter()
            .filter(|c| c.tenant_id == tenant)
            .cloned()
            .collect(),
    }
}

/// Through the registry on a manual clock: sessions of two tenants and two services opened
/// eight days ago and now, ended by close, terminate (one and a bulk of two tenants) and the
/// sweeper's expiry. Live counts are what `count_sessions` counts; the hours before `since`
/// are left out (a session opened then and ended since counts as ended only); each tenant
/// scope sees its tenant only; the registry applies the session list's tenant rule.
pub async fn session_stats_by_tenant_service_and_hour(store: Arc<dyn Store>) {
    let env = Env::new(store).await;
    let (r, admin, clock) = (&env.registry, &env.admin, &env.clock);
    let acme = r.create_tenant(admin, "acme").await.expect("tenant").id;
    let globex = r.create_tenant(admin, "globex").await.expect("tenant").id;
    let forever = |tenant: &str, service: &str, idle: Duration| RegisterRequest {
        tenant: Some(tenant.into()),
        service: service.into(),
        user: User {
            domain: Domain::Local,
            name: Some(format!("{tenant}-{service}")),
            ..User::default()
        },
        idle_timeout: Some(HumanDuration(idle)),
        absolute_timeout: Some(HumanDuration(Duration::ZERO)),
        ..RegisterRequest::default()
    };
    let open = |tenant: &'static str, service: &'static str, idle: Duration| {
        let req = forever(tenant, service, idle);
        async move {
            r.register(admin, req)
                .await
                .unwrap_or_else(|e| panic!("register {tenant}/{service}: {e}"))
                .0
        }
    };
    let none = Duration::ZERO;
    let h0 = hour_of(clock.now());

    // Eight days ago (hour h0): two acme sessions, and the admin's login session (Env).
    clock.advance(10 * MIN);
    let old_live = open("acme", "smb", none).await;
    let old_ended = open("acme", "nfs", none).await;

    // Hour hn, eight days later: six sessions; the old nfs one is closed.
    clock.advance(Duration::from_secs(8 * 24 * 3600) - 5 * MIN);
    let hn = hour_of(clock.now());
    assert_eq!(hn, h0 + 192);
    let a1 = open("acme", "smb", none).await;
    let a2 = open("acme", "smb", none).await;
    let a3 = open("acme", "nfs", none).await;
    let g1 = open("globex", "smb", none).await;
    let g2 = open("globex", "nfs", none).await;
    let g3 = open("globex", "smb", 10 * MIN).await;
    r.close(admin, &old_ended.id).await.expect("close");

    // From h0 on, the openings eight days ago count too (the store still has them).
    let mut want = StatsBuilder::default();
    want.live(acme, "smb", 3);
    want.live(acme, "nfs", 1);
    want.live(globex, "smb", 2);
    want.live(globex, "nfs", 1);
    want.live(DEFAULT_TENANT_ID, "sessiond", 1);
    want.opened(DEFAULT_TENANT_ID, "sessiond", h0, 1);
    want.opened(acme, "smb", h0, 1);
    want.opened(acme, "nfs", h0, 1);
    want.opened(acme, "smb", hn, 2);
    want.opened(acme, "nfs", hn, 1);
    want.opened(globex, "smb", hn, 2);
    want.opened(globex, "nfs", hn, 1);
    want.ended(acme, "nfs", hn, 1);
    assert_eq!(
        stats(env.store(), TenantScope::All, h0).await,
        want.build(h0),
        "from h0"
    );

    // Hour hn + 1: three more sessions; a terminate, a bulk terminate across both tenants,
    // a close, and a sweep that expires g3 and the admin's idle login session.
    clock.advance(HOUR);
    let a4 = open("acme", "smb", none).await;
    let g4 = open("globex", "smb", none).await;
    let g5 = open("globex", "nfs", none).await;
    let scope = EndScope::tenant(admin.scope());
    r.terminate_one(admin, &a2.id, Some("stats".into()), scope.clone())
        .await
        .expect("terminate");
    let bulk = r
        .terminate_ids(
            admin,
            &[a3.id.to_string(), g1.id.to_string()],
            BulkMode::BestEffort,
            None,
            &scope,
            false,
        )
        .await
        .expect("terminate_ids");
    assert_eq!(bulk.terminated, 2);
    r.close(admin, &g2.id).await.expect("close");
    let swept = r.sweep().await.expect("sweep");
    assert_eq!(swept.expired_idle + swept.expired_absolute, 2, "{swept:?}");
    for (s, state) in [
        (&old_live, SessionState::Active),
        (&a1, SessionState::Active),
        (&a4, SessionState::Active),
        (&g4, SessionState::Active),
        (&g5, SessionState::Active),
        (&g3, SessionState::Expired),
    ] {
        let got = r.get(admin, &s.id).await.expect("get").state;
        assert_eq!(got, state, "{}", s.id);
    }

    let since = hour_of(clock.now().minus(STATS_WINDOW));
    assert_eq!(since, hn + 1 - 168);
    let mut want = StatsBuilder::default();
    want.live(acme, "smb", 3);
    want.live(globex, "smb", 1);
    want.live(globex, "nfs", 1);
    want.opened(acme, "smb", hn, 2);
    want.opened(acme, "nfs", hn, 1);
    want.opened(globex, "smb", hn, 2);
    want.opened(globex, "nfs", hn, 1);
    want.ended(acme, "nfs", hn, 1);
    want.opened(acme, "smb", hn + 1, 1);
    want.opened(globex, "smb", hn + 1, 1);
    want.opened(globex, "nfs", hn + 1, 1);
    want.ended(acme, "smb", hn + 1, 1);
    want.ended(acme, "nfs", hn + 1, 1);
    want.ended(globex, "smb", hn + 1, 2);
    want.ended(globex, "nfs", hn + 1, 1);
    want.ended(DEFAULT_TENANT_ID, "sessiond", hn + 1, 1);
    let want = want.build(since);
    let all = stats(env.store(), TenantScope::All, since).await;
    assert_eq!(all, want, "all tenants");

    // Live means what the session list counts by default (state active).
    for t in [DEFAULT_TENANT_ID, acme, globex] {
        let listed = env
            .store()
            .count_sessions(&SessionFilter {
                tenant: Some(TenantScope::One(t)),
                ..SessionFilter::default()
            })
            .await
            .expect("count");
        let counted: u64 = all
            .live
            .iter()
            .filter(|c| c.tenant_id == t)
            .map(|c| c.count)
            .sum();
        assert_eq!(counted, listed, "tenant {t}");
    }

    // One tenant's scope sees that tenant only.
    for t in [DEFAULT_TENANT_ID, acme, globex] {
        let one = stats(env.store(), TenantScope::One(t), since).await;
        assert_eq!(one, only(&want, t), "tenant {t}");
    }
    // A later start leaves the earlier hours out.
    let later = stats(env.store(), TenantScope::All, hn + 1).await;
    assert!(later.hourly.iter().all(|c| c.hour == hn + 1), "{later:?}");
    assert_eq!(later.live, want.live);

    // The registry: since = seven days before now, from the start of that hour; the scope
    // is the session list's.
    let got = r.session_stats(admin, Some("*")).await.expect("stats *");
    assert_eq!(got, want, "a global admin with tenant=*");
    let got = r.session_stats(admin, None).await.expect("stats");
    assert_eq!(got, only(&want, DEFAULT_TENANT_ID), "a global admin's own");
    let got = r.session_stats(admin, Some("acme")).await.expect("stats");
    assert_eq!(got, only(&want, acme), "a global admin naming acme");
    for (name, role) in [("op-acme", Role::Operator), ("viewer-acme", Role::Viewer)] {
        r.create_principal(
            admin,
            CreatePrincipal {
                name: name.into(),
                password: "password-123".into(),
                role,
                tenant: Some("acme".into()),
            },
        )
        .await
        .expect("principal");
    }
    for name in ["op-acme", "viewer-acme"] {
        // Logging in opens a login session (acme, `sessiond`): compare with the store's
        // answer for the scope the rule gives.
        let caller = login(r, name, "password-123").await;
        let acme_now = stats(env.store(), TenantScope::One(acme), since).await;
        assert!(acme_now.live.iter().all(|c| c.tenant_id == acme));
        for tenant in [None, Some("acme")] {
            let got = r.session_stats(&caller, tenant).await.expect("own tenant");
            assert_eq!(got, acme_now, "{name} {tenant:?}");
        }
        for tenant in ["*", "globex", "default", "no-such-tenant"] {
            match r.session_stats(&caller, Some(tenant)).await {
                Err(CoreError::NotFound(_)) => {}
                other => panic!("{name} asking for {tenant}: {other:?}"),
            }
        }
    }
}

/// Every end is counted once: two racing ends of the same ids, an atomic end refused
/// because one id had ended, an id repeated in one call, an end of ended or unknown ids,
/// and an insert retried with an id already taken.
pub async fn session_stats_count_each_change_once(store: Arc<dyn Store>) {
    let ids = Ids::default();
    let hour = hour_of(at(0));
    let mut made: Vec<Session> = Vec::new();
    for _ in 0..6 {
        let s = session(ids.next(), 1, at(0));
        insert(store.as_ref(), &s).await;
        made.push(s);
    }
    let retry = store
        .insert_session(&made[0], &hash_of(&made[0].id), None, None)
        .await;
    assert!(matches!(retry, Err(StoreError::Conflict(_))), "{retry:?}");
    let id = |i: usize| made[i].id.clone();

    let first = [id(0), id(1), id(2)];
    let end = end_info(SessionState::Terminated, at(60), "op");
    let (x, y) = tokio::join!(
        store.end_if_active(&first, &end, false),
        store.end_if_active(&first, &end, false)
    );
    let (x, y) = (x.expect("end"), y.expect("end"));
    let won = x
        .outcomes
        .iter()
        .chain(&y.outcomes)
        .filter(|o| **o == EndOutcome::Ended)
        .count();
    assert_eq!(won, 3, "{x:?} {y:?}");

    let refused = store
        .end_if_active(&[id(2), id(3), id(4)], &end, true)
        .await
        .expect("atomic end");
    assert!(!refused.committed);
    let closed = end_info(SessionState::Closed, at(120), "svc");
    store
        .end_if_active(&[id(3), id(3), id(0)], &closed, false)
        .await
        .expect("end");
    store
        .end_if_active(&[id(3), ids.next()], &closed, false)
        .await
        .expect("end");

    let mut want = StatsBuilder::default();
    want.live(1, "smb", 2);
    want.opened(1, "smb", hour, 6);
    want.ended(1, "smb", hour, 4);
    assert_eq!(
        stats(store.as_ref(), TenantScope::All, hour).await,
        want.build(hour)
    );
    assert_eq!(
        stats(store.as_ref(), TenantScope::One(2), hour).await,
        SessionStats {
            since_hour: hour,
            ..SessionStats::default()
        },
        "a tenant without sessions"
    );
}
