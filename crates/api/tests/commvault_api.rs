//! The Commvault Sessions dialect over real HTTP (seed 004; DESIGN.md §5): the bare root,
//! Login/Logout/RenewLoginToken with `Authtoken: QSDK …`, GET Sessions in JSON and XML,
//! DELETE Sessions with the seed's XML sample byte for byte and with JSON, idempotent logoff,
//! tenant and service isolation, privileges, every rejection in Commvault's error body in
//! both formats, and the safe XML reader (DOCTYPE, entities, depth, size). Both roots.
//! Every outcome is checked through the native API.

mod common;

use base64::Engine;
use common::{assert_active, assert_terminated_by, live_ids, spawn, state_of, TestApp, ADMIN_PW};
use quick_xml::events::Event;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

const ROOTS: [&str; 2] = ["/webconsole/api", "/commandcenter/api"];
const XML_CT: &str = "application/xml";
const JSON_CT: &str = "application/json";

/// Seed 004's sample request body, byte for byte, with its two ids as placeholders.
const SEED_BODY: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n <Api_LogoffUsersRequest>\n   <sessions val=\"EMCAE92D1DD-0C68-49A6-BEBB-404D96D7A4BF\"/>\n   <sessions val=\"CF1C660B-396F-44B7-86DA-5608CEC97453\"/>\n</Api_LogoffUsersRequest >\n";

/// The seed's sample with its two ids replaced (declaration, indentation and the
/// `</Api_LogoffUsersRequest >` closing tag kept as they are).
fn seed_body(a: &str, b: &str) -> String {
    SEED_BODY
        .replace("EMCAE92D1DD-0C68-49A6-BEBB-404D96D7A4BF", a)
        .replace("CF1C660B-396F-44B7-86DA-5608CEC97453", b)
}

struct Resp {
    status: StatusCode,
    ctype: String,
    text: String,
}

impl Resp {
    /// The body as JSON; the content type must say so.
    fn json(&self) -> Value {
        assert!(
            self.ctype.starts_with(JSON_CT),
            "content-type {:?} for {}",
            self.ctype,
            self.text
        );
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }

    /// The body as an XML tree; the content type must say so.
    fn xml(&self) -> X {
        assert!(
            self.ctype.starts_with(XML_CT),
            "content-type {:?} for {}",
            self.ctype,
            self.text
        );
        parse_xml(&self.text)
    }
}

/// An XML element as the tests see it.
#[derive(Debug, Default)]
struct X {
    name: String,
    attrs: BTreeMap<String, String>,
    children: Vec<X>,
}

fn parse_xml(text: &str) -> X {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack: Vec<X> = Vec::new();
    let mut root = None;
    loop {
        let ev = reader
            .read_event()
            .unwrap_or_else(|e| panic!("bad XML ({e}): {text}"));
        let (el, open) = match &ev {
            Event::Start(e) | Event::Empty(e) => {
                let mut x = X {
                    name: String::from_utf8_lossy(e.name().as_ref()).to_string(),
                    ..X::default()
                };
                for a in e.attributes() {
                    let a = a.expect("attribute");
                    x.attrs.insert(
                        String::from_utf8_lossy(a.key.as_ref()).to_string(),
                        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .expect("value")
                            .to_string(),
                    );
                }
                (Some(x), matches!(ev, Event::Start(_)))
            }
            Event::End(_) => (stack.pop(), false),
            Event::Eof => break,
            _ => (None, false),
        };
        if let Some(el) = el {
            if open {
                stack.push(el);
            } else {
                match stack.last_mut() {
                    Some(p) => p.children.push(el),
                    None => root = Some(el),
                }
            }
        }
    }
    root.unwrap_or_else(|| panic!("no root element: {text:?}"))
}

/// A request under `root` with extra headers and an optional raw body.
async fn cv_at(
    app: &TestApp,
    root: &str,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<(Vec<u8>, &str)>,
) -> Resp {
    let mut rb = app
        .http
        .request(method, format!("{}{root}{path}", app.base));
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    if let Some((bytes, ct)) = body {
        rb = rb.header("content-type", ct).body(bytes);
    }
    let r = rb.send().await.expect("request");
    let status = r.status();
    let ctype = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    Resp {
        status,
        ctype,
        text: r.text().await.expect("body"),
    }
}

