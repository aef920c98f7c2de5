//! The web console in a real browser: Debian's chromium driven through chromium-driver by
//! `tests/interop/console_driver.py` (selenium, in the interop virtualenv). The fixtures and
//! every check of the server's state go through the native API; the browser does what an
//! operator does. Screenshots of each page are left in `$CARGO_TARGET_DIR/console-screenshots`
//! (the current ones are committed under `docs/console/`).

mod common;

use common::{Native, PyChild, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

const PW: &str = "console-test-password";
/// A safety net only: each answer of the driver ends the wait.
const WAIT: Duration = Duration::from_secs(400);
/// Sessions that "terminate all matching" ends in one go.
const BULK: usize = 500;

struct Browser {
    py: PyChild,
}

impl Browser {
    fn start(base: &str) -> Browser {
        let shots = shots_dir();
        let py = PyChild::start(
            "selenium.webdriver",
            "console_driver.py",
            &[base, &shots.display().to_string()],
        );
        assert_eq!(py.next_line(WAIT), "READY");
        Browser { py }
    }

    /// Runs one driver command; its `OK` answer, or the test fails with the driver's error.
    fn cmd(&mut self, c: Value) -> Value {
        self.py.send(&c.to_string());
        let line = self.py.next_line(WAIT);
        match line.split_once(' ') {
            Some(("OK", rest)) => serde_json::from_str(rest).expect("driver JSON"),
            _ => panic!("driver failed on {c}: {line}"),
        }
    }

    fn fresh(&mut self, width: u32) {
        self.cmd(json!({"cmd": "new_browser", "width": width}));
    }

    fn login(&mut self, user: &str, password: &str) -> Value {
        self.cmd(json!({"cmd": "login", "user": user, "password": password}))
    }

    fn rows(&mut self, path: &str) -> (BTreeSet<String>, Value) {
        let v = self.cmd(json!({"cmd": "rows", "path": path}));
        (ids_of(&v["ids"]), v)
    }

    fn shot(&mut self, name: &str) {
        self.cmd(json!({"cmd": "screenshot", "name": name}));
    }

    /// The page fits the window and every control has a name.
    fn check_layout(&mut self, what: &str) {
        let l = self.cmd(json!({"cmd": "layout"}));
        assert_eq!(l["overflow"], false, "{what} is wider than the window: {l}");
        assert_eq!(
            l["unlabelled"],
            json!([]),
            "{what}: controls without a label"
        );
        assert_eq!(
            l["unfocusable"],
            json!([]),
            "{what}: controls out of keyboard reach"
        );
    }
}

fn shots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("console-screenshots")
}

fn ids_of(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .expect("ids")
        .iter()
        .map(|i| i.as_str().expect("id").to_string())
        .collect()
}

