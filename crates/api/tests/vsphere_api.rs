//! The vSphere SessionManager JSON dialect over real HTTP: ServiceContent, Login/Logout,
//! currentSession, sessionList, SessionIsActive and TerminateSession (seed 002), faults for
//! every rejection, tenant and service isolation, checked against the native API.

mod common;

use common::{assert_active, assert_terminated_by, live_ids, spawn, state_of, TestApp};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

const RELEASE: &str = "8.0.3.0";
const HDR: &str = "vmware-api-session-id";

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Resp {
    fn fault(&self) -> &str {
        self.body["_typeName"].as_str().unwrap_or("<none>")
    }
}

fn sm(member: &str) -> String {
    format!("/SessionManager/SessionManager/{member}")
}

async fn send(rb: reqwest::RequestBuilder) -> Resp {
    let resp = rb.send().await.expect("request");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Resp {
        status,
        headers,
        body,
    }
}

/// A request under `/sdk/vim25/{release}` with an optional session header and JSON body.
async fn vim_at(
    app: &TestApp,
    release: &str,
    method: Method,
    path: &str,
    session: Option<&str>,
    body: Option<Value>,
) -> Resp {
    let url = format!("{}/sdk/vim25/{release}{path}", app.base);
    let mut rb = app.http.request(method, url);
    if let Some(t) = session {
        rb = rb.header(HDR, t);
    }
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    send(rb).await
}

async fn vim(
    app: &TestApp,
    method: Method,
    path: &str,
    session: Option<&str>,
    body: Option<Value>,
) -> Resp {
    vim_at(app, RELEASE, method, path, session, body).await
}

