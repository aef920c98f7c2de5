//! What "any replica answers any request" means, checked through the native API against
//! several replicas of one store, whichever store and however they were started.

use sessiond_client::{Client, ClientError};
use sessiond_core::wire::{
    CreatePrincipal, FilterParams, ListParams, RegisterRequest, TerminateRequest,
    TerminateResponse, UpdatePrincipal,
};
use sessiond_core::{Role, User};
use std::future::Future;
use std::pin::Pin;

/// How a test waits until every replica has applied every cache invalidation published so
/// far (they travel asynchronously: Redis pub/sub between processes, a broadcast channel
/// in one process). Implementations poll counters; they never sleep for a fixed time.
pub trait Settle: Sync {
    fn settle(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// `published` of every replica summed, against each replica's `applied`.
pub fn settled(counts: &[(u64, u64)]) -> bool {
    let published: u64 = counts.iter().map(|c| c.0).sum();
    counts.iter().all(|c| c.1 >= published)
}

async fn admin(base: &str, pw: &str) -> Client {
    let c = Client::new(base, true).expect("client");
    let t = c.login("admin", pw).await.expect("admin login");
    c.with_token(t.token)
}

fn status(r: Result<impl std::fmt::Debug, ClientError>) -> u16 {
    match r {
        Err(ClientError::Api { status, .. }) => status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn user(name: &str) -> User {
    User {
        name: Some(name.into()),
        ..User::default()
    }
}

/// Register on A, list on B, terminate on C, validate on A fails at once.
pub async fn register_list_terminate_validate(bases: &[String], pw: &str) {
    let n = bases.len();
    let (a, b, c) = (
        admin(&bases[0], pw).await,
        admin(&bases[1 % n], pw).await,
        admin(&bases[2 % n], pw).await,
    );
    let reg = a
        .register(&RegisterRequest {
            service: "smb".into(),
            user: user("replica-alice"),
            originator: Some("10.7.7.7".into()),
            ..RegisterRequest::default()
        })
        .await
        .expect("register on A");
    a.validate(&reg.token).await.expect("validate on A");
    let page = b
        .list(&ListParams {
            filter: FilterParams {
                identity: Some("replica-alice".into()),
                ..FilterParams::default()
            },
            ..ListParams::default()
        })
        .await
        .expect("list on B");
    assert_eq!(
        page.items
            .iter()
            .map(|s| s.id.to_string())
            .collect::<Vec<_>>(),
        vec![reg.session.id.to_string()],
        "B lists what A registered"
    );
    let ended = c
        .terminate_one(reg.session.id.as_str(), Some("replica test"))
        .await
        .expect("terminate on C");
    assert_eq!(ended.state.as_str(), "terminated");
    assert_eq!(
        status(a.validate(&reg.token).await),
        404,
        "validate on A fails at once after C terminated"
    );
}

/// A dry run's confirm minted on A is honoured on B with the same meaning: the sessions
/// registered after the preview (on either replica) survive.
pub async fn confirm_from_a_works_on_b(bases: &[String], pw: &str) {
    let (a, b) = (admin(&bases[0], pw).await, admin(&bases[1], pw).await);
    for (i, cl) in [&a, &b, &a].into_iter().enumerate() {
        cl.register(&RegisterRequest {
            service: "smb".into(),
            user: user("replica-bob"),
            originator: Some(format!("10.8.0.{i}")),
            ..RegisterRequest::default()
        })
        .await
        .expect("register");
    }
    let filter = FilterParams {
        identity: Some("replica-bob".into()),
        ..FilterParams::default()
    };
    let preview = a
        .terminate(&TerminateRequest {
            filter: Some(filter.clone()),
            dry_run: true,
            ..TerminateRequest::default()
        })
        .await
        .expect("dry run on A");
    let TerminateResponse::DryRun {
        would_terminate,
        confirm,
        ..
    } = preview
    else {
        panic!("a dry run answers with a preview: {preview:?}")
    };
    assert_eq!(would_terminate, 3);
    // Registered after the preview, through each replica: outside the confirmed set.
    let mut late = Vec::new();
    for cl in [&a, &b] {
        let r = cl
            .register(&RegisterRequest {
                service: "smb".into(),
                user: user("replica-bob"),
                ..RegisterRequest::default()
            })
            .await
            .expect("register late");
        late.push(r.session.id.to_string());
    }
    let done = b
        .terminate(&TerminateRequest {
            filter: Some(filter.clone()),
            confirm: Some(confirm.clone()),
            ..TerminateRequest::default()
        })
        .await
        .expect("confirmed terminate on B");
    assert!(
        matches!(done, TerminateResponse::Filter { terminated: 3, .. }),
        "{done:?}"
    );
    for id in &late {
        assert_eq!(
            a.get(id).await.expect("get").state.as_str(),
            "active",
            "registered after the preview"
        );
    }
    // A confirm for another filter is refused on B too.
    let other = b
        .terminate(&TerminateRequest {
            filter: Some(FilterParams {
                identity: Some("someone-else".into()),
                ..FilterParams::default()
            }),
            confirm: Some(confirm),
            ..TerminateRequest::default()
        })
        .await;
    assert_eq!(status(other), 409);
}

/// A principal disabled through B is refused on A at once (its login sessions ended); login
/// failures count across replicas.
pub async fn directory_changes_hold_everywhere(bases: &[String], pw: &str, settle: &dyn Settle) {
    let (a, b) = (admin(&bases[0], pw).await, admin(&bases[1], pw).await);
    let ops_pw = "ops-password-1";
    a.create_principal(&CreatePrincipal {
        name: "replica-ops".into(),
        password: ops_pw.into(),
        role: Role::Operator,
        tenant: None,
    })
    .await
    .expect("create principal on A");
    let anon_a = Client::new(&bases[0], true).expect("client");
    let ops_token = anon_a
        .login("replica-ops", ops_pw)
        .await
        .expect("ops login on A")
        .token;
    let ops_a = anon_a.clone().with_token(ops_token);
    ops_a.whoami().await.expect("ops works on A");
    b.update_principal(
        "replica-ops",
        &UpdatePrincipal {
            disabled: Some(true),
            ..UpdatePrincipal::default()
        },
    )
    .await
    .expect("disable on B");
    // A has the login cached (it just served it); the disable ended it and told A.
    settle.settle().await;
    assert_eq!(
        status(ops_a.whoami().await),
        401,
        "disabled on B, refused on A at once"
    );
    assert_eq!(status(anon_a.login("replica-ops", ops_pw).await), 401);

    // Failed logins spread over the replicas add up to one backoff.
    let anon_b = Client::new(&bases[1], true).expect("client");
    let mut statuses = Vec::new();
    for i in 0..6 {
        let cl = if i % 2 == 0 { &anon_a } else { &anon_b };
        statuses.push(status(cl.login("admin", "wrong-password").await));
    }
    assert_eq!(&statuses[..5], &[401; 5], "{statuses:?}");
    assert_eq!(
        statuses[5], 429,
        "the 6th failure across replicas backs off: {statuses:?}"
    );
}

/// Login sessions cached by a replica stop working there as soon as another replica ends
/// them (terminate, logout) and its invalidation arrived; a role changed on B applies on A.
pub async fn ended_logins_are_refused_everywhere(bases: &[String], pw: &str, settle: &dyn Settle) {
    let (a_url, b_url) = (&bases[0], &bases[1]);
    let b = admin(b_url, pw).await;
    // A second admin login, used (and so cached) on A, terminated through B.
    let anon_a = Client::new(a_url, true).expect("client");
    let t = anon_a.login("admin", pw).await.expect("login on A");
    let on_a = anon_a.clone().with_token(t.token.clone());
    on_a.whoami().await.expect("works on A");
    on_a.whoami().await.expect("and again, from A's cache");
    b.terminate_one(&t.session_id, Some("replica test"))
        .await
        .expect("terminate the login on B");
    settle.settle().await;
    assert_eq!(
        status(on_a.whoami().await),
        401,
        "terminated on B, refused on A"
    );
    // Logout through B of a login used on A.
    let t2 = anon_a.login("admin", pw).await.expect("login on A");
    let on_a2 = anon_a.clone().with_token(t2.token.clone());
    on_a2.whoami().await.expect("works on A");
    Client::new(b_url, true)
        .expect("client")
        .with_token(t2.token.clone())
        .logout()
        .await
        .expect("logout through B");
    settle.settle().await;
    assert_eq!(
        status(on_a2.whoami().await),
        401,
        "logged out on B, refused on A"
    );
    // A viewer made operator on B may terminate on A.
    b.create_principal(&CreatePrincipal {
        name: "replica-viewer".into(),
        password: "viewer-password-1".into(),
        role: Role::Viewer,
        tenant: None,
    })
    .await
    .expect("create viewer");
    let v = anon_a
        .login("replica-viewer", "viewer-password-1")
        .await
        .expect("viewer login on A");
    let viewer_a = anon_a.clone().with_token(v.token);
    let victim = b
        .register(&RegisterRequest {
            service: "smb".into(),
            user: user("replica-victim"),
            ..RegisterRequest::default()
        })
        .await
        .expect("register");
    let id = victim.session.id.to_string();
    assert_eq!(status(viewer_a.terminate_one(&id, None).await), 403);
    b.update_principal(
        "replica-viewer",
        &UpdatePrincipal {
            role: Some(Role::Operator),
            ..UpdatePrincipal::default()
        },
    )
    .await
    .expect("promote on B");
    settle.settle().await;
    viewer_a
        .terminate_one(&id, None)
        .await
        .expect("the new role applies on A");
}

/// A subscriber of replica B's event stream sees a termination made through replica A (and
/// C's resume from B's last id sees the same sequence).
pub async fn events_reach_subscribers_of_every_replica(bases: &[String], pw: &str) {
    use sessiond_client::EventsParams;
    use sessiond_core::events::EventType;
    const WAIT: std::time::Duration = std::time::Duration::from_secs(30);
    let n = bases.len();
    // One login, used on every replica (logins are throttled per name).
    let token = Client::new(&bases[0], true)
        .expect("client")
        .login("admin", pw)
        .await
        .expect("admin login")
        .token;
    let on = |i: usize| {
        Client::new(&bases[i % n], true)
            .expect("client")
            .with_token(token.clone())
    };
    let (a, b, c) = (on(0), on(1), on(2));
    let params = EventsParams {
        types: vec![EventType::SessionTerminated],
        tenant: Some("*".into()),
        ..EventsParams::default()
    };
    let mut on_b = b.events(&params, None).await.expect("subscribe on B");
    let reg = a
        .register(&RegisterRequest {
            service: "smb".into(),
            user: user("replica-evented"),
            ..RegisterRequest::default()
        })
        .await
        .expect("register on A");
    let id = reg.session.id.to_string();
    a.terminate_one(&id, Some("through A"))
        .await
        .expect("terminate on A");
    let e = tokio::time::timeout(WAIT, on_b.next())
        .await
        .expect("B's subscriber hears of it in time")
        .expect("read")
        .expect("open");
    assert_eq!(e.kind, EventType::SessionTerminated);
    let s = e.session.clone().expect("session");
    assert_eq!(s.id.to_string(), id);
    assert_eq!(s.end_reason.as_deref(), Some("through A"));
    // Resuming on C from before that event yields the same event, with the same id.
    let mut on_c = c
        .events(&params, Some(e.id - 1))
        .await
        .expect("resume on C");
    let again = tokio::time::timeout(WAIT, on_c.next())
        .await
        .expect("in time")
        .expect("read")
        .expect("open");
    assert_eq!(again, e);
}
