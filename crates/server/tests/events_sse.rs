//! The event stream through the built binary: SSE delivers every change with the session as
//! `GET` shows it, resumes with `Last-Event-ID` without loss or repeats, keeps tenants apart,
//! ends when its caller's login ends, and an acknowledged termination reaches a subscriber
//! after kill -9 and a restart.

use sessiond_client::wire::{CreatePrincipal, RegisterRequest, TerminateRequest};
use sessiond_client::{Client, EventsParams};
use sessiond_core::events::{Event, EventType};
use sessiond_core::{Domain, Role, User};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const PW: &str = "events-test-password";
/// A safety net only: every wait below ends on an event, this bounds a broken server.
const WAIT: Duration = Duration::from_secs(30);

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sessiond"))
        .args([
            "serve",
            "--plain-http",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(data)
        .env("SESSIOND_ADMIN_PASSWORD", PW)
        .env("SESSIOND_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn sessiond");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout);
    let mut line = String::new();
    lines.read_line(&mut line).expect("readiness line");
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.lines() {});
    Server { child, base }
}

async fn client(base: &str, name: &str, password: &str) -> Client {
    let c = Client::new(base, false).expect("client");
    let r = c.login(name, password).await.expect("login");
    c.with_token(r.token)
}

fn user(name: &str) -> User {
    User {
        domain: Domain::Local,
        name: Some(name.into()),
        ..User::default()
    }
}

async fn register(c: &Client, name: &str, tenant: Option<&str>) -> String {
    let r = c
        .register(&RegisterRequest {
            service: "smb".into(),
            tenant: tenant.map(str::to_string),
            user: user(name),
            ..RegisterRequest::default()
        })
        .await
        .expect("register");
    r.session.id.to_string()
}

async fn next(s: &mut sessiond_client::EventStream) -> Event {
    tokio::time::timeout(WAIT, s.next())
        .await
        .expect("an event within the wait")
        .expect("the stream reads")
        .expect("the stream is open")
}

fn all_tenants() -> EventsParams {
    EventsParams {
        tenant: Some("*".into()),
        ..EventsParams::default()
    }
}

#[tokio::test]
async fn sse_delivers_every_change_and_resumes_without_loss() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path());
    let admin = client(&server.base, "admin", PW).await;
    let mut stream = admin.events(&all_tenants(), None).await.expect("subscribe");

    let a = register(&admin, "alice", None).await;
    let b = register(&admin, "bob", None).await;
    admin.close(&a).await.expect("close");
    admin
        .terminate_one(&b, Some("policy"))
        .await
        .expect("terminate");
    let got: Vec<Event> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(next(&mut stream).await);
        }
        v
    };
    let kinds: Vec<(EventType, String)> = got
        .iter()
        .map(|e| {
            (
                e.kind,
                e.session
                    .as_ref()
                    .map(|s| s.id.to_string())
                    .unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            (EventType::SessionCreated, a.clone()),
            (EventType::SessionCreated, b.clone()),
            (EventType::SessionClosed, a.clone()),
            (EventType::SessionTerminated, b.clone()),
        ]
    );
    assert!(got.windows(2).all(|w| w[0].id < w[1].id), "ids increase");
    for e in &got[2..] {
        let s = e.session.clone().expect("session");
        assert_eq!(
            s,
            admin.get(&s.id.to_string()).await.expect("get"),
            "as GET shows it"
        );
        assert_eq!(e.tenant, "default");
    }
    assert_eq!(
        got[3]
            .session
            .as_ref()
            .and_then(|s| s.end_reason.clone())
            .as_deref(),
        Some("policy")
    );

    // Disconnect; what happens meanwhile arrives on resume, once, in order.
    let last = stream.last_id().expect("a last id");
    drop(stream);
    let c = register(&admin, "carol", None).await;
    let t = admin
        .terminate(&TerminateRequest {
            ids: Some(vec![c.clone()]),
            reason: Some("while away".into()),
            ..TerminateRequest::default()
        })
        .await
        .expect("terminate");
    assert!(
        matches!(
            t,
            sessiond_client::wire::TerminateResponse::Ids { terminated: 1, .. }
        ),
        "{t:?}"
    );
    let mut resumed = admin
        .events(&all_tenants(), Some(last))
        .await
        .expect("resume");
    let r1 = next(&mut resumed).await;
    let r2 = next(&mut resumed).await;
    assert_eq!(
        (r1.kind, r2.kind),
        (EventType::SessionCreated, EventType::SessionTerminated)
    );
    assert!(r1.id > last, "nothing before the cursor is repeated");
    assert_eq!(r2.session.map(|s| s.id.to_string()), Some(c));

    // A filtered stream sees only its types; a type filter is checked.
    let only_ends = EventsParams {
        types: vec![EventType::SessionTerminated],
        ..all_tenants()
    };
    let mut ends = admin
        .events(&only_ends, Some(last))
        .await
        .expect("filtered");
    assert_eq!(next(&mut ends).await.kind, EventType::SessionTerminated);
}

