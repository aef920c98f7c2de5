//! The vSphere SessionManager over SOAP at `/sdk` (issue 9), over real HTTP: the versions
//! document, each method's envelope as pyvmomi 9.1.1.0 sends it and the answer it needs,
//! faults (HTTP 500, un-namespaced `faultstring`, `<detail><XFault xsi:type="X">`), the
//! framework's rejections as faults, and the same end states as the VI/JSON dialect.

mod common;

use common::{assert_active, assert_terminated_by, spawn, spawn_with, state_of, TestApp};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::json;
use sessiond_api::commvault::xml::{parse, Element};

const ENV_OPEN: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<soapenv:Envelope \
    xmlns:soapenc=\"http://schemas.xmlsoap.org/soap/encoding/\" \
    xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
    xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
    xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">\n<soapenv:Body>";
const ENV_CLOSE: &str = "</soapenv:Body>\n</soapenv:Envelope>";

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Resp {
    fn root(&self) -> Element {
        parse(self.text.as_bytes()).unwrap_or_else(|e| panic!("not XML ({e}): {}", self.text))
    }

    /// The first element of the Body.
    fn body_child(&self) -> Element {
        let root = self.root();
        assert_eq!(root.name, "soapenv:Envelope", "{}", self.text);
        let body = child(&root, "soapenv:Body");
        body.children.first().cloned().expect("a Body child")
    }

    /// The `returnval` elements of a 200 answer to `method`.
    fn returnvals(&self, method: &str) -> Vec<Element> {
        assert_eq!(self.status, StatusCode::OK, "{}", self.text);
        let el = self.body_child();
        assert_eq!(el.name, format!("{method}Response"), "{}", self.text);
        assert_eq!(el.attr("xmlns"), Some("urn:vim25"));
        el.children
            .into_iter()
            .filter(|c| c.name == "returnval")
            .collect()
    }

    /// Checks a fault answer's shape; returns its detail element.
    fn fault(&self, type_name: &str) -> Element {
        assert_eq!(
            self.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{}",
            self.text
        );
        let ct = self.headers["content-type"].to_str().unwrap_or("");
        assert!(ct.starts_with("text/xml"), "{ct}");
        let f = self.body_child();
        assert_eq!(f.name, "soapenv:Fault", "{}", self.text);
        assert_eq!(child(&f, "faultcode").text, "ServerFaultCode");
        assert!(!child(&f, "faultstring").text.is_empty(), "{}", self.text);
        let detail = child(&f, "detail");
        let d = detail.children.first().cloned().expect("detail child");
        assert_eq!(d.name, format!("{type_name}Fault"), "{}", self.text);
        assert_eq!(d.attr("xsi:type"), Some(type_name), "{}", self.text);
        assert_eq!(d.attr("xmlns"), Some("urn:vim25"));
        d
    }
}

fn child<'a>(el: &'a Element, name: &str) -> &'a Element {
    el.children
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("<{}> has no <{name}>: {el:?}", el.name))
}

fn text(el: &Element, name: &str) -> String {
    child(el, name).text.clone()
}

/// The cookie exactly as pyvmomi sends it back: the whole `Set-Cookie` value.
fn cookie_of(token: &str) -> String {
    format!("vmware_soap_session=\"{token}\"; Path=/; HttpOnly; Secure;")
}

async fn send(rb: reqwest::RequestBuilder) -> Resp {
    let resp = rb.send().await.expect("request");
    Resp {
        status: resp.status(),
        headers: resp.headers().clone(),
        text: resp.text().await.expect("body"),
    }
}

async fn post_raw(app: &TestApp, cookie: Option<&str>, body: String) -> Resp {
    let mut rb = app
        .http
        .post(format!("{}/sdk", app.base))
        .header("content-type", "text/xml; charset=UTF-8")
        .header("soapaction", "\"urn:vim25/8.0.3.0\"")
        .header("cookie", cookie.unwrap_or(""))
        .body(body);
    rb = rb.header("user-agent", "pyvmomi-contract-test");
    send(rb).await
}

/// A call in pyvmomi's envelope: `_this` with `versionId`, then the parameters.
async fn soap(
    app: &TestApp,
    cookie: Option<&str>,
    method: &str,
    this: (&str, &str),
    params: &str,
) -> Resp {
    let body = format!(
        "{ENV_OPEN}<{method} xmlns=\"urn:vim25\"><_this versionId=\"8.0.3.0\" type=\"{}\">{}</_this>{params}</{method}>{ENV_CLOSE}",
        this.0, this.1
    );
    post_raw(app, cookie, body).await
}