async fn cv(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<(Vec<u8>, &str)>,
) -> Resp {
    cv_at(app, ROOTS[0], method, path, headers, body).await
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// cvpysdk's Login payload (`cvpysdk.py` `_login`).
fn login_body(user: &str, pw: &str) -> Vec<u8> {
    json!({"mode": 4, "username": user, "password": b64(pw), "deviceId": "test-host",
           "clientType": 30})
    .to_string()
    .into_bytes()
}

/// Logs in through the dialect under `root`; returns the `QSDK …` token and the session id.
async fn cv_login_at(app: &TestApp, root: &str, user: &str, pw: &str) -> (String, String) {
    let r = cv_at(
        app,
        root,
        Method::POST,
        "/Login",
        &[("accept", JSON_CT)],
        Some((login_body(user, pw), JSON_CT)),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let v = r.json();
    let token = v["token"]
        .as_str()
        .unwrap_or_else(|| panic!("login {user}: {v}"))
        .to_string();
    (token.clone(), id_of(&token))
}

async fn cv_login(app: &TestApp, user: &str, pw: &str) -> (String, String) {
    cv_login_at(app, ROOTS[0], user, pw).await
}

/// The session id inside a `QSDK <id>.<verifier>` token.
fn id_of(token: &str) -> String {
    token
        .trim_start_matches("QSDK ")
        .split('.')
        .next()
        .expect("id")
        .to_string()
}

/// Creates a principal through the native API and logs it in through this dialect.
async fn cv_principal(app: &TestApp, name: &str, role: &str, tenant: Option<&str>) -> String {
    app.principal(name, role, tenant).await;
    cv_login(app, name, &format!("password-of-{name}")).await.0
}

/// A registered session (as a connector mirroring a CommServe would register one).
async fn registered(app: &TestApp, svc_token: &str, mut body: Value) -> String {
    if body.get("service").is_none() {
        body["service"] = json!("commvault");
    }
    app.register(svc_token, body).await.0
}

/// A well-formed session id that no server ever issued (ULID time 0).
fn unknown_id(i: usize) -> String {
    format!("{:026}", i + 1)
}

fn auth(token: &str) -> (&'static str, &str) {
    ("authtoken", token)
}

/// DELETE Sessions with the seed's headers (Accept and Content-type XML).
async fn logoff_xml(app: &TestApp, root: &str, token: &str, body: String) -> Resp {
    cv_at(
        app,
        root,
        Method::DELETE,
        "/Sessions",
        &[("accept", XML_CT), auth(token)],
        Some((body.into_bytes(), XML_CT)),
    )
    .await
}

async fn logoff_json(app: &TestApp, token: &str, ids: &[&str]) -> Resp {
    let body = json!({"sessions": ids.iter().map(|i| json!({"val": i})).collect::<Vec<_>>()});
    cv(
        app,
        Method::DELETE,
        "/Sessions",
        &[("accept", JSON_CT), auth(token)],
        Some((body.to_string().into_bytes(), JSON_CT)),
    )
    .await
}

/// GET Sessions as JSON; returns the `sessions` array.
async fn list_json(app: &TestApp, token: &str) -> Vec<Value> {
    let r = cv(app, Method::GET, "/Sessions", &[auth(token)], None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let v = r.json();
    let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["sessions"], "{v}");
    v["sessions"].as_array().expect("sessions").clone()
}

fn session_ids(list: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = list
        .iter()
        .map(|s| s["sessionId"].as_str().expect("sessionId").to_string())
        .collect();
    ids.sort();
    ids
}

fn sorted(ids: &[&String]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// Commvault's error body: exactly `errorCode` (number) and `errorMessage` (non-empty).
fn assert_cv_error(r: &Resp, status: StatusCode, code: i64) {
    assert_eq!(r.status, status, "{}", r.text);
    let v = r.json();
    let mut keys: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("error body {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["errorCode", "errorMessage"], "{v}");
    assert_eq!(v["errorCode"], code, "{v}");
    assert!(
        v["errorMessage"].as_str().is_some_and(|m| !m.is_empty()),
        "{v}"
    );
}

/// The same error in XML: `<Api_GenericResp errorCode=… errorMessage=…/>`.
fn assert_cv_error_xml(r: &Resp, status: StatusCode, code: i64) {
    assert_eq!(r.status, status, "{}", r.text);
    let x = r.xml();
    assert_eq!(x.name, "Api_GenericResp", "{}", r.text);
    assert_eq!(
        x.attrs.keys().collect::<Vec<_>>(),
        ["errorCode", "errorMessage"]
    );
    assert_eq!(x.attrs["errorCode"], code.to_string(), "{}", r.text);
    assert!(!x.attrs["errorMessage"].is_empty());
    assert!(x.children.is_empty());
}

/// Logout's answer: 200, plain text `User logged out` (cvpysdk returns `response.text`).
fn assert_logged_out(r: &Resp) {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.ctype.starts_with("text/plain"), "{}", r.ctype);
    assert_eq!(r.text, "User logged out");
}

/// Commvault's exact 401 answer.
fn assert_access_denied(r: &Resp) {
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(
        r.json(),
        json!({"errorMessage": "Access denied", "errorCode": 5})
    );
}

/// `POST WhoAmI` under `root`; returns the `user` object after checking the shape.
async fn whoami_at(app: &TestApp, root: &str, token: &str) -> Value {
    let r = cv_at(app, root, Method::POST, "/WhoAmI", &[auth(token)], None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let v = r.json();
    let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["user"], "{v}");
    let mut keys: Vec<&str> = v["user"]
        .as_object()
        .expect("user")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["userGUID", "userId", "userName"], "{v}");
    assert!(v["user"]["userId"].is_u64(), "{v}");
    v["user"].clone()
}

/// GET `path` (`/Session` or `/Sessions`) with `?userId=…` as JSON, with or without
/// `ONLY-ACTIVE-SESSIONS: true`; returns the `sessions` array.
async fn list_user(
    app: &TestApp,
    root: &str,
    path: &str,
    token: &str,
    user_id: &Value,
    only_active: bool,
) -> Vec<Value> {
    let mut hdrs = vec![auth(token)];
    if only_active {
        hdrs.push(("ONLY-ACTIVE-SESSIONS", "true"));
    }
    let r = cv_at(
        app,
        root,
        Method::GET,
        &format!("{path}?userId={user_id}"),
        &hdrs,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    let v = r.json();
    let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["sessions"], "{v}");
    v["sessions"].as_array().expect("sessions").clone()
}

#[tokio::test]
async fn bare_root_answers_200_on_both_roots() {
    let app = spawn().await;
    for root in ROOTS {
        for path in ["", "/"] {
            // As cvpysdk checks it: no token, JSON headers.
            let r = cv_at(
                &app,
                root,
                Method::GET,
                path,
                &[("accept", JSON_CT), ("content-type", JSON_CT)],
                None,
            )
            .await;
            assert_eq!(r.status, StatusCode::OK, "{root}{path}: {}", r.text);
            assert_eq!(r.json()["errorCode"], 0);
            let r = cv_at(&app, root, Method::GET, path, &[("accept", XML_CT)], None).await;
            assert_eq!(r.status, StatusCode::OK, "{root}{path}");
            assert_eq!(r.xml().name, "Api_GenericResp");
        }
    }
}

#[tokio::test]
async fn login_with_a_base64_password_on_both_roots() {
    let app = spawn().await;
    for root in ROOTS {
        let r = cv_at(
            &app,
            root,
            Method::POST,
            "/Login",
            &[("accept", JSON_CT), ("user-agent", "cvpysdk-test/1")],
            Some((login_body("admin", ADMIN_PW), JSON_CT)),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let v = r.json();
        let token = v["token"].as_str().expect("token");
        assert!(token.starts_with("QSDK "), "{token}");
        assert_eq!(v["userName"], "admin");
        let guid = v["userGUID"].as_str().expect("userGUID");
        assert_eq!(guid.len(), 36, "{guid}");
        assert_eq!(guid.matches('-').count(), 4, "{guid}");
        assert_eq!(v["errList"], json!([]));
        assert_eq!(v["isAccountLocked"], false);
        assert_eq!(v["remainingLockTime"], 0);
        assert_eq!(
            v["ownerOrganization"],
            json!({"providerId": 1, "providerDomainName": "default"})
        );

        // The login is a live `commvault` login session from this client.
        let (s, n) = app
            .call(
                Method::GET,
                &format!("/sessions/{}", id_of(token)),
                Some(&app.admin),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{n}");
        assert_eq!(n["service"], "commvault");
        assert_eq!(n["kind"], "login");
        assert_eq!(n["owner"], "admin");
        assert_eq!(n["state"], "active");
        assert_eq!(n["originator"], "127.0.0.1");
        assert_eq!(n["user_agent"], "cvpysdk-test/1");
        // And its token authenticates this dialect, with or without the QSDK prefix.
        list_json(&app, token).await;
        list_json(&app, token.trim_start_matches("QSDK ")).await;
    }
    // The same user GUID every time.
    let a = cv(
        &app,
        Method::POST,
        "/Login",
        &[],
        Some((login_body("admin", ADMIN_PW), JSON_CT)),
    )
    .await
    .json();
    let b = cv(
        &app,
        Method::POST,
        "/login",
        &[],
        Some((login_body("admin", ADMIN_PW), JSON_CT)),
    )
    .await
    .json();
    assert_eq!(a["userGUID"], b["userGUID"]);
    assert_ne!(a["token"], b["token"]);

    // XML in, XML out: Commvault's documented XML login.
    let body = format!(
        "<DM2ContentIndexing_CheckCredentialReq username=\"admin\" password=\"{}\" domain=\"\"/>",
        b64(ADMIN_PW)
    );
    let r = cv(
        &app,
        Method::POST,
        "/Login",
        &[("accept", XML_CT)],
        Some((body.into_bytes(), XML_CT)),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let x = r.xml();
    assert_eq!(x.name, "DM2ContentIndexing_CheckCredentialResp");
    assert!(x.attrs["token"].starts_with("QSDK "));
    assert_eq!(x.attrs["userName"], "admin");
    assert_eq!(x.children[0].name, "ownerOrganization");
    list_json(&app, &x.attrs["token"]).await;
    // A native login's token works here too (any API token works in every dialect).
    assert!(!list_json(&app, &format!("QSDK {}", app.admin))
        .await
        .is_empty());
}

#[tokio::test]
async fn bad_logins_are_200_with_an_errlist() {
    let app = spawn().await;
    let before = live_ids(&app, "commvault", "default").await;
    let cases: Vec<(&str, Value)> = vec![
        (
            "wrong password",
            json!({"username": "admin", "password": b64("nope")}),
        ),
        (
            "unknown user",
            json!({"username": "ghost", "password": b64(ADMIN_PW)}),
        ),
        // The plain password, not its base64: not valid base64 → a bad login, not a 500.
        (
            "plain password",
            json!({"username": "admin", "password": "admin-password-1!"}),
        ),
        (
            "not UTF-8",
            json!({"username": "admin", "password": "/w=="}),
        ),
        (
            "directory domain",
            json!({"username": "admin", "password": b64(ADMIN_PW), "domain": "CORP"}),
        ),
    ];
    for (what, body) in cases {
        let r = cv(
            &app,
            Method::POST,
            "/Login",
            &[],
            Some((body.to_string().into_bytes(), JSON_CT)),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{what}: {}", r.text);
        let v = r.json();
        assert!(v.get("token").is_none(), "{what}: {v}");
        assert!(v.get("userName").is_none(), "{what}: {v}");
        let e = &v["errList"][0];
        assert!(e["errorCode"].is_i64(), "{what}: {v}");
        assert!(
            e["errLogMessage"]
                .as_str()
                .is_some_and(|m| m.starts_with("Login failed")),
            "{what}: {v}"
        );
        assert_eq!(v["isAccountLocked"], false, "{what}: {v}");
    }
    // Unknown user and wrong password read the same.
    let msg = |body: Value| {
        let app = &app;
        async move {
            cv(
                app,
                Method::POST,
                "/Login",
                &[],
                Some((body.to_string().into_bytes(), JSON_CT)),
            )
            .await
            .json()["errList"]
                .clone()
        }
    };
    assert_eq!(
        msg(json!({"username": "ghost2", "password": b64("x")})).await,
        msg(json!({"username": "admin", "password": b64("x")})).await
    );
    // In XML, the errList is an element.
    let r = cv(
        &app,
        Method::POST,
        "/Login",
        &[("accept", XML_CT)],
        Some((login_body("ghost", "x"), JSON_CT)),
    )
    .await;
    let x = r.xml();
    assert_eq!(x.name, "DM2ContentIndexing_CheckCredentialResp");
    assert!(!x.attrs.contains_key("token"));
    let errs: Vec<&X> = x.children.iter().filter(|c| c.name == "errList").collect();
    assert_eq!(errs.len(), 1, "{}", r.text);
    assert!(errs[0].attrs["errLogMessage"].starts_with("Login failed"));

    // Repeated failures back off: an errList entry too, with the lock reported.
    app.principal("victim", "viewer", None).await;
    let mut locked = None;
    for _ in 0..8 {
        let v = cv(
            &app,
            Method::POST,
            "/Login",
            &[],
            Some((login_body("victim", "wrong"), JSON_CT)),
        )
        .await
        .json();
        if v["isAccountLocked"] == true {
            locked = Some(v);
            break;
        }
    }
    let v = locked.expect("backoff after repeated failures");
    assert!(
        v["remainingLockTime"].as_u64().is_some_and(|s| s > 0),
        "{v}"
    );
    assert!(v.get("token").is_none());
    assert!(v["errList"][0]["errLogMessage"]
        .as_str()
        .is_some_and(|m| m.contains("too many")));
    // Even the right password waits out the backoff; after it, the login works.
    let v = cv(
        &app,
        Method::POST,
        "/Login",
        &[],
        Some((login_body("victim", "password-of-victim"), JSON_CT)),
    )
    .await
    .json();
    assert_eq!(v["isAccountLocked"], true, "{v}");
    app.clock.advance(Duration::from_secs(600));
    cv_login(&app, "victim", "password-of-victim").await;

    // Unusable bodies are HTTP errors in the error body, not logins.
    for (body, ct, status) in [
        ("{", JSON_CT, StatusCode::BAD_REQUEST),
        ("{\"username\":\"admin\"}", JSON_CT, StatusCode::BAD_REQUEST),
        (
            "{\"username\":1,\"password\":\"eA==\"}",
            JSON_CT,
            StatusCode::BAD_REQUEST,
        ),
        ("[]", JSON_CT, StatusCode::BAD_REQUEST),
        ("<Other/>", XML_CT, StatusCode::BAD_REQUEST),
        (
            "<DM2ContentIndexing_CheckCredentialReq username=\"a\"/>",
            XML_CT,
            StatusCode::BAD_REQUEST,
        ),
        (
            "username=admin",
            "application/x-www-form-urlencoded",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ] {
        let r = cv(
            &app,
            Method::POST,
            "/Login",
            &[],
            Some((body.as_bytes().to_vec(), ct)),
        )
        .await;
        assert_cv_error(&r, status, 2);
    }
    // None of this created a session (only victim's final login, made above).
    let after = live_ids(&app, "commvault", "default").await;
    assert_eq!(after.len(), before.len() + 1);
}

#[tokio::test]
async fn a_stale_authtoken_on_login_is_ignored() {
    let app = spawn().await;
    let (old, _) = cv_login(&app, "admin", ADMIN_PW).await;
    let r = cv(
        &app,
        Method::POST,
        "/Logout",
        &[auth(&old)],
        Some((Vec::new(), XML_CT)),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for stale in [old.as_str(), "QSDK garbage", "QSDK ", "nonsense"] {
        let r = cv(
            &app,
            Method::POST,
            "/Login",
            &[auth(stale)],
            Some((login_body("admin", ADMIN_PW), JSON_CT)),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let token = r.json()["token"].as_str().expect("token").to_string();
        assert_ne!(token, old);
        list_json(&app, &token).await;
    }
}

#[tokio::test]
async fn sessions_list_in_json_and_xml() {
    let app = spawn().await;
    let t0 = app.registry.clock().now().secs();
    let svc = app.principal("connector", "service", None).await;
    let (admin_cv, admin_id) = cv_login(&app, "admin", ADMIN_PW).await;
    app.principal("bob", "viewer", None).await;
    let (bob_cv, bob_id) = cv_login(&app, "bob", "password-of-bob").await;
    app.clock.advance(Duration::from_secs(90));
    // A session mirrored from a real CommServe, carrying its own console type.
    let mirrored = registered(
        &app,
        &svc,
        json!({"node_id": "cs-1", "originator": "10.1.2.3",
               "user": {"domain": "ACTIVE_DIRECTORY", "name": "alice"},
               "attributes": {"consoleType": "19", "browserSessionId": "77"}}),
    )
    .await;
    let plain = registered(
        &app,
        &svc,
        json!({"server_address": "10.0.0.9", "user": {"name": "carol", "realm": "CORP"}}),
    )
    .await;
    // Not listed: another service, another tenant, an ended session.
    let smb = registered(&app, &svc, json!({"service": "smb", "user": {"name": "x"}})).await;
    app.tenant("acme").await;
    let acme_svc = app
        .principal("acme-connector", "service", Some("acme"))
        .await;
    let foreign = registered(&app, &acme_svc, json!({"user": {"name": "alice"}})).await;
    let gone = registered(&app, &svc, json!({"user": {"name": "gone"}})).await;
    logoff_json(&app, &admin_cv, &[&gone]).await;
    let _ = (&smb, &foreign);

    let list = list_json(&app, &admin_cv).await;
    assert_eq!(
        session_ids(&list),
        sorted(&[&admin_id, &bob_id, &mirrored, &plain])
    );
    let by_id = |id: &str| -> Value {
        list.iter()
            .find(|s| s["sessionId"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} listed"))
    };
    // Exactly Commvault's fields, with their JSON types.
    let a = by_id(&admin_id);
    let mut keys: Vec<&str> = a
        .as_object()
        .expect("entry")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "browserSessionId",
            "consoleType",
            "host",
            "lastAccessedTime",
            "location",
            "loginTime",
            "logoutTime",
            "sessionId",
            "user"
        ]
    );
    assert_eq!(a["host"], "127.0.0.1");
    assert_eq!(a["location"], "");
    assert_eq!(a["loginTime"], t0);
    assert_eq!(a["logoutTime"], 0);
    // This very call is the caller's latest activity.
    assert_eq!(a["lastAccessedTime"], t0 + 90);
    assert_eq!(a["consoleType"], 30);
    assert_eq!(a["browserSessionId"], 0);
    assert_eq!(a["user"]["userName"], "admin");
    // userId is the user's auth_id, as the native API shows it (a decimal string there).
    let (_, native) = app
        .call(
            Method::GET,
            &format!("/sessions/{admin_id}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert!(a["user"]["userId"].is_u64());
    assert_eq!(
        a["user"]["userId"].to_string(),
        native["user"]["auth_id"].as_str().expect("auth_id")
    );
    let b = by_id(&bob_id);
    assert_eq!(b["lastAccessedTime"], t0, "bob has not called since login");
    let m = by_id(&mirrored);
    assert_eq!(m["host"], "10.1.2.3");
    assert_eq!(m["location"], "cs-1");
    assert_eq!(m["loginTime"], t0 + 90);
    assert_eq!(m["consoleType"], 19);
    assert_eq!(m["browserSessionId"], 77);
    assert_eq!(m["user"]["userName"], "ACTIVE_DIRECTORY\\alice");
    let p = by_id(&plain);
    assert_eq!(
        (p["location"].as_str(), p["host"].as_str()),
        (Some("10.0.0.9"), Some(""))
    );
    assert_eq!(p["consoleType"], 0);
    // A realm is shown as vSphere shows it.
    assert_eq!(p["user"]["userName"], "CORP\\carol");

    // The same list as XML attributes, with `user` as a child element.
    for root in ROOTS {
        let r = cv_at(
            &app,
            root,
            Method::GET,
            "/Sessions",
            &[("accept", XML_CT), auth(&bob_cv)],
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let x = r.xml();
        assert_eq!(x.name, "Api_GetSessionsResp");
        assert_eq!(x.children.len(), 4, "{}", r.text);
        for s in &x.children {
            assert_eq!(s.name, "sessions");
            assert_eq!(
                s.attrs.keys().collect::<Vec<_>>(),
                [
                    "browserSessionId",
                    "consoleType",
                    "host",
                    "lastAccessedTime",
                    "location",
                    "loginTime",
                    "logoutTime",
                    "sessionId"
                ]
            );
            assert_eq!(s.children.len(), 1);
            assert_eq!(s.children[0].name, "user");
            assert_eq!(
                s.children[0].attrs.keys().collect::<Vec<_>>(),
                ["userId", "userName"]
            );
        }
        let mx = x
            .children
            .iter()
            .find(|s| s.attrs["sessionId"] == mirrored)
            .expect("mirrored in XML");
        assert_eq!(mx.attrs["consoleType"], "19");
        assert_eq!(mx.attrs["logoutTime"], "0");
        assert_eq!(mx.attrs["loginTime"], (t0 + 90).to_string());
        assert_eq!(mx.children[0].attrs["userName"], "ACTIVE_DIRECTORY\\alice");
    }
    // Lower-case path as in Commvault's API reference; `*/*` is JSON.
    let r = cv_at(
        &app,
        ROOTS[1],
        Method::GET,
        "/sessions",
        &[("accept", "*/*"), auth(&bob_cv)],
        None,
    )
    .await;
    assert_eq!(r.json()["sessions"].as_array().map(Vec::len), Some(4));

    // Past its idle deadline a login is no longer listed, even before the sweeper ends it.
    app.clock.advance(Duration::from_secs(29 * 60));
    let (fresh, fresh_id) = cv_login(&app, "admin", ADMIN_PW).await;
    app.clock.advance(Duration::from_secs(2 * 60));
    let ids = session_ids(&list_json(&app, &fresh).await);
    assert!(ids.contains(&fresh_id));
    assert!(!ids.contains(&bob_id), "bob idled out: {ids:?}");
}

#[tokio::test]
async fn logoff_with_the_seeds_xml_sample_byte_for_byte() {
    let app = spawn().await;
    let ops = cv_principal(&app, "ops", "operator", None).await;
    app.principal("u1", "viewer", None).await;
    app.principal("u2", "viewer", None).await;
    app.principal("u3", "viewer", None).await;
    let (t1, s1) = cv_login(&app, "u1", "password-of-u1").await;
    let (_, s2) = cv_login(&app, "u2", "password-of-u2").await;
    let (_, s3) = cv_login(&app, "u3", "password-of-u3").await;
    for root in ROOTS {
        let r = logoff_xml(&app, root, &ops, seed_body(&s1, &s2)).await;
        assert_eq!(r.status, StatusCode::OK, "{root}: {}", r.text);
        assert!(r.ctype.starts_with(XML_CT), "{}", r.ctype);
        // Exactly the seed's sample response.
        assert_eq!(r.text, "<Api_LogoffUsersResponse />");
        assert_terminated_by(&app, &[&s1, &s2], "ops").await;
        assert_active(&app, &[&s3]).await;
    }
    // A logged-off user's token stops working at once.
    let r = cv(&app, Method::GET, "/Sessions", &[auth(&t1)], None).await;
    assert_cv_error(&r, StatusCode::UNAUTHORIZED, 5);
    let (_, n) = app
        .call(
            Method::GET,
            &format!("/sessions/{s1}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(
        n["end_reason"],
        "logged off through the Commvault API (DELETE Sessions)"
    );
}

#[tokio::test]
async fn logoff_with_json_and_idempotent_repeats() {
    let app = spawn().await;
    let ops = cv_principal(&app, "ops", "operator", None).await;
    let svc = app.principal("connector", "service", None).await;
    let a = registered(&app, &svc, json!({"user": {"name": "a"}})).await;
    let b = registered(&app, &svc, json!({"user": {"name": "b"}})).await;
    let c = registered(&app, &svc, json!({"user": {"name": "c"}})).await;

    let r = logoff_json(&app, &ops, &[&a]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json(), json!({}));
    assert_terminated_by(&app, &[&a], "ops").await;
    // Again, and with an id twice: nothing to do, same answer.
    let r = logoff_json(&app, &ops, &[&a, &b, &b]).await;
    assert_eq!((r.status, r.json()), (StatusCode::OK, json!({})));
    assert_terminated_by(&app, &[&a, &b], "ops").await;
    // No Accept means JSON; an empty list is fine.
    let r = cv(
        &app,
        Method::DELETE,
        "/Sessions",
        &[auth(&ops)],
        Some((b"{\"sessions\":[]}".to_vec(), JSON_CT)),
    )
    .await;
    assert_eq!((r.status, r.json()), (StatusCode::OK, json!({})));
    // JSON in, XML out.
    let r = cv(
        &app,
        Method::DELETE,
        "/Sessions",
        &[auth(&ops), ("accept", XML_CT)],
        Some((
            json!({"sessions": [{"val": c}]}).to_string().into_bytes(),
            JSON_CT,
        )),
    )
    .await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (StatusCode::OK, "<Api_LogoffUsersResponse />")
    );
    assert_terminated_by(&app, &[&c], "ops").await;
    // The seed's XML repeated for already-ended ids: still the same answer.
    let r = logoff_xml(&app, ROOTS[1], &ops, seed_body(&a, &c)).await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (StatusCode::OK, "<Api_LogoffUsersResponse />")
    );
}

#[tokio::test]
async fn foreign_unknown_and_non_commvault_ids_are_skipped() {
    let app = spawn().await;
    let svc = app.principal("connector", "service", None).await;
    let mine = registered(&app, &svc, json!({"user": {"name": "mine"}})).await;
    let smb = registered(&app, &svc, json!({"service": "smb", "user": {"name": "s"}})).await;
    // The admin's native login: a session of service `sessiond`.
    let sessiond_login = id_of(&app.admin);
    app.tenant("acme").await;
    let acme_svc = app
        .principal("acme-connector", "service", Some("acme"))
        .await;
    let foreign = registered(&app, &acme_svc, json!({"user": {"name": "f"}})).await;
    let acme_ops = cv_principal(&app, "acme-ops", "operator", Some("acme")).await;
    // Even the global admin, through this dialect, stays in its own tenant.
    let (admin_cv, _) = cv_login(&app, "admin", ADMIN_PW).await;

    let unknown = unknown_id(7);
    for (who, token) in [("admin", &admin_cv), ("acme-ops", &acme_ops)] {
        let mut ids = vec![unknown.as_str(), "not-an-id", &smb];
        if who == "admin" {
            ids.push(&foreign);
        } else {
            ids.push(&mine);
        }
        ids.push(&sessiond_login);
        let r = logoff_json(&app, token, &ids).await;
        assert_eq!((r.status, r.json()), (StatusCode::OK, json!({})), "{who}");
        let body = seed_body(ids[0], ids[3]);
        let r = logoff_xml(&app, ROOTS[0], token, body).await;
        assert_eq!(r.text, "<Api_LogoffUsersResponse />", "{who}");
    }
    assert_active(&app, &[&mine, &smb, &foreign, &sessiond_login]).await;
    // Each tenant lists only its own commvault sessions.
    let acme_list = session_ids(&list_json(&app, &acme_ops).await);
    assert!(acme_list.contains(&foreign));
    assert!(!acme_list.contains(&mine));
    let own_list = session_ids(&list_json(&app, &admin_cv).await);
    assert!(own_list.contains(&mine));
    assert!(!own_list.contains(&foreign) && !own_list.contains(&smb));
    // And each ends its own.
    logoff_json(&app, &acme_ops, &[&foreign]).await;
    assert_terminated_by(&app, &[&foreign], "acme-ops").await;
    assert_active(&app, &[&mine]).await;
}

#[tokio::test]
async fn renew_login_token_extends_a_live_login_and_never_revives() {
    let mut app = spawn().await;
    let (token, id) = cv_login(&app, "admin", ADMIN_PW).await;
    // Close to the idle timeout (30 min), a renewal keeps the login alive.
    for root in ROOTS {
        app.clock.advance(Duration::from_secs(25 * 60));
        let body = json!({"sessionId": token, "deviceId": "test-host"});
        let r = cv_at(
            &app,
            root,
            Method::POST,
            "/RenewLoginToken",
            &[auth(&token), ("accept", JSON_CT)],
            Some((body.to_string().into_bytes(), JSON_CT)),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.json(), json!({ "token": token }));
    }
    // 50 minutes after the login, it is alive thanks to the renewals.
    assert!(session_ids(&list_json(&app, &token).await).contains(&id));
    // XML answer; the token may also come from the header alone, or without the prefix.
    let r = cv(
        &app,
        Method::POST,
        "/renewlogintoken",
        &[auth(&token), ("accept", XML_CT)],
        Some((b"{}".to_vec(), JSON_CT)),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let x = r.xml();
    assert_eq!(x.name, "Api_RenewLoginTokenResp");
    assert_eq!(x.attrs["token"], token);
    // Logout (as cvpysdk sends it: XML content type, empty body) closes the login.
    let r = cv(
        &app,
        Method::POST,
        "/Logout",
        &[auth(&token), ("accept", JSON_CT)],
        Some((Vec::new(), XML_CT)),
    )
    .await;
    assert_logged_out(&r);
    // The native admin login of the harness idled out meanwhile (50 minutes on the clock).
    app.admin = app.login("admin", ADMIN_PW).await;
    assert_eq!(state_of(&app, &id).await.0, "closed");
    // An ended login cannot be renewed, in either format, and stays closed.
    let body = json!({"sessionId": token, "deviceId": "test-host"}).to_string();
    let r = cv(
        &app,
        Method::POST,
        "/RenewLoginToken",
        &[],
        Some((body.clone().into_bytes(), JSON_CT)),
    )
    .await;
    assert_cv_error(&r, StatusCode::UNAUTHORIZED, 5);
    let r = cv(
        &app,
        Method::POST,
        "/RenewLoginToken",
        &[("accept", XML_CT)],
        Some((body.into_bytes(), JSON_CT)),
    )
    .await;
    assert_cv_error_xml(&r, StatusCode::UNAUTHORIZED, 5);
    assert_eq!(state_of(&app, &id).await.0, "closed");
    // So cannot an idled-out one.
    let (t2, id2) = cv_login(&app, "admin", ADMIN_PW).await;
    app.clock.advance(Duration::from_secs(31 * 60));
    let body = json!({"sessionId": t2, "deviceId": "x"}).to_string();
    let r = cv(
        &app,
        Method::POST,
        "/RenewLoginToken",
        &[],
        Some((body.into_bytes(), JSON_CT)),
    )
    .await;
    assert_cv_error(&r, StatusCode::UNAUTHORIZED, 5);
    let (t3, _) = cv_login(&app, "admin", ADMIN_PW).await;
    assert!(!session_ids(&list_json(&app, &t3).await).contains(&id2));
    // Logging out twice: the second is a 401.
    let r = cv(&app, Method::POST, "/Logout", &[auth(&token)], None).await;
    assert_access_denied(&r);
}

#[tokio::test]
async fn unauthenticated_and_unprivileged_calls_in_both_formats() {
    let app = spawn().await;
    let svc = app.principal("connector", "service", None).await;
    let target = registered(&app, &svc, json!({"user": {"name": "t"}})).await;
    let viewer = cv_principal(&app, "watcher", "viewer", None).await;
    let (ended, _) = cv_login(&app, "admin", ADMIN_PW).await;
    cv(&app, Method::POST, "/Logout", &[auth(&ended)], None).await;
    let body = || Some((seed_body(&target, &target).into_bytes(), XML_CT));

    for root in ROOTS {
        for token in [None, Some("QSDK garbage"), Some(ended.as_str())] {
            let hdrs = |accept: &'static str| {
                let mut h = vec![("accept", accept)];
                if let Some(t) = token {
                    h.push(auth(t));
                }
                h
            };
            for (method, path) in [
                (Method::GET, "/Sessions"),
                (Method::DELETE, "/Sessions"),
                (Method::POST, "/Logout"),
            ] {
                let b = if method == Method::DELETE {
                    body()
                } else {
                    None
                };
                let r = cv_at(&app, root, method.clone(), path, &hdrs(JSON_CT), b).await;
                assert_cv_error(&r, StatusCode::UNAUTHORIZED, 5);
                let b = if method == Method::DELETE {
                    body()
                } else {
                    None
                };
                let r = cv_at(&app, root, method.clone(), path, &hdrs(XML_CT), b).await;
                assert_cv_error_xml(&r, StatusCode::UNAUTHORIZED, 5);
            }
        }
        // A viewer may list (Sessions.Read) but not log anyone off.
        list_json(&app, &viewer).await;
        let r = cv_at(
            &app,
            root,
            Method::DELETE,
            "/Sessions",
            &[auth(&viewer), ("accept", JSON_CT)],
            body(),
        )
        .await;
        assert_cv_error(&r, StatusCode::FORBIDDEN, 5);
        assert!(r.json()["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("Sessions.TerminateSession")));
        let r = logoff_xml(&app, root, &viewer, seed_body(&target, &target)).await;
        assert_cv_error_xml(&r, StatusCode::FORBIDDEN, 5);
    }
    assert_active(&app, &[&target]).await;
}

#[tokio::test]
async fn bad_bodies_are_400_and_change_nothing() {
    let app = spawn().await;
    let ops = cv_principal(&app, "ops", "operator", None).await;
    let svc = app.principal("connector", "service", None).await;
    let id = registered(&app, &svc, json!({"user": {"name": "t"}})).await;
    let valid = format!("<sessions val=\"{id}\"/>");
    let deep = format!(
        "<Api_LogoffUsersRequest>{}{valid}{}</Api_LogoffUsersRequest>",
        "<x>".repeat(40),
        "</x>".repeat(40)
    );
    let laughs = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n \
         <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n \
         <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n]>\n\
         <Api_LogoffUsersRequest><sessions val=\"{id}&lol3;\"/>{valid}</Api_LogoffUsersRequest>"
    );
    let xxe = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\
         <Api_LogoffUsersRequest>{valid}<sessions val=\"&x;\"/></Api_LogoffUsersRequest>"
    );
    let xml_cases: Vec<(&str, String)> = vec![
        ("billion laughs", laughs),
        ("external entity", xxe),
        (
            "undeclared entity",
            format!("<Api_LogoffUsersRequest>{valid}<sessions val=\"&lol;\"/></Api_LogoffUsersRequest>"),
        ),
        ("deep nesting", deep),
        ("malformed", format!("<Api_LogoffUsersRequest>{valid}")),
        (
            "mismatched tags",
            format!("<Api_LogoffUsersRequest>{valid}</Api_LogoffUsers>"),
        ),
        ("not XML", "hello".into()),
        ("empty", String::new()),
        ("wrong root", format!("<Api_LogonRequest>{valid}</Api_LogonRequest>")),
        (
            "unknown element",
            format!("<Api_LogoffUsersRequest>{valid}<session val=\"{id}\"/></Api_LogoffUsersRequest>"),
        ),
        (
            "sessions without val",
            format!("<Api_LogoffUsersRequest>{valid}<sessions sessionId=\"{id}\"/></Api_LogoffUsersRequest>"),
        ),
        (
            "two roots",
            format!("<Api_LogoffUsersRequest>{valid}</Api_LogoffUsersRequest><x/>"),
        ),
    ];
    for (what, body) in &xml_cases {
        for accept in [JSON_CT, XML_CT] {
            let r = cv(
                &app,
                Method::DELETE,
                "/Sessions",
                &[auth(&ops), ("accept", accept)],
                Some((body.clone().into_bytes(), XML_CT)),
            )
            .await;
            if accept == JSON_CT {
                assert_cv_error(&r, StatusCode::BAD_REQUEST, 2);
            } else {
                assert_cv_error_xml(&r, StatusCode::BAD_REQUEST, 2);
            }
            assert_active(&app, &[&id]).await;
            let _ = what;
        }
    }
    // The messages say what was wrong.
    let msg = |body: &str| {
        let (app, ops, body) = (&app, &ops, body.to_string());
        async move {
            let r = cv(
                app,
                Method::DELETE,
                "/Sessions",
                &[auth(ops)],
                Some((body.into_bytes(), XML_CT)),
            )
            .await;
            r.json()["errorMessage"].as_str().unwrap_or("").to_string()
        }
    };
    assert!(msg(&xml_cases[0].1).await.contains("DOCTYPE"));
    assert!(msg(&xml_cases[3].1).await.contains("deeper than 32"));
    assert!(msg(&xml_cases[9].1)
        .await
        .contains("unknown element <session>"));
    // A huge name is not echoed back whole.
    let long = format!(
        "<Api_LogoffUsersRequest><{n}/></Api_LogoffUsersRequest>",
        n = "q".repeat(100_000)
    );
    let m = msg(&long).await;
    assert!(
        m.starts_with("unknown element <qqq") && m.chars().count() <= 513,
        "{}",
        m.len()
    );
    // Not UTF-8.
    let mut bytes = b"<Api_LogoffUsersRequest><sessions val=\"".to_vec();
    bytes.extend([0xff, 0xfe]);
    bytes.extend(b"\"/></Api_LogoffUsersRequest>");
    let r = cv(
        &app,
        Method::DELETE,
        "/Sessions",
        &[auth(&ops)],
        Some((bytes, XML_CT)),
    )
    .await;
    assert_cv_error(&r, StatusCode::BAD_REQUEST, 2);

    // JSON: malformed, wrong types, unknown members.
    for body in [
        "{".to_string(),
        "[]".to_string(),
        "{}".to_string(),
        "{\"sessions\":\"x\"}".to_string(),
        "{\"sessions\":[{\"val\":5}]}".to_string(),
        format!("{{\"sessions\":[{{\"val\":\"{id}\"}},{{\"sessionId\":\"{id}\"}}]}}"),
        format!("{{\"sessions\":[{{\"val\":\"{id}\"}}],\"extra\":1}}"),
        format!("{{\"sessions\":[{{\"val\":\"{id}\"}}]"),
    ] {
        let r = cv(
            &app,
            Method::DELETE,
            "/Sessions",
            &[auth(&ops)],
            Some((body.clone().into_bytes(), JSON_CT)),
        )
        .await;
        assert_cv_error(&r, StatusCode::BAD_REQUEST, 2);
        assert_active(&app, &[&id]).await;
    }
    // Content types this endpoint does not read, and no body at all: 415.
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut rb = app
            .http
            .delete(format!("{}{}/Sessions", app.base, ROOTS[0]))
            .header("authtoken", &ops)
            .header("accept", XML_CT);
        if let Some(ct) = ct {
            rb = rb.header("content-type", ct);
        }
        let r = rb.body(seed_body(&id, &id)).send().await.expect("send");
        assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct:?}");
        let text = r.text().await.expect("text");
        assert_eq!(parse_xml(&text).name, "Api_GenericResp", "{text}");
    }
    // Over the 8 MiB limit: 413 in both formats, under both roots, also for Login.
    let mut huge = format!("<Api_LogoffUsersRequest>{valid}<sessions val=\"");
    huge.push_str(&"x".repeat(9 * 1024 * 1024));
    huge.push_str("\"/></Api_LogoffUsersRequest>");
    for root in ROOTS {
        let r = cv_at(
            &app,
            root,
            Method::DELETE,
            "/Sessions",
            &[auth(&ops)],
            Some((huge.clone().into_bytes(), XML_CT)),
        )
        .await;
        assert_cv_error(&r, StatusCode::PAYLOAD_TOO_LARGE, 2);
        let r = cv_at(
            &app,
            root,
            Method::POST,
            "/Login",
            &[("accept", XML_CT)],
            Some((huge.clone().into_bytes(), JSON_CT)),
        )
        .await;
        assert_cv_error_xml(&r, StatusCode::PAYLOAD_TOO_LARGE, 2);
    }
    assert_active(&app, &[&id]).await;
}

#[tokio::test]
async fn huge_lists() {
    let app = spawn().await;
    let ops = cv_principal(&app, "ops", "operator", None).await;
    let svc = app.principal("connector", "service", None).await;
    let mut real = Vec::new();
    for i in 0..20 {
        real.push(registered(&app, &svc, json!({"user": {"name": format!("u{i}")}})).await);
    }
    let keep = registered(&app, &svc, json!({"user": {"name": "keep"}})).await;

    // 10,000 vals in the seed's layout: the real ones spread among unknown ids.
    let mut vals: Vec<String> = (0..10_000 - real.len()).map(unknown_id).collect();
    for (i, id) in real.iter().enumerate() {
        vals.insert(i * 400, id.clone());
    }
    assert_eq!(vals.len(), 10_000);
    let mut body =
        String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n <Api_LogoffUsersRequest>\n");
    for v in &vals {
        body.push_str(&format!("   <sessions val=\"{v}\"/>\n"));
    }
    body.push_str("</Api_LogoffUsersRequest >\n");
    let r = logoff_xml(&app, ROOTS[0], &ops, body).await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (StatusCode::OK, "<Api_LogoffUsersResponse />")
    );
    let refs: Vec<&str> = real.iter().map(String::as_str).collect();
    assert_terminated_by(&app, &refs, "ops").await;
    assert_active(&app, &[&keep]).await;

    // The same size as JSON.
    let more: Vec<String> = (0..10_000).map(|i| unknown_id(i + 20_000)).collect();
    let mut ids: Vec<&str> = more.iter().map(String::as_str).collect();
    ids.push(&keep);
    let r = logoff_json(&app, &ops, &ids).await;
    assert_eq!((r.status, r.json()), (StatusCode::OK, json!({})));
    assert_terminated_by(&app, &[&keep], "ops").await;

    // More ids than one request may name (100,000): refused whole, nothing ended.
    let last = registered(&app, &svc, json!({"user": {"name": "last"}})).await;
    let many: Vec<String> = std::iter::once(last.clone())
        .chain((0..100_000).map(unknown_id))
        .collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let r = logoff_json(&app, &ops, &refs).await;
    assert_cv_error(&r, StatusCode::BAD_REQUEST, 2);
    assert_active(&app, &[&last]).await;
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_dialect() {
    let app = spawn().await;
    let (token, _) = cv_login(&app, "admin", ADMIN_PW).await;
    for root in ROOTS {
        for (method, path, status) in [
            (Method::GET, "/Nope", StatusCode::NOT_FOUND),
            (Method::GET, "/Sessions/extra", StatusCode::NOT_FOUND),
            (Method::GET, "/Session/extra", StatusCode::NOT_FOUND),
            (Method::POST, "/Session", StatusCode::METHOD_NOT_ALLOWED),
            (Method::DELETE, "/WhoAmI", StatusCode::METHOD_NOT_ALLOWED),
            (Method::PUT, "/Sessions", StatusCode::METHOD_NOT_ALLOWED),
            (Method::POST, "/Sessions", StatusCode::METHOD_NOT_ALLOWED),
            (Method::GET, "/Login", StatusCode::METHOD_NOT_ALLOWED),
            (Method::DELETE, "/Logout", StatusCode::METHOD_NOT_ALLOWED),
            (Method::POST, "/", StatusCode::METHOD_NOT_ALLOWED),
            (Method::POST, "", StatusCode::METHOD_NOT_ALLOWED),
            (Method::DELETE, "", StatusCode::METHOD_NOT_ALLOWED),
        ] {
            let r = cv_at(&app, root, method.clone(), path, &[auth(&token)], None).await;
            assert_cv_error(&r, status, 3);
            let r = cv_at(
                &app,
                root,
                method.clone(),
                path,
                &[auth(&token), ("accept", XML_CT)],
                None,
            )
            .await;
            assert_cv_error_xml(&r, status, 3);
        }
    }
}

#[tokio::test]
async fn whoami_names_the_caller_on_both_roots_and_formats() {
    let app = spawn().await;
    app.principal("alice", "viewer", None).await;
    let r = cv(
        &app,
        Method::POST,
        "/Login",
        &[],
        Some((login_body("alice", "password-of-alice"), JSON_CT)),
    )
    .await;
    let login = r.json();
    let token = login["token"].as_str().expect("token").to_string();
    let (admin_cv, _) = cv_login(&app, "admin", ADMIN_PW).await;
    for root in ROOTS {
        let me = whoami_at(&app, root, &token).await;
        assert_eq!(me["userName"], "alice");
        assert_eq!(me["userGUID"], login["userGUID"]);
        let admin = whoami_at(&app, root, &admin_cv).await;
        assert_eq!(admin["userName"], "admin");
        assert_ne!(admin["userId"], me["userId"]);
        assert_ne!(admin["userGUID"], me["userGUID"]);
        // The id is the one the caller's own login is listed under.
        let list = list_json(&app, &admin_cv).await;
        let own = list
            .iter()
            .find(|s| s["sessionId"] == id_of(&token))
            .expect("alice's login listed");
        assert_eq!(own["user"]["userId"], me["userId"]);
        // Lower case and GET (Commvault's reference) answer the same.
        for (method, path) in [(Method::POST, "/whoami"), (Method::GET, "/WhoAmI")] {
            let r = cv_at(&app, root, method, path, &[auth(&token)], None).await;
            assert_eq!(r.json()["user"], me);
        }
        // XML, as cvpysdk reads it: CvEntities_ProcessingInstructionInfo/user/@userName.
        let r = cv_at(
            &app,
            root,
            Method::POST,
            "/WhoAmI",
            &[auth(&token), ("accept", XML_CT)],
            None,
        )
        .await;
        let x = r.xml();
        assert_eq!(x.name, "CvEntities_ProcessingInstructionInfo", "{}", r.text);
        assert_eq!(x.children.len(), 1);
        let u = &x.children[0];
        assert_eq!(u.name, "user");
        assert_eq!(u.attrs["userName"], "alice");
        assert_eq!(u.attrs["userId"], me["userId"].to_string());
        assert_eq!(Some(u.attrs["userGUID"].as_str()), me["userGUID"].as_str());
        // No or a bad token: Commvault's 401.
        for hdrs in [vec![], vec![auth("QSDK garbage")]] {
            let r = cv_at(&app, root, Method::POST, "/WhoAmI", &hdrs, None).await;
            assert_access_denied(&r);
        }
    }
}

#[tokio::test]
async fn logout_answers_plain_text_and_a_second_logout_is_401() {
    let app = spawn().await;
    for root in ROOTS {
        let (token, id) = cv_login_at(&app, root, "admin", ADMIN_PW).await;
        // As cvpysdk sends it (XML content type, empty body); Accept does not change it.
        for accept in [JSON_CT, XML_CT] {
            let (token, id) = cv_login_at(&app, root, "admin", ADMIN_PW).await;
            let r = cv_at(
                &app,
                root,
                Method::POST,
                "/Logout",
                &[auth(&token), ("accept", accept)],
                Some((Vec::new(), XML_CT)),
            )
            .await;
            assert_logged_out(&r);
            assert_eq!(state_of(&app, &id).await.0, "closed");
        }
        let r = cv_at(&app, root, Method::POST, "/Logout", &[auth(&token)], None).await;
        assert_logged_out(&r);
        assert_eq!(state_of(&app, &id).await.0, "closed");
        let r = cv_at(&app, root, Method::POST, "/Logout", &[auth(&token)], None).await;
        assert_access_denied(&r);
        // The ended token is refused everywhere alike.
        let r = cv_at(&app, root, Method::POST, "/WhoAmI", &[auth(&token)], None).await;
        assert_access_denied(&r);
    }
}

#[tokio::test]
async fn sessions_of_one_user_on_both_paths_and_roots() {
    let app = spawn().await;
    let svc = app.principal("connector", "service", None).await;
    app.principal("alice", "viewer", None).await;
    app.principal("bob", "viewer", None).await;
    let (admin_cv, admin_id) = cv_login(&app, "admin", ADMIN_PW).await;
    let (alice1, alice1_id) = cv_login(&app, "alice", "password-of-alice").await;
    let (_, alice2_id) = cv_login_at(&app, ROOTS[1], "alice", "password-of-alice").await;
    let (bob_cv, bob_id) = cv_login(&app, "bob", "password-of-bob").await;
    // Registered sessions: one with its own auth_id, one whose auth_id core derives.
    let mirrored = registered(
        &app,
        &svc,
        json!({"user": {"domain": "ACTIVE_DIRECTORY", "name": "carol", "auth_id": "777"}}),
    )
    .await;
    let plain = registered(&app, &svc, json!({"user": {"name": "dave"}})).await;
    // Same auth_id elsewhere: another service, another tenant. Never listed.
    registered(
        &app,
        &svc,
        json!({"service": "smb", "user": {"name": "carol", "auth_id": "777"}}),
    )
    .await;
    app.tenant("acme").await;
    let acme_svc = app
        .principal("acme-connector", "service", Some("acme"))
        .await;
    registered(
        &app,
        &acme_svc,
        json!({"user": {"name": "carol", "auth_id": "777"}}),
    )
    .await;

    let alice = whoami_at(&app, ROOTS[0], &alice1).await["userId"].clone();
    let bob = whoami_at(&app, ROOTS[0], &bob_cv).await["userId"].clone();
    let all = list_json(&app, &admin_cv).await;
    let dave = all
        .iter()
        .find(|s| s["sessionId"] == plain)
        .expect("dave listed")["user"]["userId"]
        .clone();
    let cases: [(&Value, Vec<&String>, &str); 4] = [
        (&alice, vec![&alice1_id, &alice2_id], "alice"),
        (&bob, vec![&bob_id], "bob"),
        (&json!(777), vec![&mirrored], "ACTIVE_DIRECTORY\\carol"),
        (&dave, vec![&plain], "dave"),
    ];
    for root in ROOTS {
        for path in ["/Session", "/Sessions", "/session", "/sessions"] {
            for only_active in [true, false] {
                for (uid, want, name) in &cases {
                    // Any caller with Sessions.Read may ask about any user of its tenant.
                    for caller in [&admin_cv, &bob_cv] {
                        let got = list_user(&app, root, path, caller, uid, only_active).await;
                        assert_eq!(session_ids(&got), sorted(want), "{root}{path} {uid}");
                        for s in &got {
                            assert_eq!(&s["user"]["userId"], *uid, "{s}");
                            assert_eq!(s["user"]["userName"], *name, "{s}");
                            assert_eq!(s["logoutTime"], 0, "{s}");
                        }
                    }
                }
                // A user without sessions: an empty list, not the tenant's.
                let none = list_user(&app, root, path, &admin_cv, &json!(1), only_active).await;
                assert!(none.is_empty(), "{none:?}");
            }
        }
    }
    // Without userId, GET Sessions is still the whole tenant's list.
    assert_eq!(
        session_ids(&list_json(&app, &admin_cv).await),
        sorted(&[&admin_id, &alice1_id, &alice2_id, &bob_id, &mirrored, &plain])
    );
}

#[tokio::test]
async fn only_active_sessions_header_and_ended_sessions_of_a_user() {
    let app = spawn().await;
    let t0 = app.registry.clock().now().secs();
    app.principal("alice", "viewer", None).await;
    let (admin_cv, _) = cv_login(&app, "admin", ADMIN_PW).await;
    let (alice_live, live_id) = cv_login(&app, "alice", "password-of-alice").await;
    let (alice_gone, gone_id) = cv_login(&app, "alice", "password-of-alice").await;
    let alice = whoami_at(&app, ROOTS[0], &alice_live).await["userId"].clone();
    app.clock.advance(Duration::from_secs(60));
    let r = cv(&app, Method::POST, "/Logout", &[auth(&alice_gone)], None).await;
    assert_logged_out(&r);
    app.clock.advance(Duration::from_secs(60));
    for root in ROOTS {
        for path in ["/Session", "/Sessions"] {
            let live = list_user(&app, root, path, &admin_cv, &alice, true).await;
            assert_eq!(session_ids(&live), vec![live_id.clone()], "{root}{path}");
            assert_eq!(live[0]["logoutTime"], 0);
            // Without the header: the ended login too, with when it ended.
            let both = list_user(&app, root, path, &admin_cv, &alice, false).await;
            assert_eq!(
                session_ids(&both),
                sorted(&[&live_id, &gone_id]),
                "{root}{path}"
            );
            for s in &both {
                let want = if s["sessionId"] == gone_id.as_str() {
                    t0 + 60
                } else {
                    0
                };
                assert_eq!(s["logoutTime"], want, "{s}");
                assert_eq!(s["loginTime"], t0, "{s}");
            }
            // Any value but `true` is no restriction.
            let r = cv_at(
                &app,
                root,
                Method::GET,
                &format!("{path}?userId={alice}"),
                &[auth(&admin_cv), ("ONLY-ACTIVE-SESSIONS", "false")],
                None,
            )
            .await;
            assert_eq!(r.json()["sessions"].as_array().map(Vec::len), Some(2));
            // The same in XML, logoutTime as an attribute.
            let r = cv_at(
                &app,
                root,
                Method::GET,
                &format!("{path}?userId={alice}"),
                &[auth(&admin_cv), ("accept", XML_CT)],
                None,
            )
            .await;
            let x = r.xml();
            assert_eq!(x.name, "Api_GetSessionsResp");
            let gone = x
                .children
                .iter()
                .find(|c| c.attrs["sessionId"] == gone_id)
                .expect("ended login in XML");
            assert_eq!(gone.attrs["logoutTime"], (t0 + 60).to_string());
        }
    }
    // The tenant-wide list (no userId) shows live sessions only, header or not.
    let ids = session_ids(&list_json(&app, &admin_cv).await);
    assert!(ids.contains(&live_id) && !ids.contains(&gone_id), "{ids:?}");
}

#[tokio::test]
async fn a_malformed_user_id_is_400_in_commvaults_body() {
    let app = spawn().await;
    let (token, _) = cv_login(&app, "admin", ADMIN_PW).await;
    for root in ROOTS {
        for path in ["/Session", "/Sessions"] {
            for query in [
                "userId=",
                "userId=abc",
                "userId=-1",
                "userId=1.5",
                "userId=0x10",
                "userId=18446744073709551616",
                "userId=1&userId=2",
                "user_id=1",
            ] {
                let p = format!("{path}?{query}");
                let r = cv_at(&app, root, Method::GET, &p, &[auth(&token)], None).await;
                assert_cv_error(&r, StatusCode::BAD_REQUEST, 2);
                let hdrs = [auth(&token), ("accept", XML_CT)];
                let r = cv_at(&app, root, Method::GET, &p, &hdrs, None).await;
                assert_cv_error_xml(&r, StatusCode::BAD_REQUEST, 2);
            }
        }
        // The documented call names its user; without one it is a 400, not the tenant.
        let r = cv_at(&app, root, Method::GET, "/Session", &[auth(&token)], None).await;
        assert_cv_error(&r, StatusCode::BAD_REQUEST, 2);
        // Authentication comes first: no token is a 401 whatever the query.
        let r = cv_at(&app, root, Method::GET, "/Session?userId=x", &[], None).await;
        assert_access_denied(&r);
    }
}
