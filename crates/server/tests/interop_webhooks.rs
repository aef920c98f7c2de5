//! Webhooks judged by Standard Webhooks' reference library (`standardwebhooks`, Python, in
//! the interop virtualenv): every delivery verifies and a tampered copy does not; a receiver
//! failing three times gets the event on the fourth attempt, with the attempts in the log;
//! one that stays down is disabled with a reason; an acknowledged termination is delivered
//! after kill -9; a tenant's webhook never carries another tenant's events.

mod common;

use common::{Native, PyChild, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PW: &str = "webhook-test-password";
/// A safety net only: each wait ends on a line from the receiver or a state change.
const WAIT: Duration = Duration::from_secs(60);
/// Fast retries, a short window: what the flags are for.
const FLAGS: [&str; 5] = [
    "--webhooks-allow-private",
    "--webhook-retry-base",
    "100ms",
    "--webhook-retry-window",
    "3s",
];

fn flags() -> Vec<String> {
    FLAGS.iter().map(|s| s.to_string()).collect()
}

/// The Python receiver: its port, its stdin (commands) and its output lines.
struct Receiver {
    py: PyChild,
    port: u16,
}

impl Receiver {
    fn start() -> Receiver {
        let py = PyChild::start("standardwebhooks.webhooks", "webhook_receiver.py", &[]);
        let first = py.next_line(WAIT);
        let port = first
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("receiver said {first:?}"));
        Receiver { py, port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn say(&mut self, line: &str) {
        self.py.send(line);
        self.until("ACK ");
    }

    /// Reads lines until one starts with `prefix`; checks every delivery's signatures on
    /// the way. Returns the rest of that line.
    fn until(&self, prefix: &str) -> String {
        loop {
            let line = self.py.next_line(WAIT);
            assert_ne!(line, "TAMPERED-ACCEPTED", "a tampered message verified");
            assert!(!line.starts_with("BAD-SIGNATURE"), "{line}");
            if let Some(rest) = line.strip_prefix(prefix) {
                return rest.to_string();
            }
        }
    }

    /// The next delivered event (its signature verified, a tampered copy rejected).
    fn event(&self) -> Value {
        let line = self.until("EVENT ");
        serde_json::from_str(&line).expect("event JSON")
    }
}

async fn register(n: &Native, name: &str, tenant: Option<&str>) -> String {
    let mut body = json!({"service": "smb", "user": {"name": name}});
    if let Some(t) = tenant {
        body["tenant"] = json!(t);
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

/// Creates a webhook of terminations to `r`, and hands the receiver its secret.
async fn hook(n: &Native, r: &mut Receiver) -> String {
    let (s, v) = n
        .call(
            Method::POST,
            "/webhooks",
            Some(json!({"url": r.url(), "types": ["session.terminated"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let secret = v["secret"].as_str().expect("secret").to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    r.say(&secret);
    let id = v["webhook"]["id"].as_str().expect("id").to_string();
    // The secret is shown once: never in a listing.
    let (_, list) = n.call(Method::GET, "/webhooks", None).await;
    assert!(!list.to_string().contains(&secret));
    id
}

#[tokio::test]
async fn deliveries_verify_and_retries_are_logged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_with(&dir.path().join("data"), PW, &flags());
    let n = Native::login(&server, PW).await;
    let mut r = Receiver::start();
    let id = hook(&n, &mut r).await;

    // The test message is signed like every delivery.
    let (s, v) = n
        .call(Method::POST, &format!("/webhooks/{id}/test"), None)
        .await;
    assert_eq!(
        (s, v["delivered"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{v}"
    );
    let test = r.event();
    assert_eq!(test["type"], "webhook.test");

    // Three failures, then success: delivered once, four attempts logged.
    r.say("fail 3");
    let sid = register(&n, "alice", None).await;
    terminate(&n, &sid, "left").await;
    let e = r.event();
    assert_eq!(e["type"], "session.terminated");
    assert_eq!(e["session"]["id"], json!(sid));
    assert_eq!(e["session"]["end_reason"], "left");
    assert_eq!(
        e["session"],
        n.session(&sid).await,
        "the session as GET shows it"
    );
    let event_id = e["id"].as_u64().expect("event id");
    // The worker records a page's attempts after sending them, so the log can trail the
    // receiver by that write: wait for the delivered attempt to be logged.
    let started = Instant::now();
    let (attempts, log) = loop {
        let (s, log) = n
            .call(Method::GET, &format!("/webhooks/{id}/deliveries"), None)
            .await;
        assert_eq!(s, StatusCode::OK, "{log}");
        let attempts: Vec<(u64, bool, Option<u64>)> = log["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|a| a["event_id"].as_u64() == Some(event_id))
            .map(|a| {
                (
                    a["attempt"].as_u64().unwrap_or(0),
                    a["delivered"].as_bool().unwrap_or(false),
                    a["status"].as_u64(),
                )
            })
            .collect();
        if attempts.iter().any(|a| a.1) || started.elapsed() > WAIT {
            break (attempts, log);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        attempts,
        vec![
            (4, true, Some(204)),
            (3, false, Some(500)),
            (2, false, Some(500)),
            (1, false, Some(500)),
        ],
        "newest first: {log}"
    );
    let (_, w) = n.call(Method::GET, &format!("/webhooks/{id}"), None).await;
    assert_eq!(w["status"], "enabled");
    assert_eq!(w["delivered_through"].as_u64(), Some(event_id));
}

#[tokio::test]
async fn a_receiver_down_for_the_whole_window_is_disabled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_with(&dir.path().join("data"), PW, &flags());
    let n = Native::login(&server, PW).await;
    // Nothing listens there: take a free port and let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let (s, v) = n
        .call(
            Method::POST,
            "/webhooks",
            Some(json!({"url": format!("http://127.0.0.1:{port}/down")})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["webhook"]["id"].as_str().expect("id").to_string();
    let sid = register(&n, "bob", None).await;
    terminate(&n, &sid, "x").await;
    let started = Instant::now();
    let w = loop {
        let (_, w) = n.call(Method::GET, &format!("/webhooks/{id}"), None).await;
        if w["status"] == "disabled" {
            break w;
        }
        assert!(started.elapsed() < WAIT, "still not disabled: {w}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let why = w["status_reason"].as_str().unwrap_or_default();
    assert!(why.contains("failed attempts"), "{w}");
    let (_, log) = n
        .call(Method::GET, &format!("/webhooks/{id}/deliveries"), None)
        .await;
    let items = log["items"].as_array().expect("items");
    assert!(items.len() >= 2, "{log}");
    assert!(
        items
            .iter()
            .all(|a| a["delivered"] == false && a["error"].is_string()),
        "{log}"
    );
}

#[tokio::test]
async fn an_acknowledged_termination_is_delivered_after_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = Server::start_with(&data, PW, &flags());
    let n = Native::login(&server, PW).await;
    let mut r = Receiver::start();
    hook(&n, &mut r).await;
    // The receiver refuses everything while the server runs.
    r.say("fail 1000000");
    let sid = register(&n, "carol", None).await;
    terminate(&n, &sid, "before the crash").await;
    server.kill_9();
    r.say("ok");
    let server = Server::start_with(&data, PW, &flags());
    let e = r.event();
    assert_eq!(e["type"], "session.terminated");
    assert_eq!(e["session"]["id"], json!(sid));
    assert_eq!(e["session"]["end_reason"], "before the crash");
    drop(server);
}

#[tokio::test]
async fn a_tenants_webhook_carries_only_its_tenant() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_with(&dir.path().join("data"), PW, &flags());
    let admin = Native::login(&server, PW).await;
    let op = admin
        .tenant_operator(&["acme", "globex"], "op-globex", "globex")
        .await;
    let mut r = Receiver::start();
    let id = hook(&op, &mut r).await;
    // The default tenant's admin sees it, in the tenant it belongs to.
    let (_, w) = admin
        .call(Method::GET, &format!("/webhooks/{id}"), None)
        .await;
    assert_eq!(w["tenant"], "globex");
    let in_acme = register(&admin, "a", Some("acme")).await;
    let in_globex = register(&admin, "g", Some("globex")).await;
    terminate(&admin, &in_acme, "acme's").await;
    terminate(&admin, &in_globex, "globex's").await;
    // Delivered in event order: had acme's end been delivered, it would come first.
    let e = r.event();
    assert_eq!(e["session"]["id"], json!(in_globex));
    assert_eq!(e["tenant"], "globex");
}
