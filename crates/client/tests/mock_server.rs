//! The client against a scripted HTTP/1.1 server: methods, paths, bodies, the bearer header,
//! and the mapping of error answers, without needing the real server crate.

use serde_json::{json, Value};
use sessiond_client::wire::{
    FilterParams, ListParams, RegisterRequest, SessionPatch, TerminateRequest, TerminateResponse,
    UpdatePrincipal,
};
use sessiond_client::{Client, ClientError};
use sessiond_core::{Role, User};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as the mock saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    authorization: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

impl Seen {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

type Handler = dyn Fn(&Seen) -> (u16, String) + Send + Sync;

/// A server that answers each request with `handler(request)` and records what it saw.
struct Mock {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Mock {
    async fn start(handler: impl Fn(&Seen) -> (u16, String) + Send + Sync + 'static) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let seen2 = seen.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let handler = handler.clone();
                let seen = seen2.clone();
                tokio::spawn(async move { serve(stream, handler, seen).await });
            }
        });
        Mock {
            base: format!("http://{addr}"),
            seen,
        }
    }

    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }

    fn last(&self) -> Seen {
        self.requests().pop().expect("a request was made")
    }
}

async fn serve(mut stream: TcpStream, handler: Arc<Handler>, seen: Arc<Mutex<Vec<Seen>>>) {
    let mut buf = Vec::new();
    loop {
        // Read the head.
        let head_end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let mut lines = head.split("\r\n");
        let mut first = lines.next().unwrap_or("").split(' ');
        let method = first.next().unwrap_or("").to_owned();
        let target = first.next().unwrap_or("").to_owned();
        let mut len = 0usize;
        let mut authorization = None;
        let mut content_type = None;
        for l in lines {
            if let Some((k, v)) = l.split_once(':') {
                let v = v.trim().to_owned();
                match k.to_ascii_lowercase().as_str() {
                    "content-length" => len = v.parse().unwrap_or(0),
                    "authorization" => authorization = Some(v),
                    "content-type" => content_type = Some(v),
                    _ => {}
                }
            }
        }
        while buf.len() < head_end + len {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = buf[head_end..head_end + len].to_vec();
        buf.drain(..head_end + len);
        let req = Seen {
            method,
            target,
            authorization,
            content_type,
            body,
        };
        let (status, resp_body) = handler(&req);
        seen.lock().expect("lock").push(req);
        let resp = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{resp_body}",
            resp_body.len()
        );
        if stream.write_all(resp.as_bytes()).await.is_err() {
            return;
        }
    }
}

const ID: &str = "01HZZZZZZZZZZZZZZZZZZZZZZZ";

fn session_json(id: &str) -> Value {
    json!({
        "id": id, "kind": "registered", "owner": "admin", "tenant_id": 1, "service": "smb",
        "user": {"domain": "LOCAL", "name": "alice"},
        "is_guest": false, "is_encrypted": false, "share_names": [], "num_opens": 0,
        "call_count": 0, "opened_at": "2026-11-23T14:34:36.123456Z",
        "last_active_at": "2026-11-23T14:34:36.123456Z", "idle_timeout": "30m",
        "absolute_timeout": "24h", "state": "active", "attributes": {}
    })
}

#[tokio::test]
async fn login_then_authenticated_calls_carry_the_bearer_token() {
    let mock = Mock::start(|r| {
        match (r.method.as_str(), r.target.as_str()) {
        ("POST", "/api/v1/auth/login") => (
            200,
            json!({"token": "tok-1", "session_id": ID, "expires_at": "2026-11-23T14:34:36.123456Z"})
                .to_string(),
        ),
        ("GET", "/api/v1/auth/whoami") => (
            200,
            json!({"name": "admin", "role": "admin", "tenant": "default", "tenant_id": 1,
                   "session_id": ID, "privileges": ["System.Admin"]})
            .to_string(),
        ),
        ("POST", "/api/v1/auth/logout") => (204, String::new()),
        _ => (500, "unexpected".into()),
    }
    })
    .await;
    let client = Client::new(&mock.base, false).expect("client");
    let login = client.login("admin", "pw").await.expect("login");
    assert_eq!(login.token, "tok-1");
    let seen = mock.last();
    assert_eq!(seen.authorization, None);
    assert_eq!(seen.json(), json!({"username": "admin", "password": "pw"}));
    assert_eq!(seen.content_type.as_deref(), Some("application/json"));

    let client = client.with_token(login.token);
    let me = client.whoami().await.expect("whoami");
    assert_eq!(me.role, Role::Admin);
    assert_eq!(mock.last().authorization.as_deref(), Some("Bearer tok-1"));

    client.logout().await.expect("logout accepts an empty 204");
    assert_eq!(mock.last().target, "/api/v1/auth/logout");
}

