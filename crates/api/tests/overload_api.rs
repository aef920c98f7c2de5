//! The global load shedding's 503: every dialect answers it in its own error format, always
//! with `Retry-After`, and the in-flight limit is one for the whole application.
//!
//! Driven without timing: a limit of 0 sheds every request; for the global limit, a request
//! held in flight is observed through `Expect: 100-continue` (the server sends `100 Continue`
//! only once the handler reads the body, that is while the request holds its permit).

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};
use sessiond_api::AppState;
use sessiond_core::registry::RegistryConfig;
use sessiond_core::rules::bulk::ConfirmKey;
use sessiond_core::{ManualClock, Registry, Store};
use sessiond_store_sqlite::SqliteStore;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

const MESSAGE: &str = "server overloaded; retry shortly";

/// Application state over a fresh store, with `max_in_flight` requests served at once.
fn state(max_in_flight: usize) -> (AppState, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("t.db")).expect("open store");
    let registry = Registry::new(
        Arc::new(store) as Arc<dyn Store>,
        Arc::new(ManualClock::at_default()),
        RegistryConfig::default(),
        ConfirmKey::random().expect("rng"),
    );
    let mut state = AppState::new(Arc::new(registry));
    state.max_in_flight = max_in_flight;
    (state, dir)
}

struct Answer {
    status: StatusCode,
    retry_after: Option<String>,
    content_type: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// The answer of an application that sheds everything (limit 0) to `method path`.
async fn shed(method: Method, path: &str, accept: Option<&str>) -> Answer {
    let (state, _dir) = state(0);
    let mut rb = Request::builder().method(method).uri(path);
    if let Some(a) = accept {
        rb = rb.header(header::ACCEPT, a);
    }
    let req = rb.body(Body::empty()).expect("request");
    answer(state, req).await
}

/// What the application answers `req` with.
async fn answer(state: AppState, req: Request<Body>) -> Answer {
    let resp = sessiond_api::app(state)
        .oneshot(req)
        .await
        .expect("infallible");
    let header = |name| {
        resp.headers()
            .get(name)
            .map(|v: &axum::http::HeaderValue| v.to_str().expect("ascii").to_string())
    };
    let (retry_after, content_type) = (header(header::RETRY_AFTER), header(header::CONTENT_TYPE));
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body");
    Answer {
        status,
        retry_after,
        content_type,
        body: String::from_utf8(bytes.to_vec()).expect("utf-8"),
    }
}

fn assert_503(a: &Answer, content_type: &str) {
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.body);
    assert_eq!(a.retry_after.as_deref(), Some("1"), "{}", a.body);
    assert_eq!(a.content_type.as_deref(), Some(content_type), "{}", a.body);
}

#[tokio::test]
async fn native_overload_answer() {
    for path in [
        "/api/v1/sessions",
        "/healthz",
        "/nope",
        "/v10/x",
        "/api/v1/v1",
    ] {
        let a = shed(Method::GET, path, None).await;
        assert_503(&a, "application/json");
        assert_eq!(
            a.json(),
            json!({"error": {"code": "overloaded", "message": MESSAGE}}),
            "{path}"
        );
    }
}

#[tokio::test]
async fn qumulo_overload_answer() {
    for path in ["/v1/smb/sessions/", "/v1", "/v1/session/login"] {
        let a = shed(Method::GET, path, None).await;
        assert_503(&a, "application/json");
        assert_eq!(
            a.json(),
            json!({
                "module": "sessiond.qumulo",
                "error_class": "http_service_unavailable_error",
                "description": MESSAGE,
                "stack": [],
                "user_visible": true,
            }),
            "{path}"
        );
    }
}