#[tokio::test]
async fn tenants_see_only_their_own_events_and_a_stream_ends_with_its_login() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path());
    let admin = client(&server.base, "admin", PW).await;
    for t in ["acme", "globex"] {
        admin.create_tenant(t).await.expect("tenant");
        admin
            .create_principal(&CreatePrincipal {
                name: format!("op-{t}"),
                password: "password-123".into(),
                role: Role::Operator,
                tenant: Some(t.into()),
            })
            .await
            .expect("principal");
    }
    let acme = client(&server.base, "op-acme", "password-123").await;
    let globex = client(&server.base, "op-globex", "password-123").await;
    let mut acme_stream = acme
        .events(&EventsParams::default(), None)
        .await
        .expect("sub");
    let mut globex_stream = globex
        .events(&EventsParams::default(), None)
        .await
        .expect("sub");
    // Another tenant's events, asked for by name, are "not found", like the tenant.
    let err = globex
        .events(
            &EventsParams {
                tenant: Some("acme".into()),
                ..EventsParams::default()
            },
            None,
        )
        .await
        .expect_err("another tenant");
    assert_eq!(err.status(), Some(404));
    let err = globex.events(&all_tenants(), None).await.expect_err("all");
    assert_eq!(err.status(), Some(404));

    let in_acme = register(&admin, "a1", Some("acme")).await;
    let in_globex = register(&admin, "g1", Some("globex")).await;
    let e = next(&mut acme_stream).await;
    assert_eq!(e.session.map(|s| s.id.to_string()), Some(in_acme.clone()));
    assert_eq!(e.tenant, "acme");
    let e = next(&mut globex_stream).await;
    assert_eq!(e.session.map(|s| s.id.to_string()), Some(in_globex));
    acme.terminate_one(&in_acme, None).await.expect("terminate");
    let e = next(&mut acme_stream).await;
    assert_eq!(e.kind, EventType::SessionTerminated);
    // globex's stream got nothing of acme's: its next event is its own.
    let g2 = register(&admin, "g2", Some("globex")).await;
    let e = next(&mut globex_stream).await;
    assert_eq!(e.session.map(|s| s.id.to_string()), Some(g2));

    // Ending the subscriber's login ends its stream.
    let me = globex.whoami().await.expect("whoami");
    admin
        .terminate_one(&me.session_id, Some("revoked"))
        .await
        .expect("terminate the subscriber's login");
    let ended = tokio::time::timeout(WAIT, async {
        loop {
            match globex_stream.next().await {
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => return,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream of an ended login must end");
}

#[tokio::test]
async fn an_acknowledged_termination_reaches_its_subscriber_after_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = start(dir.path());
    let admin = client(&server.base, "admin", PW).await;
    let mut stream = admin.events(&all_tenants(), None).await.expect("subscribe");
    let id = register(&admin, "victim", None).await;
    let created = next(&mut stream).await;
    drop(stream);
    admin
        .terminate_one(&id, Some("before the crash"))
        .await
        .expect("terminate");
    // Acknowledged: kill without warning, before anyone was told.
    server.child.kill().expect("kill -9");
    let _ = server.child.wait();
    drop(server);
    let server = start(dir.path());
    let admin = client(&server.base, "admin", PW).await;
    let mut resumed = admin
        .events(&all_tenants(), Some(created.id))
        .await
        .expect("resume");
    let e = next(&mut resumed).await;
    assert_eq!(e.kind, EventType::SessionTerminated);
    let s = e.session.expect("session");
    assert_eq!(s.id.to_string(), id);
    assert_eq!(s.end_reason.as_deref(), Some("before the crash"));
}
