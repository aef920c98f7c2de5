//! What "any replica answers any request" means, checked through the native API against
//! several replicas of one store, whichever store and however they were started.

use sessiond_client::{Client, ClientError};
use sessiond_core::wire::{
    CreatePrincipal, FilterParams, ListParams, RegisterRequest, TerminateRequest,
    TerminateResponse, UpdatePrincipal,
};
use sessiond_core::{Role, User};

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
pub async fn directory_changes_hold_everywhere(bases: &[String], pw: &str) {
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