const SM: (&str, &str) = ("SessionManager", "SessionManager");
const SI: (&str, &str) = ("ServiceInstance", "ServiceInstance");
const PC: (&str, &str) = ("PropertyCollector", "propertyCollector");

/// SOAP Login; returns (pyvmomi-style cookie, session key).
async fn login(app: &TestApp, user: &str, pw: &str) -> (String, String) {
    let r = soap(
        app,
        None,
        "Login",
        SM,
        &format!("<userName versionId=\"8.0.3.0\">{user}</userName><password versionId=\"8.0.3.0\">{pw}</password>"),
    )
    .await;
    let rv = r.returnvals("Login");
    let set = r.headers.get_all("set-cookie").iter().count();
    assert_eq!(set, 1, "exactly one Set-Cookie");
    let sc = r.headers["set-cookie"].to_str().expect("ascii").to_string();
    let token = sc
        .strip_prefix("vmware_soap_session=\"")
        .and_then(|s| s.split_once('"'))
        .map(|(t, rest)| {
            assert!(rest.starts_with("; Path=/"), "{sc}");
            t.to_string()
        })
        .unwrap_or_else(|| panic!("cookie shape: {sc}"));
    (cookie_of(&token), text(&rv[0], "key"))
}

async fn principal(app: &TestApp, name: &str, role: &str) -> (String, String) {
    app.principal(name, role, None).await;
    login(app, name, &format!("password-of-{name}")).await
}

async fn vsphere_session(app: &TestApp, name: &str) -> String {
    app.register(
        &app.admin,
        json!({"service": "vsphere", "user": {"name": name}, "originator": "10.9.8.7"}),
    )
    .await
    .0
}

fn ids_xml(ids: &[&str]) -> String {
    ids.iter()
        .map(|i| format!("<sessionId>{i}</sessionId>"))
        .collect()
}

async fn fetch(app: &TestApp, cookie: Option<&str>, this: (&str, &str), prop: &str) -> Resp {
    soap(
        app,
        cookie,
        "Fetch",
        this,
        &format!("<prop versionId=\"8.0.3.0\">{prop}</prop>"),
    )
    .await
}

#[tokio::test]
async fn versions_document_has_the_shape_pyvmomi_negotiates_from() {
    let app = spawn().await;
    let r = send(
        app.http
            .get(format!("{}/sdk/vimServiceVersions.xml", app.base)),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap_or("")
        .starts_with("text/xml"));
    let root = r.root();
    assert_eq!(
        (root.name.as_str(), root.attr("version")),
        ("namespaces", Some("1.0"))
    );
    assert_eq!(root.attr("xmlns"), None);
    let ns = child(&root, "namespace");
    assert_eq!(text(ns, "name"), "urn:vim25");
    assert_eq!(text(ns, "version"), "8.0.3.0");
    let prior: Vec<&str> = child(ns, "priorVersions")
        .children
        .iter()
        .map(|v| v.text.as_str())
        .collect();
    assert!(
        prior.contains(&"8.0.2.0") && prior.contains(&"6.0"),
        "{prior:?}"
    );
    assert!(r.headers.get("content-encoding").is_none());
}