/// The ids the native API lists for a query (one page of up to 1000 is all these fixtures
/// hold).
async fn api_ids(n: &Native, query: &str) -> BTreeSet<String> {
    let (s, v) = n
        .call(Method::GET, &format!("/sessions?limit=1000&{query}"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{query}: {v}");
    assert!(v["next"].is_null(), "{query}: more than one page");
    v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| s["id"].as_str().expect("id").to_string())
        .collect()
}

async fn register(n: &Native, body: Value) -> String {
    let (s, v) = n.call(Method::POST, "/sessions", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["session"]["id"].as_str().expect("id").to_string()
}

async fn principal(n: &Native, name: &str, role: &str) {
    let body = json!({"name": name, "password": "password-123", "role": role});
    let (s, v) = n.call(Method::POST, "/principals", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_browser() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("data"), PW);
    let admin = Native::login(&server, PW).await;
    let acme_op = admin.tenant_operator(&["acme"], "acme-op", "acme").await;
    principal(&admin, "watcher", "viewer").await;

    // Fixtures: a few sessions to filter, one in another tenant, and a bulk set.
    let alice = register(
        &admin,
        json!({"service": "smb", "user": {"name": "alice", "domain": "ACTIVE_DIRECTORY"},
               "originator": "10.1.2.3", "share_names": ["home"], "node_id": "n1"}),
    )
    .await;
    let bob = register(
        &admin,
        json!({"service": "smb", "user": {"name": "bob"}, "originator": "10.1.3.4",
               "share_names": ["home", "projects"], "node_id": "n2"}),
    )
    .await;
    let carol = register(
        &admin,
        json!({"service": "vsphere", "user": {"name": "carol"}, "originator": "192.168.7.9",
               "share_names": ["projects"]}),
    )
    .await;
    let dave = register(
        &admin,
        json!({"service": "smb", "user": {"name": "dave"}, "originator": "10.1.2.50",
               "share_names": ["home"], "tenant": "acme"}),
    )
    .await;
    let mut bulk = BTreeSet::new();
    for i in 0..BULK {
        let ip = format!("172.16.{}.{}", i / 250, i % 250 + 1);
        bulk.insert(
            register(
                &admin,
                json!({"service": "smb", "user": {"name": format!("bulk{i:03}")},
                       "originator": ip, "share_names": ["scratch"]}),
            )
            .await,
        );
    }

    // The CSP and the cookie's attributes, as the server sends them.
    let r = admin
        .http
        .get(format!("{}/console/login", server.base))
        .send()
        .await
        .expect("login page");
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(csp.starts_with("default-src 'self'"), "CSP: {csp:?}");

    let mut b = Browser::start(&server.base);

    // --- admin at 1280 px ---
    b.fresh(1280);
    let page = b.login("admin", PW);
    assert!(
        page["errors"].as_array().expect("errors").is_empty(),
        "{page}"
    );
    let (ids, page) = b.rows("/console/sessions?limit=1000");
    assert_eq!(ids, api_ids(&admin, "").await, "{page}");
    assert!(ids.contains(&alice) && !ids.contains(&dave));
    b.shot("sessions-1280");
    b.check_layout("sessions at 1280 px");

    // Filters typed into the form equal the native API's answers for the same filter.
    for (fields, query) in [
        (json!({"identity": "alice"}), "identity=alice"),
        (
            json!({"originator": "10.1.0.0/16"}),
            "originator=10.1.0.0%2F16",
        ),
        (json!({"share": "home"}), "share=home"),
        (
            json!({"tenant": "*", "originator": "10.1.2.0/24"}),
            "tenant=*&originator=10.1.2.0%2F24",
        ),
    ] {
        let v = b.cmd(json!({"cmd": "filter_form", "fields": fields}));
        let shown = ids_of(&v["ids"]);
        assert_eq!(shown, api_ids(&admin, query).await, "{fields}: {v}");
        assert!(!shown.is_empty(), "{fields}");
        // The filter is in the URL under the native names, so the view can be shared.
        let url = v["url"].as_str().expect("url");
        let (shared, _) = b.rows(&url[server.base.len()..]);
        assert_eq!(shared, shown, "{url}");
    }
    let (ids, _) = b.rows("/console/sessions?tenant=*&originator=10.1.2.0/24");
    assert_eq!(ids, BTreeSet::from([alice.clone(), dave.clone()]));
    b.shot("sessions-filtered-1280");

    // The identity grammar's error is shown inline, worded as the API words it.
    let v = b.cmd(json!({"cmd": "filter_form", "fields": {"identity": "sid:"}}));
    let (s, api) = admin
        .call(Method::GET, "/sessions?identity=sid:", None)
        .await;
    assert!(s.is_client_error(), "{api}");
    let shown = v["errors"].as_array().expect("errors");
    let api_msg = api["error"]["message"].as_str().expect("message");
    assert!(
        shown.iter().any(|e| e.as_str() == Some(api_msg)),
        "{v} vs {api}"
    );
    b.shot("sessions-identity-error");

    // Session detail.
    let d = b.cmd(json!({"cmd": "goto", "path": format!("/console/sessions/{alice}")}));
    assert!(d["h1"].as_str().expect("h1").contains(&alice), "{d}");
    b.shot("session-detail-1280");

    // Terminate one through the selection, with a reason.
    b.rows("/console/sessions?identity=alice");
    let t =
        b.cmd(json!({"cmd": "terminate_selected", "ids": [alice], "reason": "left the company"}));
    assert_eq!(
        t["items"],
        json!([{"id": alice, "result": "terminated"}]),
        "{t}"
    );
    let s = admin.session(&alice).await;
    assert_eq!(s["state"], "terminated");
    assert_eq!(s["end_reason"], "left the company");
    assert_eq!(s["ended_by"], "admin");
    b.shot("terminated-one");
    let d = b.cmd(json!({"cmd": "goto", "path": format!("/console/sessions/{alice}")}));
    assert_eq!(d["errors"], json!([]));
    b.shot("session-detail-ended");

    // Terminate all matching: 500 sessions through the preview and its confirm token.
    let m = b.cmd(
        json!({"cmd": "terminate_matching", "path": "/console/sessions?share=scratch",
                         "reason": "scratch share retired", "shot": "terminate-matching"}),
    );
    assert_eq!(m["count"], BULK, "{m}");
    assert_eq!(m["done"], BULK, "{m}");
    assert_eq!(api_ids(&admin, "share=scratch").await, BTreeSet::new());
    let ended = api_ids(&admin, "share=scratch&state=ended").await;
    assert_eq!(ended, bulk);
    let one = admin.session(bulk.iter().next().expect("one")).await;
    assert_eq!(one["end_reason"], "scratch share retired");
    // Nothing else was touched.
    assert_eq!(admin.session(&bob).await["state"], "active");
    assert_eq!(admin.session(&carol).await["state"], "active");

    // The table follows the event stream: a new session appears and an ended one goes,
    // without a reload.
    b.rows("/console/sessions?service=smb&limit=1000");
    let url_before = b
        .cmd(json!({"cmd": "goto", "path": "/console/sessions?service=smb&limit=1000"}))["url"]
        .clone();
    let eve = register(
        &admin,
        json!({"service": "smb", "user": {"name": "eve"}, "originator": "10.1.9.9"}),
    )
    .await;
    let w = b.cmd(json!({"cmd": "wait_row", "id": eve, "present": true}));
    assert_eq!(w["url"], url_before, "no navigation: {w}");
    let (s, v) = admin
        .call(Method::DELETE, &format!("/sessions/{eve}"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    b.cmd(json!({"cmd": "wait_row", "id": eve, "present": false}));

    // Overview: live counts per service and tenant, and the hourly chart per service.
    let o = b.cmd(json!({"cmd": "goto", "path": "/console/?tenant=*"}));
    assert_eq!(o["h1"], "Overview", "{o}");
    b.shot("overview-1280");
    let charts = b.cmd(json!({"cmd": "has", "css": "svg.chart"}));
    assert_eq!(
        charts["count"], 3,
        "smb, vsphere and sessiond (the logins): {charts}"
    );
    b.check_layout("overview at 1280 px");
    let a = b.cmd(json!({"cmd": "goto", "path": "/console/admin"}));
    assert_eq!(a["h1"], "Admin", "{a}");
    b.check_layout("admin at 1280 px");
    b.shot("admin-1280");

    // --- 390 px ---
    b.cmd(json!({"cmd": "resize", "width": 390, "height": 844}));
    b.rows("/console/sessions");
    b.check_layout("sessions at 390 px");
    b.shot("sessions-390");
    b.cmd(json!({"cmd": "goto", "path": format!("/console/sessions/{bob}")}));
    b.check_layout("detail at 390 px");
    b.shot("session-detail-390");
    b.cmd(json!({"cmd": "goto", "path": "/console/"}));
    b.check_layout("overview at 390 px");
    b.shot("overview-390");
    b.cmd(json!({"cmd": "goto", "path": "/console/admin"}));
    b.check_layout("admin at 390 px");
    b.shot("admin-390");

    // --- a viewer sees, and cannot end ---
    b.fresh(1280);
    b.login("watcher", "password-123");
    let (ids, _) = b.rows("/console/sessions");
    assert!(ids.contains(&bob));
    for css in [
        "#terminate-selected",
        "#terminate-matching",
        "input[name=id]",
        "#select-all",
    ] {
        assert_eq!(
            b.cmd(json!({"cmd": "has", "css": css}))["count"],
            0,
            "a viewer sees {css}"
        );
    }
    b.shot("sessions-viewer");
    let forged = b.cmd(
        json!({"cmd": "forge_post", "path": "/console/sessions/terminate",
                              "body": format!("id={bob}&reason=forged")}),
    );
    assert_eq!(forged["status"], 403, "{forged}");
    let no_csrf = b.cmd(
        json!({"cmd": "forge_post", "path": "/console/sessions/terminate",
                               "body": format!("id={bob}"), "csrf": false}),
    );
    assert_eq!(no_csrf["status"], 403, "{no_csrf}");
    assert_eq!(admin.session(&bob).await["state"], "active");

    // --- a tenant's operator sees only its tenant ---
    b.fresh(1280);
    b.login("acme-op", "password-123");
    let (ids, _) = b.rows("/console/sessions?limit=1000");
    assert_eq!(ids, api_ids(&acme_op, "").await);
    assert!(ids.contains(&dave));
    assert!(!ids.contains(&bob) && !ids.contains(&carol));
    let (ids, v) = b.rows("/console/sessions?tenant=*");
    assert!(ids.is_empty(), "{v}");
    let d = b.cmd(json!({"cmd": "goto", "path": format!("/console/sessions/{bob}")}));
    assert!(d["h1"].as_str().expect("h1").contains("404"), "{d}");
    b.rows("/console/sessions");
    let forged = b.cmd(
        json!({"cmd": "forge_post", "path": "/console/sessions/terminate",
                              "body": format!("id={bob}")}),
    );
    assert_eq!(forged["status"], 200, "{forged}");
    assert!(
        forged["body"].as_str().expect("body").contains("not found"),
        "{forged}"
    );
    assert_eq!(admin.session(&bob).await["state"], "active");
    b.shot("sessions-tenant-operator");

    // --- /api/docs renders with every other origin unreachable ---
    let docs = b.cmd(json!({"cmd": "docs"}));
    assert_eq!(docs["has_sessions"], true, "{docs}");
    assert_eq!(docs["has_login"], true, "{docs}");
    b.shot("api-docs");

    // No page asked any other origin for anything, and every console page carried the CSP.
    let req = b.cmd(json!({"cmd": "requests"}));
    assert_eq!(req["other_origins"], json!([]), "{req}");
    assert!(req["count"].as_u64().expect("count") > 20, "{req}");
    let docs_seen = req["documents"].as_array().expect("documents");
    let console_docs: Vec<&Value> = docs_seen
        .iter()
        .filter(|d| d["url"].as_str().unwrap_or("").contains("/console/"))
        .collect();
    assert!(!console_docs.is_empty());
    for d in console_docs {
        assert!(
            d["headers"]["content-security-policy"]
                .as_str()
                .unwrap_or("")
                .starts_with("default-src 'self'"),
            "{d}"
        );
    }
    let logs = b.cmd(json!({"cmd": "console_errors"}));
    let csp_violations: Vec<&Value> = logs["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m.as_str().unwrap_or("").contains("Content Security Policy"))
        .collect();
    assert!(csp_violations.is_empty(), "{logs}");
    b.cmd(json!({"cmd": "quit"}));
}