#[tokio::test]
async fn session_endpoints_use_the_documented_paths() {
    let mock = Mock::start(|r| match (r.method.as_str(), r.target.as_str()) {
        ("POST", "/api/v1/sessions") => (
            201,
            json!({"session": session_json(ID), "token": "s-tok"}).to_string(),
        ),
        ("GET", t) if t.starts_with("/api/v1/sessions?") => (
            200,
            json!({"items": [session_json(ID)], "next": null}).to_string(),
        ),
        ("POST", "/api/v1/sessions/terminate") => (
            200,
            json!({"terminated": 1, "results": [{"id": ID, "ok": true, "error": null}]})
                .to_string(),
        ),
        _ => (200, session_json(ID).to_string()),
    })
    .await;
    let c = Client::new(&mock.base, false)
        .expect("client")
        .with_token("t");

    let req = RegisterRequest {
        service: "smb".into(),
        user: User {
            name: Some("alice".into()),
            ..User::default()
        },
        ..RegisterRequest::default()
    };
    let created = c.register(&req).await.expect("register");
    assert_eq!(created.token, "s-tok");
    assert_eq!(mock.last().json()["service"], "smb");

    c.validate("s-tok").await.expect("validate");
    let last = mock.last();
    assert_eq!(
        (last.method.as_str(), last.target.as_str()),
        ("POST", "/api/v1/sessions/validate")
    );
    assert_eq!(last.json(), json!({"token": "s-tok"}));

    c.touch(ID, &SessionPatch::default()).await.expect("touch");
    assert_eq!(mock.last().target, format!("/api/v1/sessions/{ID}/touch"));
    let patch = SessionPatch {
        num_opens: Some(3),
        ..SessionPatch::default()
    };
    c.patch(ID, &patch).await.expect("patch");
    let last = mock.last();
    assert_eq!(last.method, "PATCH");
    assert_eq!(last.json(), json!({"num_opens": 3}));
    c.close(ID).await.expect("close");
    assert_eq!(mock.last().target, format!("/api/v1/sessions/{ID}/close"));
    let got = c.get(ID).await.expect("get");
    assert_eq!(got.id.as_str(), ID);
    assert_eq!(mock.last().method, "GET");

    c.terminate_one(ID, None).await.expect("delete");
    let last = mock.last();
    assert_eq!(
        (last.method.as_str(), last.target.as_str()),
        ("DELETE", format!("/api/v1/sessions/{ID}").as_str())
    );
    assert!(last.body.is_empty(), "no reason, no body");
    c.terminate_one(ID, Some("left the company"))
        .await
        .expect("delete");
    assert_eq!(mock.last().json(), json!({"reason": "left the company"}));

    let mut params = ListParams::default();
    params.filter.service = Some("smb".into());
    params.filter.state = Some("all".into());
    params.after = Some(ID.into());
    let page = c.list(&params).await.expect("list");
    assert_eq!(page.items.len(), 1);
    let target = mock.last().target;
    assert!(target.contains("service=smb"), "{target}");
    assert!(target.contains("state=all"), "{target}");
    assert!(target.contains(&format!("after={ID}")), "{target}");
    assert!(!target.contains("tenant"), "{target}");

    let resp = c
        .terminate(&TerminateRequest {
            filter: Some(FilterParams {
                identity: Some("ad:alice".into()),
                ..FilterParams::default()
            }),
            ..TerminateRequest::default()
        })
        .await
        .expect("terminate");
    assert!(matches!(resp, TerminateResponse::Ids { terminated: 1, .. }));
    assert_eq!(
        mock.last().json(),
        json!({"filter": {"identity": "ad:alice"}, "mode": "best_effort", "dry_run": false})
    );
}

#[tokio::test]
async fn admin_lists_unwrap_the_items_envelope() {
    let mock = Mock::start(|r| match (r.method.as_str(), r.target.as_str()) {
        ("GET", "/api/v1/tenants") => (
            200,
            json!({"items": [{"id": 1, "name": "default"}, {"id": 2, "name": "acme"}]}).to_string(),
        ),
        ("POST", "/api/v1/tenants") => (201, json!({"id": 3, "name": "new"}).to_string()),
        ("GET", "/api/v1/principals") => (
            200,
            json!({"items": [{"name": "admin", "role": "admin", "tenant": "default"}]}).to_string(),
        ),
        (_, "/api/v1/principals/ops") | ("POST", "/api/v1/principals") => (
            200,
            json!({"name": "ops", "role": "operator", "tenant": "acme", "disabled": true})
                .to_string(),
        ),
        _ => (500, String::new()),
    })
    .await;
    let c = Client::new(&mock.base, false)
        .expect("client")
        .with_token("t");
    let tenants = c.list_tenants().await.expect("tenants");
    assert_eq!(tenants.len(), 2);
    assert_eq!(c.create_tenant("new").await.expect("create").id, 3);
    assert_eq!(mock.last().json(), json!({"name": "new"}));
    let ps = c.list_principals().await.expect("principals");
    assert!(!ps[0].disabled, "disabled defaults to false");
    assert!(c.get_principal("ops").await.expect("get").disabled);
    let upd = UpdatePrincipal {
        disabled: Some(true),
        ..UpdatePrincipal::default()
    };
    c.update_principal("ops", &upd).await.expect("update");
    let last = mock.last();
    assert_eq!(last.method, "PATCH");
    assert_eq!(last.json(), json!({"disabled": true}));
}

#[tokio::test]
async fn errors_are_typed() {
    let mock = Mock::start(|r| match r.target.as_str() {
        "/api/v1/auth/whoami" => (
            401,
            json!({"error": {"code": "unauthenticated", "message": "log in first"}}).to_string(),
        ),
        "/api/v1/tenants" => (200, "not json".into()),
        _ => (502, "<html>bad gateway</html>".into()),
    })
    .await;
    let c = Client::new(&mock.base, false).expect("client");
    let e = c.whoami().await.expect_err("401");
    assert!(e.is_unauthenticated());
    assert_eq!(
        e,
        ClientError::Api {
            status: 401,
            code: "unauthenticated".into(),
            message: "log in first".into()
        }
    );
    assert!(matches!(
        c.list_tenants().await,
        Err(ClientError::Decode(_))
    ));
    let e = c.get(ID).await.expect_err("502");
    assert_eq!(e.code(), Some("http_502"));

    // A port nobody listens on: bind one, then let it go.
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = free.local_addr().expect("addr");
    drop(free);
    let c = Client::new(&format!("http://{addr}"), false).expect("client");
    assert!(matches!(c.whoami().await, Err(ClientError::Transport(_))));
}