#[tokio::test]
async fn service_content_and_fetch_content_are_anonymous() {
    let app = spawn().await;
    for cookie in [None, Some(cookie_of("stale.token"))] {
        let r = soap(&app, cookie.as_deref(), "RetrieveServiceContent", SI, "").await;
        let rv = r.returnvals("RetrieveServiceContent");
        assert_eq!(rv.len(), 1);
        let sm = child(&rv[0], "sessionManager");
        assert_eq!(
            (sm.attr("type"), sm.text.as_str()),
            (Some("SessionManager"), "SessionManager")
        );
        assert_eq!(child(&rv[0], "rootFolder").attr("type"), Some("Folder"));
        assert_eq!(child(&rv[0], "propertyCollector").text, "propertyCollector");
        let about = child(&rv[0], "about");
        assert_eq!(text(about, "apiVersion"), "8.0.3.0");
        assert_eq!(text(about, "apiType"), "VirtualCenter");
        assert!(about.children.iter().all(|c| c.name != "patchLevel"));
        let r = fetch(&app, cookie.as_deref(), SI, "content").await;
        let rv = r.returnvals("Fetch");
        assert_eq!(rv[0].attr("xsi:type"), Some("ServiceContent"));
        assert_eq!(child(&rv[0], "sessionManager").text, "SessionManager");
    }
    let r = soap(&app, None, "CurrentTime", SI, "").await;
    let rv = r.returnvals("CurrentTime");
    assert!(
        rv[0].text.ends_with('Z') && rv[0].text.contains('T'),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn login_fetch_and_logout() {
    let app = spawn().await;
    let (cookie, key) = principal(&app, "ops", "operator").await;
    // currentSession: the caller's own UserSession with all eleven fields.
    let r = fetch(&app, Some(&cookie), SM, "currentSession").await;
    let rv = r.returnvals("Fetch");
    assert_eq!(rv.len(), 1);
    assert_eq!(text(&rv[0], "key"), key);
    assert_eq!(text(&rv[0], "userName"), "ops");
    assert_eq!(text(&rv[0], "userAgent"), "pyvmomi-contract-test");
    assert_eq!(rv[0].children.len(), 11, "{}", r.text);
    // Anonymous or stale: unset, never a fault.
    assert!(fetch(&app, None, SM, "currentSession")
        .await
        .returnvals("Fetch")
        .is_empty());
    assert!(fetch(&app, Some(&cookie_of("x.y")), SM, "currentSession")
        .await
        .returnvals("Fetch")
        .is_empty());
    // The bare token as `SmartConnect(sessionId=…)` sends it works too.
    let bare = cookie
        .trim_end_matches("; Path=/; HttpOnly; Secure;")
        .to_string();
    assert_eq!(
        text(
            &fetch(&app, Some(&bare), SM, "currentSession")
                .await
                .returnvals("Fetch")[0],
            "key"
        ),
        key
    );
    // sessionList holds the login.
    let r = fetch(&app, Some(&cookie), SM, "sessionList").await;
    let rv = r.returnvals("Fetch");
    assert_eq!(rv[0].attr("xsi:type"), Some("ArrayOfUserSession"));
    assert!(
        rv[0].children.iter().any(|s| text(s, "key") == key),
        "{}",
        r.text
    );

    let r = soap(&app, Some(&cookie), "Logout", SM, "").await;
    assert!(r.returnvals("Logout").is_empty());
    assert!(r.headers.get("set-cookie").is_none());
    assert_eq!(state_of(&app, &key).await.0, "closed");
    assert!(fetch(&app, Some(&cookie), SM, "currentSession")
        .await
        .returnvals("Fetch")
        .is_empty());
    fetch(&app, Some(&cookie), SM, "sessionList")
        .await
        .fault("NotAuthenticated");
    soap(&app, Some(&cookie), "Logout", SM, "")
        .await
        .fault("NotAuthenticated");
}

#[tokio::test]
async fn faults_are_500_with_a_typed_detail() {
    let app = spawn().await;
    app.principal("viewer", "viewer", None).await;
    let r = soap(
        &app,
        None,
        "Login",
        SM,
        "<userName>viewer</userName><password>wrong</password>",
    )
    .await;
    r.fault("InvalidLogin");
    assert!(r.headers.get("set-cookie").is_none());

    let (viewer, _) = login(&app, "viewer", "password-of-viewer").await;
    let d = fetch(&app, Some(&viewer), SM, "sessionList")
        .await
        .fault("NoPermission");
    assert_eq!(text(&d, "privilegeId"), "Sessions.TerminateSession");
    assert_eq!(child(&d, "object").attr("type"), Some("SessionManager"));

    let d = fetch(&app, None, SM, "sessionList")
        .await
        .fault("NotAuthenticated");
    assert_eq!(child(&d, "object").text, "SessionManager");

    let (ops, own) = principal(&app, "ops", "operator").await;
    let d = soap(&app, Some(&ops), "TerminateSession", SM, &ids_xml(&[&own]))
        .await
        .fault("InvalidArgument");
    assert_eq!(text(&d, "invalidProperty"), "sessionId");
    let r = soap(
        &app,
        Some(&ops),
        "TerminateSession",
        SM,
        &ids_xml(&["00000000000000000000000001"]),
    )
    .await;
    r.fault("NotFound");
    assert!(
        r.text.contains("00000000000000000000000001"),
        "the faultstring names the id"
    );

    let r = soap(
        &app,
        None,
        "Login",
        SM,
        "<userName>ops</userName><password>x</password><locale>e n</locale>",
    )
    .await;
    r.fault("InvalidLocale");
}

#[tokio::test]
async fn unknown_methods_objects_and_properties_are_faults() {
    let app = spawn().await;
    let d = soap(&app, None, "CreateFolder", SM, "")
        .await
        .fault("MethodNotFound");
    assert_eq!(text(&d, "method"), "CreateFolder");
    assert_eq!(child(&d, "receiver").attr("type"), Some("SessionManager"));
    soap(
        &app,
        None,
        "RetrieveServiceContent",
        ("Folder", "group-d1"),
        "",
    )
    .await
    .fault("MethodNotFound");
    let d = soap(&app, None, "Login", ("SessionManager", "sm-2"), "")
        .await
        .fault("ManagedObjectNotFound");
    assert_eq!(child(&d, "obj").text, "sm-2");
    soap(&app, None, "Login", ("VirtualMachine", "vm-1"), "")
        .await
        .fault("ManagedObjectNotFound");
    let d = fetch(&app, None, SM, "defaultLocale")
        .await
        .fault("InvalidProperty");
    assert_eq!(text(&d, "name"), "defaultLocale");
    // A call without `_this` or without a required parameter is InvalidRequest.
    let body = format!("{ENV_OPEN}<Logout xmlns=\"urn:vim25\"/>{ENV_CLOSE}");
    post_raw(&app, None, body).await.fault("InvalidRequest");
    soap(&app, None, "Login", SM, "<userName>x</userName>")
        .await
        .fault("InvalidRequest");
}

#[tokio::test]
async fn bad_requests_and_framework_rejections_are_soap_faults() {
    let app = spawn_with(|s| s.body_limit = 64 * 1024).await;
    let doctype = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">]><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body>&lol;</soapenv:Body></soapenv:Envelope>";
    let r = post_raw(&app, None, doctype.into()).await;
    r.fault("InvalidRequest");
    assert!(r.text.contains("DOCTYPE"), "{}", r.text);
    post_raw(&app, None, "<not xml".into())
        .await
        .fault("InvalidRequest");
    post_raw(&app, None, "<a/>".into())
        .await
        .fault("InvalidRequest");
    post_raw(&app, None, String::new())
        .await
        .fault("InvalidRequest");
    // Too large for the body limit (a framework 413).
    let big = format!(
        "{ENV_OPEN}<Logout xmlns=\"urn:vim25\">{}</Logout>{ENV_CLOSE}",
        "x".repeat(100_000)
    );
    post_raw(&app, None, big).await.fault("InvalidRequest");
    // Wrong methods and unknown paths under /sdk (framework 404/405).
    for (m, path) in [
        (Method::GET, "/sdk"),
        (Method::DELETE, "/sdk"),
        (Method::POST, "/sdk/vimServiceVersions.xml"),
        (Method::GET, "/sdk/"),
        (Method::GET, "/sdk/vimService.wsdl"),
        (Method::POST, "/sdk/foo/bar"),
    ] {
        let r = send(app.http.request(m.clone(), format!("{}{path}", app.base))).await;
        r.fault("InvalidRequest");
    }
    // The VI/JSON dialect keeps its own prefix, its routes and its fallback alike.
    let frob = "/sdk/vim25/8.0.3.0/SessionManager/SessionManager/Frobnicate";
    let r = send(app.http.post(format!("{}{frob}", app.base))).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        r.text.starts_with('{') && r.text.contains("\"MethodNotFound\""),
        "{}",
        r.text
    );
    let r = send(app.http.get(format!("{}/sdk/vim25/latest/x/y/z", app.base))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.text.starts_with('{'), "{}", r.text);
    let r = send(app.http.get(format!(
        "{}/sdk/vim25/8.0.3.0/ServiceInstance/ServiceInstance/content",
        app.base
    )))
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.starts_with('{'), "{}", r.text);
    // The answers are never deflate-encoded, whatever the client accepts.
    let r = send(
        app.http
            .post(format!("{}/sdk", app.base))
            .header("accept-encoding", "gzip, deflate")
            .body(format!("{ENV_OPEN}<RetrieveServiceContent xmlns=\"urn:vim25\"><_this type=\"ServiceInstance\">ServiceInstance</_this></RetrieveServiceContent>{ENV_CLOSE}")),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_ne!(
        r.headers
            .get("content-encoding")
            .and_then(|v| v.to_str().ok()),
        Some("deflate")
    );
}

#[tokio::test]
async fn session_is_active_true_and_false() {
    let app = spawn().await;
    let (ops, _) = principal(&app, "ops", "operator").await;
    let a = vsphere_session(&app, "alice").await;
    let ask = |id: String, user: &'static str| {
        let app = &app;
        let ops = ops.clone();
        async move {
            let p = format!("<sessionID>{id}</sessionID><userName>{user}</userName>");
            let r = soap(app, Some(&ops), "SessionIsActive", SM, &p).await;
            r.returnvals("SessionIsActive")[0].text.clone()
        }
    };
    assert_eq!(ask(a.clone(), "alice").await, "true");
    assert_eq!(ask(a.clone(), "bob").await, "false");
    assert_eq!(ask("nope".into(), "alice").await, "false");
    soap(
        &app,
        None,
        "SessionIsActive",
        SM,
        "<sessionID>x</sessionID><userName>y</userName>",
    )
    .await
    .fault("NotAuthenticated");
}

