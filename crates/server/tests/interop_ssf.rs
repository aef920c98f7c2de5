//! The SSF transmitter judged by independent receivers written with PyJWT (in the interop
//! virtualenv): each creates its stream through the configuration endpoint, fetches the JWKS
//! and verifies every SET. Push and poll both carry a termination and an expiry as CAEP
//! session-revoked; a tenant's stream never carries another tenant's sessions; an
//! acknowledged termination is pushed after kill -9.

mod common;

use common::{Native, PyChild, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

const PW: &str = "ssf-test-password";
const REVOKED: &str = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
/// A safety net only: each wait ends on a line from the receiver.
const WAIT: Duration = Duration::from_secs(60);

fn flags() -> Vec<String> {
    [
        "--webhooks-allow-private",
        "--webhook-retry-base",
        "100ms",
        "--sweep-interval",
        "1s",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

struct Receiver {
    py: PyChild,
    stream: Value,
    config: Value,
}

impl Receiver {
    /// Starts a receiver that creates its stream with `token` and waits for its verification.
    fn start(base: &str, token: &str, mode: &str) -> Receiver {
        let py = PyChild::start("jwt, cryptography", "ssf_receiver.py", &[base, token, mode]);
        let mut r = Receiver {
            py,
            stream: Value::Null,
            config: Value::Null,
        };
        r.config = serde_json::from_str(&r.until("CONFIG ")).expect("config");
        r.stream = serde_json::from_str(&r.until("STREAM ")).expect("stream");
        assert_eq!(r.until("VERIFIED "), "interop-state");
        r
    }

    fn until(&self, prefix: &str) -> String {
        loop {
            let line = self.py.next_line(WAIT);
            assert!(
                !line.starts_with("INVALID"),
                "the receiver refused a SET: {line}"
            );
            if let Some(rest) = line.strip_prefix(prefix) {
                return rest.to_string();
            }
        }
    }

    /// The next verified session-revoked SET's claims.
    fn set(&self) -> Value {
        serde_json::from_str(&self.until("SET ")).expect("claims")
    }

    fn say(&mut self, line: &str) {
        self.py.send(line);
        self.until("ACK ");
    }
}

async fn register(n: &Native, name: &str, extra: Value) -> String {
    let mut body = json!({"service": "smb", "user": {"name": name}});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let (s, v) = n.call(Method::POST, "/sessions", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["session"]["id"].as_str().expect("id").to_string()
}

async fn terminate(n: &Native, id: &str, why: &str) {
    let (s, v) = n
        .call(
            Method::DELETE,
            &format!("/sessions/{id}"),
            Some(json!({"reason": why})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

fn revoked(claims: &Value) -> &Value {
    &claims["events"][REVOKED]
}

async fn push_and_poll_carry_terminations_and_expiries(mode: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_with(&dir.path().join("data"), PW, &flags());
    let n = Native::login(&server, PW).await;
    let r = Receiver::start(&server.base, &n.token, mode);
    // The configuration document, as served.
    let c = &r.config;
    assert_eq!(c["spec_version"], "1_0");
    assert_eq!(c["issuer"], json!(server.base));
    assert_eq!(
        c["delivery_methods_supported"],
        json!(["urn:ietf:rfc:8935", "urn:ietf:rfc:8936"])
    );
    assert_eq!(
        c["authorization_schemes"],
        json!([{"spec_urn": "urn:ietf:rfc:6749"}])
    );
    assert_eq!(r.stream["events_delivered"], json!([REVOKED]));

    let sid = register(&n, "alice", json!({})).await;
    terminate(&n, &sid, "left the company").await;
    let claims = r.set();
    assert_eq!(claims["sub_id"], json!({"format": "opaque", "id": sid}));
    assert_eq!(claims["aud"], r.stream["aud"]);
    assert_eq!(revoked(&claims)["initiating_entity"], "admin");
    let reason = revoked(&claims)["reason_admin"]["en"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.contains("left the company"), "{claims}");

    // An expiry: a 1-second idle timeout and a sweep every second.
    let gone = register(&n, "bob", json!({"idle_timeout": "1s"})).await;
    let claims = r.set();
    assert_eq!(claims["sub_id"]["id"], json!(gone));
    assert_eq!(revoked(&claims)["initiating_entity"], "policy");

    // The stream as the receiver reads it back, and its status.
    let id = r.stream["stream_id"].as_str().expect("stream id");
    let (s, v) = n
        .http
        .get(format!("{}/ssf/streams?stream_id={id}", server.base))
        .bearer_auth(&n.token)
        .send()
        .await
        .map(|r| (r.status(), r))
        .expect("read");
    assert_eq!(s, StatusCode::OK);
    let v: Value = v.json().await.expect("json");
    assert_eq!(v["stream_id"], json!(id));
    let (s, v) = status(&n, &server.base, id).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("enabled")));
    // Without a token: refused, with the native error body.
    let anon = n
        .http
        .get(format!("{}/ssf/status?stream_id={id}", server.base))
        .send()
        .await
        .expect("anonymous");
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
}

async fn status(n: &Native, base: &str, id: &str) -> (StatusCode, Value) {
    let r = n
        .http
        .get(format!("{base}/ssf/status?stream_id={id}"))
        .bearer_auth(&n.token)
        .send()
        .await
        .expect("status");
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn push_carries_terminations_and_expiries() {
    push_and_poll_carry_terminations_and_expiries("push").await;
}

#[tokio::test]
async fn poll_carries_terminations_and_expiries() {
    push_and_poll_carry_terminations_and_expiries("poll").await;
}

#[tokio::test]
async fn a_tenants_stream_carries_only_its_tenant_and_survives_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = Server::start_with(&data, PW, &flags());
    let admin = Native::login(&server, PW).await;
    let token = admin
        .tenant_operator(&["acme", "globex"], "rx-globex", "globex")
        .await
        .token;
    let mut r = Receiver::start(&server.base, &token, "push");
    let stream_id = r.stream["stream_id"].as_str().expect("id").to_string();
    // Another tenant's principal cannot see the stream.
    let (s, _) = status(&admin, &server.base, &stream_id).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let a = register(&admin, "a", json!({"tenant": "acme"})).await;
    let g = register(&admin, "g", json!({"tenant": "globex"})).await;
    terminate(&admin, &a, "acme's").await;
    terminate(&admin, &g, "globex's").await;
    // In event order: had acme's end been sent, it would come first.
    let claims = r.set();
    assert_eq!(claims["sub_id"]["id"], json!(g));

    // Refused while the server runs; acknowledged; kill -9; pushed after the restart.
    r.say("fail 1000000");
    let g2 = register(&admin, "g2", json!({"tenant": "globex"})).await;
    terminate(&admin, &g2, "before the crash").await;
    server.kill_9();
    r.say("ok");
    let server = Server::start_with(&data, PW, &flags());
    let claims = r.set();
    assert_eq!(claims["sub_id"]["id"], json!(g2));
    let reason = revoked(&claims)["reason_admin"]["en"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.contains("before the crash"), "{claims}");
    drop(server);
}