#[tokio::test]
async fn vsphere_overload_answer() {
    let a = shed(
        Method::GET,
        "/sdk/vim25/8.0.2.0/SessionManager/SessionManager/sessionList",
        None,
    )
    .await;
    assert_503(&a, "application/json");
    assert_eq!(
        a.json(),
        json!({
            "_typeName": "SystemError",
            "faultstring": format!("A general system error occurred: {MESSAGE}"),
            "reason": MESSAGE,
            "faultMessage": []
        })
    );
    // SOAP clients (pyvmomi) read only 200 and 500: the rest of /sdk answers a SystemError
    // fault with 500.
    for (method, path) in [
        (Method::POST, "/sdk"),
        (Method::GET, "/sdk/vimServiceVersions.xml"),
    ] {
        let a = shed(method, path, None).await;
        assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", a.body);
        assert!(
            a.content_type
                .as_deref()
                .is_some_and(|c| c.starts_with("text/xml")),
            "{:?}",
            a.content_type
        );
        assert!(a.body.contains("<faultstring>"), "{}", a.body);
        assert!(a.body.contains(r#"xsi:type="SystemError""#), "{}", a.body);
        assert!(a.body.contains(MESSAGE), "{}", a.body);
    }
}

#[tokio::test]
async fn dds_overload_answer() {
    for path in ["/v3/acme/nodes/n1/sessions", "/v3/"] {
        let a = shed(Method::GET, path, None).await;
        assert_503(&a, "application/json");
        assert_eq!(
            a.json(),
            json!({"error_code": "DBS.200000", "error_msg": MESSAGE}),
            "{path}"
        );
    }
}

#[tokio::test]
async fn commvault_overload_answer_in_json_or_xml_by_accept() {
    for root in ["/webconsole/api", "/commandcenter/api"] {
        let path = format!("{root}/Sessions");
        let a = shed(Method::GET, &path, None).await;
        assert_503(&a, "application/json");
        assert_eq!(
            a.json(),
            json!({"errorCode": 1, "errorMessage": MESSAGE}),
            "{path}"
        );
        let a = shed(Method::POST, &format!("{root}/"), Some("application/xml")).await;
        assert_503(&a, "application/xml; charset=utf-8");
        assert_eq!(
            a.body,
            format!("<Api_GenericResp errorCode=\"1\" errorMessage=\"{MESSAGE}\" />")
        );
    }
}

/// Reads from `conn` until `needle` has arrived; what was read.
async fn read_until(conn: &mut tokio::net::TcpStream, needle: &str) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&seen).contains(needle) {
        let n = conn.read(&mut buf).await.expect("read");
        assert!(
            n > 0,
            "closed before {needle:?}: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

#[tokio::test]
async fn the_in_flight_limit_is_global_not_per_route() {
    let (state, _dir) = state(1);
    let app = sessiond_api::app(state).into_make_service_with_connect_info::<SocketAddr>();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    // A native login whose body has not been sent: once the server asks for it, the request
    // is in its handler and holds the one permit.
    let mut held = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let body = r#"{"username":"admin","password":"x"}"#;
    let head = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    );
    held.write_all(head.as_bytes()).await.expect("write");
    let first = read_until(&mut held, "\r\n\r\n").await;
    assert!(first.starts_with("HTTP/1.1 100 Continue"), "{first}");

    // Any other route, in any dialect, is shed while it is held.
    let http = reqwest::Client::new();
    for path in ["/v1/session/login", "/api/v1/auth/login", "/healthz"] {
        let resp = http
            .post(format!("http://{addr}{path}"))
            .json(&json!({"username": "admin", "password": "x"}))
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
    }

    // Once it completes, the permit is back.
    held.write_all(body.as_bytes()).await.expect("write");
    let answer = read_until(&mut held, "\r\n\r\n").await;
    assert!(answer.contains("HTTP/1.1 401"), "{answer}");
    drop(held);
    let resp = http
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    server.abort();
}

/// A request whose body never arrives, to an application with a 5 s request timeout, on
/// paused time (the timer fires without waiting).
async fn outlived(path: &str, content_type: &str) -> Answer {
    let (mut state, _dir) = state(16);
    state.request_timeout = std::time::Duration::from_secs(5);
    let body = Body::from_stream(futures_util::stream::pending::<
        Result<axum::body::Bytes, std::io::Error>,
    >());
    let req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, content_type)
        .body(body)
        .expect("request");
    answer(state, req).await
}

#[tokio::test(start_paused = true)]
async fn a_request_that_outlives_the_timeout_gets_its_dialects_503() {
    let timed_out =
        "the request took longer than the server allows; retry, or ask for less at once";
    let a = outlived("/api/v1/auth/login", "application/json").await;
    assert_503(&a, "application/json");
    assert_eq!(
        a.json(),
        json!({"error": {"code": "timeout", "message": timed_out}})
    );
    let q = outlived("/v1/session/login", "application/json").await;
    assert_503(&q, "application/json");
    assert_eq!(
        q.json(),
        json!({
            "module": "sessiond.qumulo",
            "error_class": "http_service_unavailable_error",
            "description": timed_out,
            "stack": [],
            "user_visible": true,
        })
    );
}