#[tokio::test]
async fn terminate_session_is_sequential() {
    let app = spawn().await;
    let (ops, own) = principal(&app, "ops", "operator").await;
    let [a, b, c, d] = [
        vsphere_session(&app, "a").await,
        vsphere_session(&app, "b").await,
        vsphere_session(&app, "c").await,
        vsphere_session(&app, "d").await,
    ];
    let r = soap(
        &app,
        Some(&ops),
        "TerminateSession",
        SM,
        &ids_xml(&[&a, &b]),
    )
    .await;
    assert!(r.returnvals("TerminateSession").is_empty());
    assert_terminated_by(&app, &[&a, &b], "ops").await;
    let unknown = "00000000000000000000000009";
    let r = soap(
        &app,
        Some(&ops),
        "TerminateSession",
        SM,
        &ids_xml(&[&c, unknown, &d]),
    )
    .await;
    r.fault("NotFound");
    assert_terminated_by(&app, &[&c], "ops").await;
    assert_active(&app, &[&d, &own]).await;
}

/// The same list, through JSON on one set of sessions and through SOAP on a twin set, leaves
/// the same end states: one core path, two encodings.
#[tokio::test]
async fn json_and_soap_terminate_the_same_way() {
    let app = spawn().await;
    let (soap_cookie, soap_own) = principal(&app, "ops", "operator").await;
    let r = app
        .http
        .post(format!(
            "{}/sdk/vim25/8.0.3.0/SessionManager/SessionManager/Login",
            app.base
        ))
        .json(&json!({"userName": "ops", "password": "password-of-ops"}))
        .send()
        .await
        .expect("json login");
    let json_token = r.headers()["vmware-api-session-id"]
        .to_str()
        .expect("token")
        .to_string();
    let json_own = r.json::<serde_json::Value>().await.expect("body")["key"]
        .as_str()
        .expect("key")
        .to_string();
    let unknown = "00000000000000000000000007".to_string();
    // Each list: terminated, then a failure (unknown, own), then untouched.
    for (i, failing) in ["unknown", "own"].iter().enumerate() {
        let (mut states, mut faults) = (Vec::new(), Vec::new());
        for encoding in ["json", "soap"] {
            let x = vsphere_session(&app, &format!("x{i}{encoding}")).await;
            let y = vsphere_session(&app, &format!("y{i}{encoding}")).await;
            let own = if encoding == "json" {
                &json_own
            } else {
                &soap_own
            };
            let mid = if *failing == "own" {
                own.clone()
            } else {
                unknown.clone()
            };
            let ids = [x.as_str(), mid.as_str(), y.as_str()];
            let fault = if encoding == "json" {
                let r = app
                    .http
                    .post(format!(
                        "{}/sdk/vim25/8.0.3.0/SessionManager/SessionManager/TerminateSession",
                        app.base
                    ))
                    .header("vmware-api-session-id", &json_token)
                    .json(&json!({"sessionId": ids}))
                    .send()
                    .await
                    .expect("json terminate");
                assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
                let v: serde_json::Value = r.json().await.expect("fault");
                v["_typeName"].as_str().unwrap_or("").to_string()
            } else {
                let r = soap(
                    &app,
                    Some(&soap_cookie),
                    "TerminateSession",
                    SM,
                    &ids_xml(&ids),
                )
                .await;
                assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
                let f = r.body_child();
                let d = &child(&f, "detail").children[0];
                d.attr("xsi:type").unwrap_or("").to_string()
            };
            faults.push(fault);
            states.push((
                state_of(&app, &x).await,
                state_of(&app, &y).await,
                state_of(&app, own).await.0,
            ));
        }
        assert_eq!(
            states[0], states[1],
            "{failing}: JSON and SOAP end states differ"
        );
        assert_eq!(
            faults[0], faults[1],
            "{failing}: JSON and SOAP faults differ"
        );
        let expected = if *failing == "own" {
            "InvalidArgument"
        } else {
            "NotFound"
        };
        assert_eq!(faults[0], expected);
        let ((x, _), (y, _), own) = &states[0];
        assert_eq!(
            (x.as_str(), y.as_str(), own.as_str()),
            ("terminated", "active", "active")
        );
    }
}