/// Logs in through the vSphere dialect; returns (token, session id).
async fn vim_login(app: &TestApp, user: &str, pw: &str) -> (String, String) {
    let r = vim(
        app,
        Method::POST,
        &sm("Login"),
        None,
        Some(json!({"userName": user, "password": pw})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "vsphere login {user}: {}", r.body);
    let token = r.headers[HDR].to_str().expect("header").to_string();
    let key = r.body["key"].as_str().expect("key").to_string();
    (token, key)
}

/// Creates a principal through the native API and logs it in through this dialect.
async fn vim_principal(
    app: &TestApp,
    name: &str,
    role: &str,
    tenant: Option<&str>,
) -> (String, String) {
    app.principal(name, role, tenant).await;
    vim_login(app, name, &format!("password-of-{name}")).await
}

/// A registered session of service `vsphere` (as a connector would register a vCenter user).
async fn vsphere_session(app: &TestApp, svc: &str, user: Value) -> String {
    app.register(
        svc,
        json!({"service": "vsphere", "user": user, "originator": "10.9.8.7"}),
    )
    .await
    .0
}

async fn terminate(app: &TestApp, token: &str, ids: &[&str]) -> Resp {
    vim(
        app,
        Method::POST,
        &sm("TerminateSession"),
        Some(token),
        Some(json!({ "sessionId": ids })),
    )
    .await
}

/// `SessionIsActive` as `token`'s caller asks it; the answer must be a 200 JSON boolean.
async fn is_active(app: &TestApp, token: &str, id: &str, user: &str) -> bool {
    let r = vim(
        app,
        Method::POST,
        &sm("SessionIsActive"),
        Some(token),
        Some(json!({"sessionID": id, "userName": user})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body.as_bool().expect("a JSON boolean")
}

/// A well-formed session id that no server ever issued (ULID time 0).
fn unknown_id(i: usize) -> String {
    format!("{:026}", i + 1)
}

fn assert_fault(r: &Resp, status: StatusCode, type_name: &str) {
    assert_eq!((r.status, r.fault()), (status, type_name), "{}", r.body);
    assert!(
        r.body["faultMessage"].is_array(),
        "every fault has a faultMessage array: {}",
        r.body
    );
    assert!(
        r.body["faultstring"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "every fault has a faultstring clients can print: {}",
        r.body
    );
    let ct = r.headers["content-type"].to_str().unwrap_or("");
    assert!(ct.starts_with("application/json"), "{ct}");
}

#[tokio::test]
async fn service_content_is_anonymous() {
    let app = spawn().await;
    let r = vim(
        &app,
        Method::GET,
        "/ServiceInstance/ServiceInstance/content",
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let c = &r.body;
    assert_eq!(c["_typeName"], "ServiceContent");
    assert_eq!(
        c["sessionManager"],
        json!({"_typeName": "ManagedObjectReference", "type": "SessionManager", "value": "SessionManager"})
    );
    assert_eq!(c["rootFolder"]["type"], "Folder");
    assert_eq!(c["propertyCollector"]["type"], "PropertyCollector");
    let about = &c["about"];
    assert_eq!(about["_typeName"], "AboutInfo");
    assert_eq!(about["apiType"], "VirtualCenter");
    assert_eq!(about["apiVersion"], RELEASE);
    assert_eq!(about["version"], "8.0.3");
    for f in [
        "name",
        "fullName",
        "vendor",
        "build",
        "osType",
        "productLineId",
    ] {
        assert!(
            about[f].as_str().is_some_and(|s| !s.is_empty()),
            "about.{f}: {about}"
        );
    }

    // Any N.N.N.N release is served, and answered in its own terms.
    let r = vim_at(
        &app,
        "9.0.0.0",
        Method::GET,
        "/ServiceInstance/ServiceInstance/content",
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["about"]["apiVersion"], "9.0.0.0");
    assert_eq!(r.body["about"]["version"], "9.0.0");

    // A stale session header does not matter for an anonymous read.
    let r = vim(
        &app,
        Method::GET,
        "/ServiceInstance/ServiceInstance/content",
        Some("garbage"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);

    let r = vim(
        &app,
        Method::GET,
        "/ServiceInstance/si-1/content",
        None,
        None,
    )
    .await;
    assert_fault(
        &r,
        StatusCode::INTERNAL_SERVER_ERROR,
        "ManagedObjectNotFound",
    );
    assert_eq!(
        r.body["obj"],
        json!({"_typeName": "ManagedObjectReference", "type": "ServiceInstance", "value": "si-1"})
    );
}

#[tokio::test]
async fn login_returns_the_token_header_and_a_user_session() {
    let app = spawn().await;
    app.principal("ops", "operator", None).await;
    let r = send(
        app.http
            .post(format!("{}/sdk/vim25/{RELEASE}{}", app.base, sm("Login")))
            .header("user-agent", "vsphere-test/1.0")
            .json(&json!({"userName": "ops", "password": "password-of-ops", "locale": "de_DE"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let token = r.headers[HDR].to_str().expect("header").to_string();
    let u = &r.body;
    let key = u["key"].as_str().expect("key");
    assert!(
        token.starts_with(&format!("{key}.")),
        "the token is the split token of the session"
    );
    let mut fields: Vec<&str> = u
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        vec![
            "_typeName",
            "callCount",
            "extensionSession",
            "fullName",
            "ipAddress",
            "key",
            "lastActiveTime",
            "locale",
            "loginTime",
            "messageLocale",
            "userAgent",
            "userName",
        ]
    );
    assert_eq!(u["_typeName"], "UserSession");
    assert_eq!(u["userName"], "ops");
    assert_eq!(u["fullName"], "ops");
    assert_eq!(u["locale"], "de_DE");
    assert_eq!(u["messageLocale"], "de_DE");
    assert_eq!(u["extensionSession"], json!(false));
    assert_eq!(u["ipAddress"], "127.0.0.1");
    assert_eq!(u["userAgent"], "vsphere-test/1.0");
    assert!(u["callCount"].is_u64(), "{u}");
    for t in ["loginTime", "lastActiveTime"] {
        let s = u[t].as_str().expect("time string");
        assert!(
            s.ends_with('Z') && s.contains('T') && s.len() == "2026-11-23T14:34:36.123456Z".len(),
            "{t} is RFC 3339 with microseconds: {s}"
        );
    }
    assert!(
        !u.to_string().contains(&token),
        "the token travels only in the header"
    );

    // The login is a session of service vsphere, seen natively.
    let (s, v) = app
        .call(
            Method::GET,
            &format!("/sessions/{key}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (&v["service"], &v["kind"], &v["state"], &v["locale"]),
        (
            &json!("vsphere"),
            &json!("login"),
            &json!("active"),
            &json!("de_DE")
        )
    );

    // The token authenticates this dialect (and, being an API token, the native API too).
    let r = vim(&app, Method::GET, &sm("currentSession"), Some(&token), None).await;
    assert_eq!((r.status, &r.body["key"]), (StatusCode::OK, &json!(key)));

    // Without a locale the session reports the default one.
    let r = vim(
        &app,
        Method::POST,
        &sm("Login"),
        None,
        Some(json!({"userName": "ops", "password": "password-of-ops"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        (&r.body["locale"], &r.body["messageLocale"]),
        (&json!("en"), &json!("en"))
    );
    assert_eq!(r.body["userAgent"], "", "absent values are empty strings");
}

#[tokio::test]
async fn bad_logins_are_invalid_login_faults() {
    let app = spawn().await;
    app.principal("ops", "operator", None).await;
    let before = live_ids(&app, "vsphere", "*").await;
    let wrong = vim(
        &app,
        Method::POST,
        &sm("Login"),
        None,
        Some(json!({"userName": "ops", "password": "nope"})),
    )
    .await;
    assert_fault(&wrong, StatusCode::INTERNAL_SERVER_ERROR, "InvalidLogin");
    assert!(wrong.headers.get(HDR).is_none());
    let ghost = vim(
        &app,
        Method::POST,
        &sm("Login"),
        None,
        Some(json!({"userName": "ghost", "password": "nope"})),
    )
    .await;
    assert_eq!(
        (ghost.status, &ghost.body),
        (wrong.status, &wrong.body),
        "unknown user and wrong password answer alike"
    );

    let r = vim(
        &app,
        Method::POST,
        &sm("Login"),
        None,
        Some(json!({"userName": "ops", "password": "password-of-ops", "locale": "not a locale"})),
    )
    .await;
    assert_fault(&r, StatusCode::INTERNAL_SERVER_ERROR, "InvalidLocale");
    let r = vim(
        &app,
        Method::POST,
        &sm("Login"),
        None,
        Some(json!({"userName": "ops"})),
    )
    .await;
    assert_fault(&r, StatusCode::INTERNAL_SERVER_ERROR, "InvalidRequest");
    assert_eq!(
        live_ids(&app, "vsphere", "*").await,
        before,
        "no session made"
    );
}

#[tokio::test]
async fn repeated_failures_back_off_with_retry_after() {
    let app = spawn().await;
    app.principal("ops", "operator", None).await;
    let body = |pw: &str| Some(json!({"userName": "ops", "password": pw}));
    for _ in 0..5 {
        let r = vim(&app, Method::POST, &sm("Login"), None, body("nope")).await;
        assert_fault(&r, StatusCode::INTERNAL_SERVER_ERROR, "InvalidLogin");
    }
    // Even the right password is refused during the backoff, as an InvalidLogin that says
    // when to retry (vSphere's lockout answers InvalidLogin too).
    let r = vim(
        &app,
        Method::POST,
        &sm("Login"),
        None,
        body("password-of-ops"),
    )
    .await;
    assert_fault(&r, StatusCode::INTERNAL_SERVER_ERROR, "InvalidLogin");
    assert!(r.headers.get("retry-after").is_some(), "{:?}", r.headers);
    assert_eq!(r.body["faultMessage"].as_array().map(Vec::len), Some(1));
    app.clock.advance(Duration::from_secs(5));
    let r = vim(
        &app,
        Method::POST,
        &sm("Login"),
        None,
        body("password-of-ops"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn login_ignores_a_stale_session_header() {
    let app = spawn().await;
    app.principal("ops", "operator", None).await;
    let (old, old_key) = vim_login(&app, "ops", "password-of-ops").await;
    let r = vim(&app, Method::POST, &sm("Logout"), Some(&old), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    for stale in [old.as_str(), "garbage", "01J00000000000000000000000.abc"] {
        let r = vim(
            &app,
            Method::POST,
            &sm("Login"),
            Some(stale),
            Some(json!({"userName": "ops", "password": "password-of-ops"})),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "with {stale:?}: {}", r.body);
        assert_ne!(r.body["key"], json!(old_key), "a new session each time");
        assert!(r.headers.get(HDR).is_some());
    }
}

#[tokio::test]
async fn current_session_is_the_callers_or_unset() {
    let app = spawn().await;
    app.principal("ops", "operator", None).await;
    let (tok, key) = vim_login(&app, "ops", "password-of-ops").await;
    app.clock.advance(Duration::from_secs(90));
    let r = vim(&app, Method::GET, &sm("currentSession"), Some(&tok), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["_typeName"], "UserSession");
    assert_eq!(r.body["key"], json!(key));
    assert_eq!(r.body["userName"], "ops");
    let login = r.body["loginTime"].as_str().expect("loginTime").to_string();
    let last = r.body["lastActiveTime"].as_str().expect("last").to_string();
    assert!(
        last > login,
        "this call is the latest activity: {login} < {last}"
    );

    // Not logged in (no header, or one that no longer authenticates): an unset value, which
    // VI/JSON renders as an empty 200 body, not a fault.
    for t in [None, Some("garbage")] {
        let r = vim(&app, Method::GET, &sm("currentSession"), t, None).await;
        assert_eq!((r.status, &r.body), (StatusCode::OK, &Value::Null), "{t:?}");
    }
}

#[tokio::test]
async fn logout_closes_the_session_and_its_header_stops_working() {
    let app = spawn().await;
    app.principal("ops", "operator", None).await;
    let (tok, key) = vim_login(&app, "ops", "password-of-ops").await;
    let r = vim(&app, Method::POST, &sm("Logout"), Some(&tok), None).await;
    assert_eq!((r.status, &r.body), (StatusCode::NO_CONTENT, &Value::Null));
    assert_eq!(
        state_of(&app, &key).await,
        ("closed".to_string(), Some("ops".to_string()))
    );
    for (m, member) in [(Method::GET, "sessionList"), (Method::POST, "Logout")] {
        let r = vim(&app, m, &sm(member), Some(&tok), None).await;
        assert_fault(&r, StatusCode::INTERNAL_SERVER_ERROR, "NotAuthenticated");
    }
    let r = terminate(&app, &tok, &[]).await;
    assert_fault(&r, StatusCode::INTERNAL_SERVER_ERROR, "NotAuthenticated");
    let r = vim(&app, Method::GET, &sm("currentSession"), Some(&tok), None).await;
    assert_eq!((r.status, &r.body), (StatusCode::OK, &Value::Null));
}

#[tokio::test]
async fn session_list_is_own_tenant_and_vsphere_only() {
    let app = spawn().await;
    app.tenant("acme").await;
    let svc = app.principal("connector", "service", None).await;
    let (ops, ops_key) = vim_principal(&app, "ops", "operator", None).await;
    let (_, viewer_key) = vim_principal(&app, "watcher", "viewer", None).await;
    let (acme_ops, acme_key) = vim_principal(&app, "acme-ops", "operator", Some("acme")).await;
    let alice = vsphere_session(
        &app,
        &svc,
        json!({"domain": "ACTIVE_DIRECTORY", "name": "alice", "full_name": "Alice Liddell"}),
    )
    .await;
    let (smb_id, _) = app.register(&svc, common::smb("bob", "10.0.0.2")).await;
    // A closed vsphere session is not listed either.
    let (gone_tok, gone_key) = vim_login(&app, "ops", "password-of-ops").await;
    let r = vim(&app, Method::POST, &sm("Logout"), Some(&gone_tok), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);

    let keys = |r: &Resp| -> Vec<String> {
        r.body
            .as_array()
            .expect("array")
            .iter()
            .map(|u| u["key"].as_str().expect("key").to_string())
            .collect()
    };
    let r = vim(&app, Method::GET, &sm("sessionList"), Some(&ops), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let mut want = vec![ops_key.clone(), viewer_key.clone(), alice.clone()];
    want.sort();
    assert_eq!(keys(&r), want);
    assert!(!keys(&r).contains(&smb_id) && !keys(&r).contains(&gone_key));
    let a = r
        .body
        .as_array()
        .expect("array")
        .iter()
        .find(|u| u["key"] == json!(alice))
        .expect("alice");
    assert_eq!(a["_typeName"], "UserSession");
    assert_eq!(a["userName"], "ACTIVE_DIRECTORY\\alice");
    assert_eq!(a["fullName"], "Alice Liddell");
    assert_eq!(a["ipAddress"], "10.9.8.7");

    // The default tenant's admin, global on the native API, sees only its own tenant here.
    let (admin_vim, admin_key) = vim_login(&app, "admin", common::ADMIN_PW).await;
    let r = vim(
        &app,
        Method::GET,
        &sm("sessionList"),
        Some(&admin_vim),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(keys(&r).contains(&admin_key) && !keys(&r).contains(&acme_key));

    let r = vim(&app, Method::GET, &sm("sessionList"), Some(&acme_ops), None).await;
    assert_eq!(keys(&r), vec![acme_key]);

    // sessionList needs Sessions.TerminateSession, as in vSphere.
    let viewer = vim_login(&app, "watcher", "password-of-watcher").await.0;
    let r = vim(&app, Method::GET, &sm("sessionList"), Some(&viewer), None).await;
    assert_fault(&r, StatusCode::INTERNAL_SERVER_ERROR, "NoPermission");
    assert_eq!(r.body["privilegeId"], "Sessions.TerminateSession");
    assert_eq!(
        r.body["object"],
        json!({"_typeName": "ManagedObjectReference", "type": "SessionManager", "value": "SessionManager"})
    );
    assert_eq!(
        r.body["missingPrivileges"][0]["privilegeIds"],
        json!(["Sessions.TerminateSession"])
    );

    let r = vim(&app, Method::GET, &sm("sessionList"), None, None).await;
    assert_fault(&r, StatusCode::INTERNAL_SERVER_ERROR, "NotAuthenticated");
    assert_eq!(r.body["privilegeId"], "System.View");
}

#[tokio::test]
async fn session_is_active_truth_table() {
    let app = spawn().await;
    app.tenant("acme").await;
    let svc = app.principal("connector", "service", None).await;
    let acme_svc = app
        .principal("acme-connector", "service", Some("acme"))
        .await;
    let (ops, _) = vim_principal(&app, "ops", "operator", None).await;
    let (_, watcher_key) = vim_principal(&app, "watcher", "viewer", None).await;
    let watcher_native = app.login("watcher", "password-of-watcher").await;
    let (s, who) = app
        .call(Method::GET, "/auth/whoami", Some(&watcher_native), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let native_key = who["session_id"].as_str().expect("id").to_string();
    let alice = vsphere_session(
        &app,
        &svc,
        json!({"domain": "ACTIVE_DIRECTORY", "name": "alice"}),
    )
    .await;
    let foreign = vsphere_session(&app, &acme_svc, json!({"name": "carol"})).await;
    let (gone_tok, gone_key) = vim_login(&app, "watcher", "password-of-watcher").await;
    vim(&app, Method::POST, &sm("Logout"), Some(&gone_tok), None).await;
    let (short, _) = app
        .register(
            &svc,
            json!({"service": "vsphere", "user": {"name": "dave"}, "idle_timeout": "1m"}),
        )
        .await;

    let ask = |tok: String, id: String, user: &'static str| {
        let app = &app;
        async move { is_active(app, &tok, &id, user).await }
    };
    assert!(ask(ops.clone(), watcher_key.clone(), "watcher").await);
    assert!(
        ask(ops.clone(), watcher_key.clone(), "WATCHER").await,
        "names compare case-insensitively"
    );
    assert!(ask(ops.clone(), alice.clone(), "ACTIVE_DIRECTORY\\alice").await);
    assert!(
        !ask(ops.clone(), alice.clone(), "alice").await,
        "the userName as UserSession shows it"
    );
    assert!(
        !ask(ops.clone(), watcher_key.clone(), "ops").await,
        "wrong userName"
    );
    assert!(
        !ask(ops.clone(), unknown_id(7), "watcher").await,
        "unknown id"
    );
    assert!(
        !ask(ops.clone(), "not-an-id".into(), "watcher").await,
        "malformed id"
    );
    assert!(
        !ask(ops.clone(), gone_key.clone(), "watcher").await,
        "ended"
    );
    assert!(
        !ask(ops.clone(), native_key.clone(), "watcher").await,
        "a sessiond login is no vsphere session"
    );
    assert!(
        !ask(ops.clone(), foreign.clone(), "carol").await,
        "another tenant's"
    );
    // Not even the default tenant's admin sees another tenant here.
    let (admin_vim, _) = vim_login(&app, "admin", common::ADMIN_PW).await;
    assert!(!ask(admin_vim.clone(), foreign.clone(), "carol").await);
    // A viewer may ask too (Sessions.ValidateSession maps to Sessions.Read).
    let viewer = vim_login(&app, "watcher", "password-of-watcher").await.0;
    assert!(ask(viewer, alice.clone(), "ACTIVE_DIRECTORY\\alice").await);
    // Past its idle timeout a session is no longer active, even before the sweeper ends it.
    assert!(ask(ops.clone(), short.clone(), "dave").await);
    app.clock.advance(Duration::from_secs(120));
    assert!(!ask(ops.clone(), short.clone(), "dave").await);

    let r = vim(
        &app,
        Method::POST,
        &sm("SessionIsActive"),
        Some(&ops),
        Some(json!({"sessionID": 5, "userName": "x"})),
    )
    .await;
    assert_fault(&r, StatusCode::INTERNAL_SERVER_ERROR, "InvalidRequest");
    let r = vim(
        &app,
        Method::POST,
        &sm("SessionIsActive"),
        None,
        Some(json!({"sessionID": alice, "userName": "alice"})),
    )
    .await;
    assert_fault(&r, StatusCode::INTERNAL_SERVER_ERROR, "NotAuthenticated");
}

#[tokio::test]
async fn terminate_is_sequential_and_stops_at_the_first_unknown_id() {
    let app = spawn().await;
    let svc = app.principal("connector", "service", None).await;
    let (ops, _) = vim_principal(&app, "ops", "operator", None).await;
    let a = vsphere_session(&app, &svc, json!({"name": "a"})).await;
    let b = vsphere_session(&app, &svc, json!({"name": "b"})).await;
    let c = vsphere_session(&app, &svc, json!({"name": "c"})).await;
    let missing = unknown_id(1);

    let r = terminate(&app, &ops, &[&a, &missing, &c]).await;
    assert_fault(&r, StatusCode::INTERNAL_SERVER_ERROR, "NotFound");
    assert!(
        r.body.to_string().contains(&missing),
        "the fault names the failing id: {}",
        r.body
    );
    assert_terminated_by(&app, &[&a], "ops").await;
    assert_active(&app, &[&b, &c]).await;

    // An already-ended id is NotFound too, and stops the list there.
    let r = terminate(&app, &ops, &[&a, &b]).await;
    assert_fault(&r, StatusCode::INTERNAL_SERVER_ERROR, "NotFound");
    assert_active(&app, &[&b]).await;
    // A malformed id is simply not found.
    let r = terminate(&app, &ops, &["nope", &b]).await;
    assert_fault(&r, StatusCode::INTERNAL_SERVER_ERROR, "NotFound");
    assert_active(&app, &[&b]).await;

    let r = terminate(&app, &ops, &[&b, &c]).await;
    assert_eq!((r.status, &r.body), (StatusCode::NO_CONTENT, &Value::Null));
    assert_terminated_by(&app, &[&b, &c], "ops").await;
}

#[tokio::test]
async fn terminating_the_own_session_is_invalid_argument_after_earlier_ones() {
    let app = spawn().await;
    let svc = app.principal("connector", "service", None).await;
    let (ops, own) = vim_principal(&app, "ops", "operator", None).await;
    let x = vsphere_session(&app, &svc, json!({"name": "x"})).await;
    let y = vsphere_session(&app, &svc, json!({"name": "y"})).await;
    let r = terminate(&app, &ops, &[&x, &own, &y]).await;
    assert_fault(&r, StatusCode::INTERNAL_SERVER_ERROR, "InvalidArgument");
    assert_eq!(r.body["invalidProperty"], "sessionId");
    assert_terminated_by(&app, &[&x], "ops").await;
    assert_active(&app, &[&own, &y]).await;
    let r = vim(&app, Method::GET, &sm("currentSession"), Some(&ops), None).await;
    assert_eq!(r.body["key"], json!(own), "the caller is still logged in");
}

#[tokio::test]
async fn other_tenants_and_services_are_not_found_and_stop_the_list() {
    let app = spawn().await;
    app.tenant("acme").await;
    let svc = app.principal("connector", "service", None).await;
    let acme_svc = app
        .principal("acme-connector", "service", Some("acme"))
        .await;
    // The default tenant's admin: global on the native API, not in a vendor dialect.
    let (admin, _) = vim_login(&app, "admin", common::ADMIN_PW).await;
    let local1 = vsphere_session(&app, &svc, json!({"name": "l1"})).await;
    let local2 = vsphere_session(&app, &svc, json!({"name": "l2"})).await;
    let foreign = vsphere_session(&app, &acme_svc, json!({"name": "f"})).await;
    let (smb_id, _) = app.register(&svc, common::smb("bob", "10.0.0.2")).await;
    let native = app.principal("native-user", "viewer", None).await;
    let (_, who) = app
        .call(Method::GET, "/auth/whoami", Some(&native), None)
        .await;
    let native_key = who["session_id"].as_str().expect("id").to_string();

    let r = terminate(&app, &admin, &[&local1, &foreign, &local2]).await;
    assert_fault(&r, StatusCode::INTERNAL_SERVER_ERROR, "NotFound");
    assert_terminated_by(&app, &[&local1], "admin").await;
    assert_active(&app, &[&foreign, &local2]).await;

    // Byte for byte the answer for an id that never existed, apart from the id.
    let never = unknown_id(3);
    let r2 = terminate(&app, &admin, &[&never]).await;
    assert_eq!(r.status, r2.status);
    assert_eq!(
        r.body.to_string().replace(&foreign, "ID"),
        r2.body.to_string().replace(&never, "ID")
    );

    for other in [&smb_id, &native_key] {
        let r = terminate(&app, &admin, &[other, &local2]).await;
        assert_fault(&r, StatusCode::INTERNAL_SERVER_ERROR, "NotFound");
        assert_eq!(
            r.body.to_string().replace(other.as_str(), "ID"),
            r2.body.to_string().replace(&never, "ID")
        );
        assert_active(&app, &[other, &local2]).await;
    }
}

#[tokio::test]
async fn empty_huge_and_oversized_lists() {
    let app = spawn().await;
    let svc = app.principal("connector", "service", None).await;
    let (ops, _) = vim_principal(&app, "ops", "operator", None).await;
    let r = terminate(&app, &ops, &[]).await;
    assert_eq!((r.status, &r.body), (StatusCode::NO_CONTENT, &Value::Null));

    let a = vsphere_session(&app, &svc, json!({"name": "a"})).await;
    let b = vsphere_session(&app, &svc, json!({"name": "b"})).await;
    let c = vsphere_session(&app, &svc, json!({"name": "c"})).await;
    let before = live_ids(&app, "vsphere", "default").await;

    // 10,000 unknown ids: NotFound at the first, nothing changed.
    let unknown: Vec<String> = (0..10_000).map(unknown_id).collect();
    let refs: Vec<&str> = unknown.iter().map(String::as_str).collect();
    let r = terminate(&app, &ops, &refs).await;
    assert_fault(&r, StatusCode::INTERNAL_SERVER_ERROR, "NotFound");
    assert!(r.body.to_string().contains(&unknown[0]));
    assert_eq!(live_ids(&app, "vsphere", "default").await, before);

    // 10,000 ids, two valid ones first: those end, the abort comes at the first unknown id,
    // and a valid id at the very end stays untouched.
    let mut list: Vec<&str> = vec![&a, &b];
    list.extend(refs.iter().take(9_997));
    list.push(&c);
    assert_eq!(list.len(), 10_000);
    let r = terminate(&app, &ops, &list).await;
    assert_fault(&r, StatusCode::INTERNAL_SERVER_ERROR, "NotFound");
    assert!(r.body.to_string().contains(&unknown[0]));
    assert_terminated_by(&app, &[&a, &b], "ops").await;
    assert_active(&app, &[&c]).await;

    // More ids than one request may name: refused as a whole before anything is ended.
    let many: Vec<String> = std::iter::once(c.clone())
        .chain((0..100_000).map(unknown_id))
        .collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let r = terminate(&app, &ops, &refs).await;
    assert_fault(&r, StatusCode::INTERNAL_SERVER_ERROR, "InvalidArgument");
    assert_eq!(r.body["invalidProperty"], "sessionId");
    assert_active(&app, &[&c]).await;
}

#[tokio::test]
async fn unauthenticated_and_unprivileged_terminates_change_nothing() {
    let app = spawn().await;
    let svc = app.principal("connector", "service", None).await;
    let (viewer, _) = vim_principal(&app, "watcher", "viewer", None).await;
    let (x, x_token) = app
        .register(&svc, json!({"service": "vsphere", "user": {"name": "x"}}))
        .await;
    for bad in [None, Some("garbage"), Some(x_token.as_str())] {
        let r = vim(
            &app,
            Method::POST,
            &sm("TerminateSession"),
            bad,
            Some(json!({"sessionId": [x]})),
        )
        .await;
        assert_fault(&r, StatusCode::INTERNAL_SERVER_ERROR, "NotAuthenticated");
        assert_eq!(r.body["object"]["type"], "SessionManager");
    }
    for ids in [vec![x.as_str()], vec![]] {
        let r = terminate(&app, &viewer, &ids).await;
        assert_fault(&r, StatusCode::INTERNAL_SERVER_ERROR, "NoPermission");
        assert_eq!(r.body["privilegeId"], "Sessions.TerminateSession");
    }
    assert_active(&app, &[&x]).await;
}

#[tokio::test]
async fn bad_addresses_are_faults() {
    let app = spawn().await;
    let svc = app.principal("connector", "service", None).await;
    let (ops, _) = vim_principal(&app, "ops", "operator", None).await;
    let x = vsphere_session(&app, &svc, json!({"name": "x"})).await;
    let body = || Some(json!({"sessionId": [x.clone()]}));

    let r = vim(
        &app,
        Method::POST,
        "/SessionManager/Foo/TerminateSession",
        Some(&ops),
        body(),
    )
    .await;
    assert_fault(
        &r,
        StatusCode::INTERNAL_SERVER_ERROR,
        "ManagedObjectNotFound",
    );
    assert_eq!(
        r.body["obj"],
        json!({"_typeName": "ManagedObjectReference", "type": "SessionManager", "value": "Foo"})
    );

    for release in ["8.0.3", "latest", "8.0.3.0.1", "8.0.x.0"] {
        let r = vim_at(
            &app,
            release,
            Method::POST,
            &sm("TerminateSession"),
            Some(&ops),
            body(),
        )
        .await;
        assert_fault(&r, StatusCode::NOT_FOUND, "InvalidRequest");
        let r = vim_at(
            &app,
            release,
            Method::GET,
            "/ServiceInstance/ServiceInstance/content",
            None,
            None,
        )
        .await;
        assert_fault(&r, StatusCode::NOT_FOUND, "InvalidRequest");
    }

    let r = vim(&app, Method::POST, &sm("Frobnicate"), Some(&ops), body()).await;
    assert_fault(&r, StatusCode::INTERNAL_SERVER_ERROR, "MethodNotFound");
    assert_eq!(r.body["method"], "Frobnicate");
    assert_eq!(r.body["receiver"]["value"], "SessionManager");
    let r = vim(
        &app,
        Method::GET,
        "/Folder/group-d1/childEntity",
        Some(&ops),
        None,
    )
    .await;
    assert_fault(&r, StatusCode::INTERNAL_SERVER_ERROR, "MethodNotFound");
    let r = vim(
        &app,
        Method::GET,
        "/VirtualMachine/vm-1/name",
        Some(&ops),
        None,
    )
    .await;
    assert_fault(
        &r,
        StatusCode::INTERNAL_SERVER_ERROR,
        "ManagedObjectNotFound",
    );
    assert_eq!(r.body["obj"]["type"], "VirtualMachine");
    for path in [
        "/nope",
        "/SessionManager",
        "/SessionManager/SessionManager/Login/extra",
        "",
    ] {
        let r = vim(&app, Method::GET, path, Some(&ops), None).await;
        assert_fault(&r, StatusCode::NOT_FOUND, "InvalidRequest");
    }

    let r = vim(&app, Method::GET, &sm("TerminateSession"), Some(&ops), None).await;
    assert_fault(&r, StatusCode::METHOD_NOT_ALLOWED, "InvalidRequest");
    let r = vim(&app, Method::DELETE, &sm("Login"), None, None).await;
    assert_fault(&r, StatusCode::METHOD_NOT_ALLOWED, "InvalidRequest");

    assert_active(&app, &[&x]).await;
}

#[tokio::test]
async fn bad_bodies_are_invalid_request_and_change_nothing() {
    let app = spawn().await;
    let svc = app.principal("connector", "service", None).await;
    let (ops, _) = vim_principal(&app, "ops", "operator", None).await;
    let x = vsphere_session(&app, &svc, json!({"name": "x"})).await;
    let url = format!("{}/sdk/vim25/{RELEASE}{}", app.base, sm("TerminateSession"));
    let post = |body: String, ct: Option<&str>| {
        let mut rb = app.http.post(&url).header(HDR, &ops).body(body);
        if let Some(ct) = ct {
            rb = rb.header("content-type", ct);
        }
        send(rb)
    };
    let json_ct = Some("application/json");
    for body in [
        "{".to_string(),
        "".to_string(),
        "null".to_string(),
        "[]".to_string(),
        "{}".to_string(),
        r#"{"sessionId": "abc"}"#.to_string(),
        r#"{"sessionId": [1, 2]}"#.to_string(),
        r#"{"sessionId": null}"#.to_string(),
        format!(r#"{{"sessionId": ["{x}"]"#),
    ] {
        let r = post(body.clone(), json_ct).await;
        assert_fault(&r, StatusCode::INTERNAL_SERVER_ERROR, "InvalidRequest");
        assert!(!format!("{}", r.body).is_empty(), "{body}");
    }
    // No Content-Type is read as JSON (govmomi sends none), so a bad body is a method fault;
    // a declared non-JSON type is still refused.
    let r = post(format!(r#"{{"sessionId": ["{x}"]"#), None).await;
    assert_fault(&r, StatusCode::INTERNAL_SERVER_ERROR, "InvalidRequest");
    let r = post(format!(r#"{{"sessionId": ["{x}"]}}"#), Some("text/plain")).await;
    assert_fault(&r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "InvalidRequest");

    // Over the 8 MiB body limit: 413, still a fault body.
    let big = format!(
        r#"{{"sessionId": ["{x}", "{}"]}}"#,
        "a".repeat(9 * 1024 * 1024)
    );
    let r = post(big, json_ct).await;
    assert_fault(&r, StatusCode::PAYLOAD_TOO_LARGE, "InvalidRequest");
    let big_login = format!(
        r#"{{"userName": "ops", "password": "{}"}}"#,
        "p".repeat(9 * 1024 * 1024)
    );
    let r = send(
        app.http
            .post(format!("{}/sdk/vim25/{RELEASE}{}", app.base, sm("Login")))
            .header("content-type", "application/json")
            .body(big_login),
    )
    .await;
    assert_fault(&r, StatusCode::PAYLOAD_TOO_LARGE, "InvalidRequest");

    assert_active(&app, &[&x]).await;
    // Members some clients add (`_typeName`) are accepted.
    let r = post(
        format!(r#"{{"_typeName": "TerminateSessionRequestType", "sessionId": ["{x}"]}}"#),
        json_ct,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_terminated_by(&app, &[&x], "ops").await;
}

/// govmomi's VI/JSON client posts without `Content-Type`, and retrieves the ServiceContent with
/// `POST …/RetrieveServiceContent`; faults carry the `faultstring` it prints.
#[tokio::test]
async fn govmomi_style_requests_work() {
    let app = spawn().await;
    let svc = app.principal("connector", "service", None).await;
    app.principal("ops", "operator", None).await;
    let x = vsphere_session(&app, &svc, json!({"name": "x"})).await;
    let y = vsphere_session(&app, &svc, json!({"name": "y"})).await;
    let url = |path: &str| format!("{}/sdk/vim25/{RELEASE}{path}", app.base);

    let get = vim(
        &app,
        Method::GET,
        "/ServiceInstance/ServiceInstance/content",
        None,
        None,
    )
    .await;
    let post = send(
        app.http
            .post(url(
                "/ServiceInstance/ServiceInstance/RetrieveServiceContent",
            ))
            .body("{}"),
    )
    .await;
    assert_eq!(post.status, StatusCode::OK, "{}", post.body);
    assert_eq!(post.body, get.body);
    assert_eq!(post.body["_typeName"], "ServiceContent");

    // Login with no Content-Type: a bad password is govmomi's InvalidLogin text.
    let bad = send(
        app.http
            .post(url(&sm("Login")))
            .body(r#"{"userName": "ops", "password": "wrong"}"#),
    )
    .await;
    assert_fault(&bad, StatusCode::INTERNAL_SERVER_ERROR, "InvalidLogin");
    assert_eq!(
        bad.body["faultstring"],
        "Cannot complete login due to an incorrect user name or password."
    );
    let ok = send(
        app.http
            .post(url(&sm("Login")))
            .body(r#"{"userName": "ops", "password": "password-of-ops"}"#),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let token = ok.headers[HDR].to_str().expect("header").to_string();

    // TerminateSession with no Content-Type ends x; y stays.
    let r = send(
        app.http
            .post(url(&sm("TerminateSession")))
            .header(HDR, &token)
            .body(format!(r#"{{"sessionId": ["{x}"]}}"#)),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_terminated_by(&app, &[&x], "ops").await;
    assert_active(&app, &[&y]).await;
    // A NotFound fault's faultstring is its message.
    let r = terminate(&app, &token, &[&x]).await;
    assert_fault(&r, StatusCode::INTERNAL_SERVER_ERROR, "NotFound");
}

/// A user's realm is shown as vCenter shows it (`VSPHERE.LOCAL\Administrator`) in
/// UserSession and sessionList, SessionIsActive accepts that shown form, and the native API
/// keeps the realm as given.
#[tokio::test]
async fn realms_are_shown_as_vcenter_does() {
    let app = spawn().await;
    let svc = app.principal("connector", "service", None).await;
    let (ops, _) = vim_principal(&app, "ops", "operator", None).await;
    let admin = vsphere_session(
        &app,
        &svc,
        json!({"domain": "ACTIVE_DIRECTORY", "name": "Administrator", "realm": "VSPHERE.LOCAL"}),
    )
    .await;
    let plain = vsphere_session(&app, &svc, json!({"name": "bob"})).await;

    let (s, v) = app
        .call(Method::GET, &format!("/sessions/{admin}"), Some(&svc), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["user"]["realm"], "VSPHERE.LOCAL");

    let r = vim(&app, Method::GET, &sm("sessionList"), Some(&ops), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let name_of = |id: &str| {
        r.body
            .as_array()
            .and_then(|a| a.iter().find(|u| u["key"] == json!(id)))
            .map(|u| u["userName"].clone())
    };
    assert_eq!(name_of(&admin), Some(json!("VSPHERE.LOCAL\\Administrator")));
    assert_eq!(name_of(&plain), Some(json!("bob")));

    assert!(is_active(&app, &ops, &admin, "VSPHERE.LOCAL\\Administrator").await);
    assert!(is_active(&app, &ops, &admin, "vsphere.local\\administrator").await);
    assert!(!is_active(&app, &ops, &admin, "ACTIVE_DIRECTORY\\Administrator").await);
    assert!(!is_active(&app, &ops, &admin, "Administrator").await);

    // A realm with a backslash would make the shown name ambiguous: refused.
    let (s, v) = app
        .call(
            Method::POST,
            "/sessions",
            Some(&svc),
            Some(json!({"service": "vsphere", "user": {"name": "x", "realm": "A\\B"}})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("realm"), "{v}");
}
