//! Test harness: a real server on 127.0.0.1:0 over a fresh SQLite store and a manual clock.

#![allow(dead_code)]

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sessiond_api::AppState;
use sessiond_core::registry::RegistryConfig;
use sessiond_core::rules::bulk::ConfirmKey;
use sessiond_core::{ManualClock, Registry, Store};
use sessiond_store_sqlite::SqliteStore;
use std::net::SocketAddr;
use std::sync::Arc;

pub const ADMIN_PW: &str = "admin-password-1";

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub registry: Arc<Registry>,
    pub clock: Arc<ManualClock>,
    pub admin: String,
    _dir: tempfile::TempDir,
    _server: tokio::task::JoinHandle<()>,
}

pub async fn spawn() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(tweak: impl FnOnce(&mut AppState)) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("t.db")).expect("open store");
    let clock = Arc::new(ManualClock::at_default());
    let registry = Arc::new(
        Registry::new(
            Arc::new(store) as Arc<dyn Store>,
            clock.clone(),
            RegistryConfig::default(),
            ConfirmKey::random().expect("rng"),
        )
        .with_seal_key(sessiond_core::secretbox::SealKey::new([7; 32])),
    );
    registry
        .bootstrap(Some(ADMIN_PW.into()))
        .await
        .expect("bootstrap");
    let mut state = AppState::new(registry.clone());
    tweak(&mut state);
    let app = sessiond_api::app(state).into_make_service_with_connect_info::<SocketAddr>();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let http = reqwest::Client::new();
    let base = format!("http://{addr}");
    let mut app = TestApp {
        base,
        http,
        registry,
        clock,
        admin: String::new(),
        _dir: dir,
        _server: server,
    };
    app.admin = app.login("admin", ADMIN_PW).await;
    app
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1{}", self.base, path)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut rb = self.http.request(method, self.url(path));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let v = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, v)
    }

    pub async fn login(&self, user: &str, pw: &str) -> String {
        let (s, v) = self
            .call(
                Method::POST,
                "/auth/login",
                None,
                Some(json!({"username": user, "password": pw})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "login {user}: {v}");
        v["token"].as_str().expect("token").to_string()
    }

    /// Creates a principal (as admin) and logs it in.
    pub async fn principal(&self, name: &str, role: &str, tenant: Option<&str>) -> String {
        let mut body = json!({"name": name, "password": "password-of-" , "role": role});
        body["password"] = json!(format!("password-of-{name}"));
        if let Some(t) = tenant {
            body["tenant"] = json!(t);
        }
        let (s, v) = self
            .call(Method::POST, "/principals", Some(&self.admin), Some(body))
            .await;
        assert_eq!(s, StatusCode::CREATED, "create principal {name}: {v}");
        self.login(name, &format!("password-of-{name}")).await
    }

    pub async fn tenant(&self, name: &str) -> u64 {
        let (s, v) = self
            .call(
                Method::POST,
                "/tenants",
                Some(&self.admin),
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "create tenant: {v}");
        v["id"].as_u64().expect("id")
    }

    /// Registers a session; returns (id, token).
    pub async fn register(&self, token: &str, body: Value) -> (String, String) {
        let (s, v) = self
            .call(Method::POST, "/sessions", Some(token), Some(body))
            .await;
        assert_eq!(s, StatusCode::CREATED, "register: {v}");
        (
            v["session"]["id"].as_str().expect("id").to_string(),
            v["token"].as_str().expect("token").to_string(),
        )
    }
}

pub fn smb(name: &str, ip: &str) -> Value {
    json!({"service": "smb", "node_id": "node-1", "user": {"domain": "ACTIVE_DIRECTORY", "name": name},
           "originator": ip, "share_names": ["home"]})
}

// ---- checks through the native API, shared by the dialect contract tests ----

/// (state, ended_by) through the native API as the global admin.
pub async fn state_of(app: &TestApp, id: &str) -> (String, Option<String>) {
    let (s, v) = app
        .call(
            Method::GET,
            &format!("/sessions/{id}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "get {id}: {v}");
    (
        v["state"].as_str().expect("state").to_string(),
        v["ended_by"].as_str().map(str::to_string),
    )
}

pub async fn assert_active(app: &TestApp, ids: &[&str]) {
    for id in ids {
        assert_eq!(
            state_of(app, id).await.0,
            "active",
            "{id} must be untouched"
        );
    }
}

pub async fn assert_terminated_by(app: &TestApp, ids: &[&str], by: &str) {
    for id in ids {
        assert_eq!(
            state_of(app, id).await,
            ("terminated".to_string(), Some(by.to_string())),
            "{id}"
        );
    }
}

/// Ids of live sessions of a service in a tenant, as the admin sees them natively.
pub async fn live_ids(app: &TestApp, service: &str, tenant: &str) -> Vec<String> {
    let (s, v) = app
        .call(
            Method::GET,
            &format!("/sessions?service={service}&tenant={tenant}&limit=1000"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| s["id"].as_str().expect("id").to_string())
        .collect()
}

/// Sends a request whose answer must be JSON with a JSON content type, errors included
/// (vendor clients parse every body); anything else fails the test. Returns status and body.
pub async fn json_answer(rb: reqwest::RequestBuilder, path: &str) -> (StatusCode, Value) {
    let (status, _, v) = json_answer_with_headers(rb, path).await;
    (status, v)
}

/// [`json_answer`], also returning the answer's headers.
pub async fn json_answer_with_headers(
    rb: reqwest::RequestBuilder,
    path: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let resp = rb.send().await.expect("request");
    let status = resp.status();
    let headers = resp.headers().clone();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = resp.text().await.expect("body");
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{path}: answer is not JSON ({e}): {status} {text:?}"));
    assert!(
        ctype.starts_with("application/json"),
        "{path}: content-type {ctype:?}"
    );
    (status, headers, v)
}