fn pc_spec(paths: &[&str]) -> String {
    let paths: String = paths
        .iter()
        .map(|p| format!("<pathSet>{p}</pathSet>"))
        .collect();
    format!(
        "<specSet><propSet><type>SessionManager</type><all>false</all>{paths}</propSet>\
         <objectSet><obj type=\"SessionManager\">SessionManager</obj><skip>false</skip></objectSet></specSet>"
    )
}

#[tokio::test]
async fn property_collector_reports_missing_privileges_in_missing_set() {
    let app = spawn().await;
    let (viewer, key) = principal(&app, "viewer", "viewer").await;
    let spec = pc_spec(&["currentSession", "sessionList"]);
    let r = soap(
        &app,
        Some(&viewer),
        "RetrievePropertiesEx",
        PC,
        &format!("{spec}<options versionId=\"8.0.3.0\"></options>"),
    )
    .await;
    let rv = r.returnvals("RetrievePropertiesEx");
    let objects = child(&rv[0], "objects");
    assert_eq!(child(objects, "obj").attr("type"), Some("SessionManager"));
    let props: Vec<&Element> = objects
        .children
        .iter()
        .filter(|c| c.name == "propSet")
        .collect();
    assert_eq!(props.len(), 1, "{}", r.text);
    assert_eq!(text(props[0], "name"), "currentSession");
    let val = child(props[0], "val");
    assert_eq!(
        (val.attr("xsi:type"), text(val, "key")),
        (Some("UserSession"), key)
    );
    let missing = child(objects, "missingSet");
    assert_eq!(text(missing, "path"), "sessionList");
    let f = child(child(missing, "fault"), "fault");
    assert_eq!(f.attr("xsi:type"), Some("NoPermission"));
    assert_eq!(text(f, "privilegeId"), "Sessions.TerminateSession");

    // An operator gets both; RetrieveProperties has no `objects` wrapper.
    let (ops, _) = principal(&app, "ops", "operator").await;
    let r = soap(&app, Some(&ops), "RetrieveProperties", PC, &spec).await;
    let rv = r.returnvals("RetrieveProperties");
    assert_eq!(rv.len(), 1);
    let names: Vec<String> = rv[0]
        .children
        .iter()
        .filter(|c| c.name == "propSet")
        .map(|p| text(p, "name"))
        .collect();
    assert_eq!(names, ["currentSession", "sessionList"]);
    assert!(rv[0].children.iter().all(|c| c.name != "missingSet"));
    // No match: an empty answer. No session: NotAuthenticated. Unknown path: InvalidProperty.
    let other = spec.replace("<type>SessionManager</type>", "<type>Folder</type>");
    assert!(soap(&app, Some(&ops), "RetrievePropertiesEx", PC, &other)
        .await
        .returnvals("RetrievePropertiesEx")
        .is_empty());
    soap(&app, None, "RetrievePropertiesEx", PC, &spec)
        .await
        .fault("NotAuthenticated");
    soap(
        &app,
        Some(&ops),
        "RetrievePropertiesEx",
        PC,
        &pc_spec(&["nope"]),
    )
    .await
    .fault("InvalidProperty");
}
