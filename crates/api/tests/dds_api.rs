//! The DDS node-sessions dialect over real HTTP (seed 003; DESIGN.md §5): the list's shape,
//! filters and offset paging, kill semantics (all or nothing, inactive sessions refused),
//! project = tenant, both authentication methods, every signing failure, and bad input, each
//! answered in DDS's `{error_code, error_msg}` body with the codes and statuses of the
//! published error table; unknown nodes (404 `DBS.200013`); IAM's project lookup
//! (`GET /v3/projects?name=REGION`); and a fresh `X-Request-Id` on every answer (every call in
//! this file checks it, through [`raw`]).

mod common;

use common::{spawn, TestApp};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sessiond_api::dds::signing::{self, RequestView};
use sessiond_core::{Clock, Timestamp};
use std::collections::BTreeSet;
use std::time::Duration;

/// A tenant named like a cloud project id (32 hex digits).
const PROJECT: &str = "619d3e78f61b4be68bc5aa0b59edcf7b";
const NODE: &str = "520c58ba00a3497e97ce0b9604874dd6no02";
const OTHER_NODE: &str = "520c58ba00a3497e97ce0b9604874dd6no03";
const SESSION_FIELDS: [&str; 12] = [
    "active",
    "client",
    "cost_time",
    "db",
    "description",
    "host",
    "id",
    "namespace",
    "operation",
    "plan_summary",
    "type",
    "user",
];

fn list_path(project: &str, node: &str, query: &str) -> String {
    let q = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!("/v3/{project}/nodes/{node}/sessions{q}")
}

fn kill_path(project: &str, node: &str) -> String {
    format!("/v3/{project}/nodes/{node}/session")
}

/// Sends a request and returns status and JSON body. Every DDS answer is JSON, errors
/// included (the SDK parses them), and carries one `X-Request-Id`, so anything else fails the
/// test here.
async fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
) -> (StatusCode, Value) {
    let (s, v, _) = raw_with_id(app, method, path, headers, body).await;
    (s, v)
}

/// [`raw`], also returning the answer's `X-Request-Id` (checked: exactly one, 32 lower-case
/// hex digits).
async fn raw_with_id(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
) -> (StatusCode, Value, String) {
    let mut rb = app
        .http
        .request(method, format!("{}{path}", app.base))
        .headers(headers);
    if let Some(b) = body {
        rb = rb.body(b);
    }
    let (status, answered, v) = common::json_answer_with_headers(rb, path).await;
    let ids: Vec<String> = answered
        .get_all("x-request-id")
        .iter()
        .map(|v| v.to_str().expect("X-Request-Id is text").to_string())
        .collect();
    assert_eq!(ids.len(), 1, "{path}: X-Request-Id {ids:?} on {status} {v}");
    let id = ids.concat();
    assert!(
        id.len() == 32 && id.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')),
        "{path}: X-Request-Id {id:?}"
    );
    (status, v, id)
}

fn json_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h
}

/// A call with `X-Auth-Token`.
async fn with_token(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut h = json_headers();
    h.insert("x-auth-token", HeaderValue::from_str(token).expect("token"));
    raw(
        app,
        method,
        path,
        h,
        body.map(|b| b.to_string().into_bytes()),
    )
    .await
}

/// AK/SK credentials and how to sign with them.
#[derive(Clone)]
struct Key {
    ak: String,
    sk: String,
    /// Sent (and signed) as X-Project-Id; `None` sends no such header.
    project: Option<String>,
}

/// The headers the SDK sends, signed with `key` at `date` for `method path body`; `extra`
/// headers are signed too. `Host` is signed as reqwest will send it and left for reqwest to
/// add.
fn sign_headers(
    app: &TestApp,
    key: &Key,
    date: Timestamp,
    method: &Method,
    path: &str,
    body: &[u8],
    extra: &[(&str, &str)],
) -> HeaderMap {
    let host = app.base.trim_start_matches("http://").to_string();
    let mut h = json_headers();
    h.insert("host", HeaderValue::from_str(&host).expect("host"));
    h.insert(
        "x-sdk-date",
        HeaderValue::from_str(&signing::format_sdk_date(date)).expect("date"),
    );
    h.insert(
        "user-agent",
        HeaderValue::from_static("huaweicloud-usdk-python/3.0"),
    );
    if let Some(p) = &key.project {
        h.insert("x-project-id", HeaderValue::from_str(p).expect("project"));
    }
    for (k, v) in extra {
        h.insert(
            HeaderName::from_bytes(k.as_bytes()).expect("name"),
            HeaderValue::from_str(v).expect("value"),
        );
    }
    let (raw_path, raw_query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    let query = sessiond_api::extract::query_pairs(raw_query);
    let auth = signing::sign(
        &key.ak,
        key.sk.as_bytes(),
        &RequestView {
            method: method.as_str(),
            raw_path,
            query: &query,
            headers: &h,
            authority: None,
            body,
        },
    )
    .expect("sign");
    h.remove("host");
    h.insert("authorization", HeaderValue::from_str(&auth).expect("auth"));
    h
}

/// A correctly signed call at the server's current time.
async fn signed(
    app: &TestApp,
    key: &Key,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let body = body.map(|b| b.to_string().into_bytes());
    let h = sign_headers(
        app,
        key,
        app.clock.now(),
        &method,
        path,
        body.as_deref().unwrap_or(b""),
        &[],
    );
    raw(app, method, path, h, body).await
}

/// Checks DDS's error body: exactly `error_code` and a non-empty `error_msg`.
fn assert_err(s: StatusCode, v: &Value, status: u16, code: &str) {
    assert_eq!(s.as_u16(), status, "{v}");
    let obj = v.as_object().unwrap_or_else(|| panic!("error body {v}"));
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["error_code", "error_msg"], "{v}");
    assert_eq!(v["error_code"], code, "{v}");
    assert!(
        v["error_msg"].as_str().is_some_and(|m| !m.is_empty()),
        "{v}"
    );
}

/// The world most tests share: a project tenant with an operator (token and key), a viewer,
/// and another tenant.
struct World {
    app: TestApp,
    op: String,
    viewer: String,
    key: Key,
}

async fn issue_key(app: &TestApp, principal: &str) -> (String, String) {
    let (s, v) = app
        .call(
            Method::POST,
            &format!("/principals/{principal}/access-keys"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    (
        v["access_key"].as_str().expect("ak").to_string(),
        v["secret_key"].as_str().expect("sk").to_string(),
    )
}

async fn world() -> World {
    let app = spawn().await;
    app.tenant(PROJECT).await;
    app.tenant("acme").await;
    let op = app.principal("dds-op", "operator", Some(PROJECT)).await;
    let viewer = app.principal("dds-viewer", "viewer", Some(PROJECT)).await;
    let (ak, sk) = issue_key(&app, "dds-op").await;
    World {
        app,
        op,
        viewer,
        key: Key {
            ak,
            sk,
            project: Some(PROJECT.to_string()),
        },
    }
}

/// An operation that started `ago` before the server's current time.
fn op(app: &TestApp, kind: &str, ns: &str, plan: &str, ago: Duration) -> Value {
    let started = app.clock.now().minus(ago);
    let db = ns.split('.').next().unwrap_or("");
    json!({"operation": format!("{kind} {ns}"), "type": kind, "namespace": ns, "db": db,
           "plan_summary": plan, "description": "conn42", "started_at": started.to_rfc3339()})
}

/// Registers a mongodb session (as admin) and returns its id.
/// The usual operation in progress: a one-second collection scan of `shop.orders`.
fn running(app: &TestApp) -> Option<Value> {
    Some(op(
        app,
        "query",
        "shop.orders",
        "COLLSCAN",
        Duration::from_secs(1),
    ))
}

async fn mongo(
    app: &TestApp,
    tenant: &str,
    node: &str,
    user: &str,
    activity: Option<Value>,
) -> String {
    let mut body = json!({"service": "mongodb", "tenant": tenant, "node_id": node,
        "user": {"name": user}, "originator": "10.1.2.3:52714", "server_address": "192.168.0.10:8635"});
    if let Some(a) = activity {
        body["activity"] = a;
    }
    app.register(&app.admin, body).await.0
}

async fn state(app: &TestApp, id: &str) -> Value {
    let (s, v) = app
        .call(
            Method::GET,
            &format!("/sessions/{id}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn states(app: &TestApp, ids: &[&String]) -> Vec<String> {
    let mut out = Vec::new();
    for id in ids {
        out.push(
            state(app, id).await["state"]
                .as_str()
                .expect("state")
                .to_string(),
        );
    }
    out
}

fn ids_of(page: &Value) -> Vec<String> {
    page["sessions"]
        .as_array()
        .unwrap_or_else(|| panic!("sessions: {page}"))
        .iter()
        .map(|s| s["id"].as_str().expect("id").to_string())
        .collect()
}

async fn list(w: &World, query: &str) -> Value {
    let (s, v) = with_token(
        &w.app,
        Method::GET,
        &list_path(PROJECT, NODE, query),
        &w.op,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{query}: {v}");
    v
}

/// A kill of `ids` on `NODE` as the operator, with its token.
async fn kill_ids(w: &World, ids: Vec<&String>) -> (StatusCode, Value) {
    let body = json!({ "sessions": ids });
    with_token(
        &w.app,
        Method::POST,
        &kill_path(PROJECT, NODE),
        &w.op,
        Some(body),
    )
    .await
}

/// A well-formed id that no session has.
fn unknown_id(n: u32) -> String {
    format!("01ARZ3NDEKTSV4RRFFQ69G{n:04}")
}

#[tokio::test]
async fn list_has_the_sdk_fields_with_their_json_types() {
    let w = world().await;
    let app = &w.app;
    let running = mongo(
        app,
        PROJECT,
        NODE,
        "alice",
        Some(op(
            app,
            "query",
            "shop.orders",
            "COLLSCAN",
            Duration::from_micros(2_500_000),
        )),
    )
    .await;
    let idle = mongo(app, PROJECT, NODE, "bob", None).await;
    // Not listed: another node, another service, another tenant, an ended session.
    mongo(app, PROJECT, OTHER_NODE, "carol", None).await;
    app.register(
        &app.admin,
        json!({"service": "smb", "tenant": PROJECT, "node_id": NODE, "user": {"name": "dave"}}),
    )
    .await;
    mongo(app, "acme", NODE, "erin", None).await;
    let ended = mongo(app, PROJECT, NODE, "frank", None).await;
    let (s, v) = app
        .call(
            Method::DELETE,
            &format!("/sessions/{ended}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let page = list(&w, "").await;
    let top: BTreeSet<&str> = page
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(top, BTreeSet::from(["sessions", "total_count"]), "{page}");
    assert_eq!(page["total_count"], 2, "{page}");
    assert_eq!(ids_of(&page), [running.clone(), idle.clone()]);
    for s in page["sessions"].as_array().expect("sessions") {
        let keys: Vec<&str> = s
            .as_object()
            .expect("session")
            .keys()
            .map(String::as_str)
            .collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, SESSION_FIELDS, "{s}");
        for f in SESSION_FIELDS {
            if f == "active" {
                assert!(s[f].is_boolean(), "{f}: {s}");
            } else {
                assert!(s[f].is_string(), "{f}: {s}");
            }
        }
    }
    assert_eq!(
        page["sessions"][0],
        json!({"id": running, "active": true, "operation": "query shop.orders", "type": "query",
               "cost_time": "2500000", "plan_summary": "COLLSCAN", "host": "192.168.0.10:8635",
               "client": "10.1.2.3:52714", "description": "conn42", "namespace": "shop.orders",
               "db": "shop", "user": "alice"})
    );
    assert_eq!(
        page["sessions"][1],
        json!({"id": idle, "active": false, "operation": "", "type": "", "cost_time": "",
               "plan_summary": "", "host": "192.168.0.10:8635", "client": "10.1.2.3:52714",
               "description": "", "namespace": "", "db": "", "user": "bob"})
    );
    // cost_time follows the server's clock.
    app.clock.advance(Duration::from_millis(1));
    let page = list(&w, "").await;
    assert_eq!(page["sessions"][0]["cost_time"], "2501000");

    // Another node of the same tenant, and a node nobody has.
    let (s, v) = with_token(
        app,
        Method::GET,
        &list_path(PROJECT, OTHER_NODE, ""),
        &w.op,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["total_count"], 1);
    let (s, v) = with_token(
        app,
        Method::GET,
        &list_path(PROJECT, "no-such-node", ""),
        &w.op,
        None,
    )
    .await;
    assert_err(s, &v, 404, "DBS.200013");
}

#[tokio::test]
async fn a_node_never_registered_in_the_tenant_is_404_dbs_200013_on_list_and_kill() {
    let w = world().await;
    let app = &w.app;
    let live = mongo(app, PROJECT, NODE, "a", running(app)).await;
    // Nodes that have sessions, but none that counts: another tenant's, another service's.
    let acme_node = "acme-only-node";
    let foreign = mongo(app, "acme", acme_node, "f", running(app)).await;
    let smb_node = "smb-only-node";
    app.register(
        &app.admin,
        json!({"service": "smb", "tenant": PROJECT, "node_id": smb_node, "user": {"name": "g"}}),
    )
    .await;
    for node in ["never-seen-node", acme_node, smb_node] {
        let (s, v) = with_token(app, Method::GET, &list_path(PROJECT, node, ""), &w.op, None).await;
        assert_err(s, &v, 404, "DBS.200013");
        assert!(
            v["error_msg"]
                .as_str()
                .is_some_and(|m| m.contains("node does not exist") && m.contains(node)),
            "{v}"
        );
        // Filters and paging do not change it.
        let q = "type=query&offset=5&limit=1";
        let (s, v) = with_token(app, Method::GET, &list_path(PROJECT, node, q), &w.op, None).await;
        assert_err(s, &v, 404, "DBS.200013");
        for ids in [json!([]), json!([live]), json!([foreign])] {
            let body = json!({ "sessions": ids });
            let (s, v) = with_token(
                app,
                Method::POST,
                &kill_path(PROJECT, node),
                &w.op,
                Some(body),
            )
            .await;
            assert_err(s, &v, 404, "DBS.200013");
        }
        // Signed, as the SDK sends it.
        let (s, v) = signed(
            app,
            &w.key,
            Method::GET,
            &list_path(PROJECT, node, ""),
            None,
        )
        .await;
        assert_err(s, &v, 404, "DBS.200013");
    }
    assert_eq!(states(app, &[&live, &foreign]).await, ["active", "active"]);

    // A known node whose filters match nothing is an empty page, not a 404.
    let (s, v) = with_token(
        app,
        Method::GET,
        &list_path(PROJECT, NODE, "type=update"),
        &w.op,
        None,
    )
    .await;
    assert_eq!(
        (s, v),
        (StatusCode::OK, json!({"total_count": 0, "sessions": []}))
    );
    // A node whose only session has ended is still known while its tombstone is kept.
    let (s, v) = kill_ids(&w, vec![&live]).await;
    assert_eq!((s, v), (StatusCode::OK, json!({})));
    let page = list(&w, "").await;
    assert_eq!(page, json!({"total_count": 0, "sessions": []}));
    let (s, v) = kill_ids(&w, vec![]).await;
    assert_eq!((s, v), (StatusCode::OK, json!({})));
}

#[tokio::test]
async fn filters_type_namespace_plan_summary_and_cost_time() {
    let w = world().await;
    let app = &w.app;
    let ms = Duration::from_millis;
    let q1 = mongo(
        app,
        PROJECT,
        NODE,
        "u1",
        Some(op(app, "query", "shop.orders", "COLLSCAN", ms(1))),
    )
    .await;
    let q3 = mongo(
        app,
        PROJECT,
        NODE,
        "u2",
        Some(op(app, "query", "shop.users", "IXSCAN", ms(3))),
    )
    .await;
    let u10 = mongo(
        app,
        PROJECT,
        NODE,
        "u3",
        Some(op(app, "update", "shop.orders", "COLLSCAN IXSCAN", ms(10))),
    )
    .await;
    // Running, but with no known start: never "longer than N".
    let nostart = mongo(
        app,
        PROJECT,
        NODE,
        "u4",
        Some(json!({"operation": "command", "type": "command", "namespace": "admin.$cmd"})),
    )
    .await;
    let idle = mongo(app, PROJECT, NODE, "u5", None).await;
    // Matches every filter, but on another node.
    mongo(
        app,
        PROJECT,
        OTHER_NODE,
        "u6",
        Some(op(app, "query", "shop.orders", "COLLSCAN", ms(50))),
    )
    .await;

    let cases: Vec<(&str, Vec<&String>)> = vec![
        ("", vec![&q1, &q3, &u10, &nostart, &idle]),
        ("type=query", vec![&q1, &q3]),
        ("type=update", vec![&u10]),
        ("type=Query", vec![]),
        ("namespace=shop.orders", vec![&q1, &u10]),
        ("namespace=admin.%24cmd", vec![&nostart]),
        ("plan_summary=COLLSCAN", vec![&q1]),
        ("plan_summary=COLLSCAN%20IXSCAN", vec![&u10]),
        ("plan_summary=COLLSCAN+IXSCAN", vec![&u10]),
        ("cost_time=0", vec![&q1, &q3, &u10]),
        ("cost_time=999", vec![&q1, &q3, &u10]),
        ("cost_time=1000", vec![&q3, &u10]),
        ("cost_time=2000", vec![&q3, &u10]),
        ("cost_time=5000", vec![&u10]),
        ("cost_time=10000", vec![]),
        ("type=query&namespace=shop.orders", vec![&q1]),
        ("type=query&cost_time=2000", vec![&q3]),
        (
            "namespace=shop.orders&plan_summary=COLLSCAN&cost_time=500&type=query",
            vec![&q1],
        ),
        // An empty value means "all", as the SDK documents.
        (
            "type=&namespace=&plan_summary=&cost_time=",
            vec![&q1, &q3, &u10, &nostart, &idle],
        ),
    ];
    for (query, want) in cases {
        let page = list(&w, &format!("limit=100&{query}")).await;
        let want: Vec<String> = want.into_iter().cloned().collect();
        assert_eq!(ids_of(&page), want, "{query}: {page}");
        assert_eq!(page["total_count"], want.len(), "{query}");
    }
    // The clock moves, and so do running times.
    app.clock.advance(ms(5));
    let page = list(&w, "cost_time=7000").await;
    assert_eq!(ids_of(&page), [q3.clone(), u10.clone()]);
}

#[tokio::test]
async fn offset_paging_walks_250_sessions_without_skip_or_repeat() {
    let w = world().await;
    let app = &w.app;
    let mut registered = Vec::new();
    for i in 0..250 {
        let activity = (i % 3 == 0).then(|| {
            op(
                app,
                "query",
                "shop.orders",
                "COLLSCAN",
                Duration::from_millis(i),
            )
        });
        registered.push(mongo(app, PROJECT, NODE, &format!("user{i}"), activity).await);
    }
    mongo(app, PROJECT, OTHER_NODE, "elsewhere", None).await;

    let mut seen = Vec::new();
    for offset in (0..250).step_by(100) {
        let page = list(&w, &format!("offset={offset}&limit=100")).await;
        assert_eq!(page["total_count"], 250, "{offset}");
        let ids = ids_of(&page);
        assert_eq!(ids.len(), (250 - offset).min(100), "{offset}");
        seen.extend(ids);
    }
    assert_eq!(seen, registered, "every session once, in id order");

    // Default page of 10; odd sizes and offsets; past the end.
    let page = list(&w, "").await;
    assert_eq!(ids_of(&page), registered[..10]);
    let page = list(&w, "offset=13&limit=7").await;
    assert_eq!(ids_of(&page), registered[13..20]);
    let page = list(&w, "offset=245&limit=20").await;
    assert_eq!(ids_of(&page), registered[245..]);
    let page = list(&w, "offset=250").await;
    assert_eq!(page, json!({"total_count": 250, "sessions": []}));
    let page = list(&w, "offset=100000").await;
    assert_eq!(page["total_count"], 250);
    // Filtered paging: total_count counts the matches only.
    let running: Vec<String> = registered.iter().step_by(3).cloned().collect();
    let mut walked = Vec::new();
    for offset in (0..running.len()).step_by(20) {
        let page = list(&w, &format!("type=query&offset={offset}&limit=20")).await;
        assert_eq!(page["total_count"], running.len());
        walked.extend(ids_of(&page));
    }
    assert_eq!(walked, running);
}

#[tokio::test]
async fn kill_is_all_or_nothing_and_refuses_inactive_sessions() {
    let w = world().await;
    let app = &w.app;
    let a = mongo(app, PROJECT, NODE, "a", running(app)).await;
    let b = mongo(app, PROJECT, NODE, "b", running(app)).await;
    let c = mongo(app, PROJECT, NODE, "c", running(app)).await;
    let idle = mongo(app, PROJECT, NODE, "idle", None).await;
    let other_node = mongo(app, PROJECT, OTHER_NODE, "e", running(app)).await;
    let foreign = mongo(app, "acme", NODE, "f", running(app)).await;
    let (smb, _) = app
        .register(
            &app.admin,
            json!({"service": "smb", "tenant": PROJECT, "node_id": NODE, "user": {"name": "g"},
                   "activity": {"type": "query", "started_at": app.clock.now().to_rfc3339()}}),
        )
        .await;
    let path = kill_path(PROJECT, NODE);
    let (s, v) = kill_ids(&w, vec![&a, &b]).await;
    assert_eq!((s, v), (StatusCode::OK, json!({})));
    let ended = state(app, &a).await;
    assert_eq!(ended["state"], "terminated");
    assert_eq!(ended["ended_by"], "dds-op");
    assert!(
        ended["end_reason"]
            .as_str()
            .is_some_and(|r| r.contains("DDS")),
        "{ended}"
    );
    assert_eq!(states(app, &[&b, &c]).await, ["terminated", "active"]);

    // An empty list is fine and does nothing.
    let (s, v) = with_token(
        app,
        Method::POST,
        &path,
        &w.op,
        Some(json!({"sessions": []})),
    )
    .await;
    assert_eq!((s, v), (StatusCode::OK, json!({})));

    // Each bad id fails the whole request, names the id, and nothing is killed.
    let unknown = unknown_id(1);
    let not_ulid = "34631".to_string();
    let mut not_found_msgs = Vec::new();
    for bad in [&unknown, &other_node, &foreign, &smb, &not_ulid] {
        let (s, v) = kill_ids(&w, vec![&c, bad]).await;
        assert_err(s, &v, 400, "DBS.200001");
        let msg = v["error_msg"].as_str().expect("msg");
        assert!(msg.contains(bad.as_str()), "{msg}");
        not_found_msgs.push(msg.replace(bad.as_str(), "<id>"));
    }
    // Another tenant's or service's session reads exactly like one that never existed.
    assert!(
        not_found_msgs.iter().all(|m| *m == not_found_msgs[0]),
        "{not_found_msgs:#?}"
    );
    for inactive in [&idle, &a] {
        let (s, v) = kill_ids(&w, vec![&c, inactive]).await;
        assert_err(s, &v, 400, "DBS.200001");
        let msg = v["error_msg"].as_str().expect("msg");
        assert!(
            msg.contains(inactive.as_str()) && msg.contains("inactive"),
            "{msg}"
        );
    }
    // The first offending id in list order is the one named.
    let (s, v) = kill_ids(&w, vec![&unknown, &idle]).await;
    assert_err(s, &v, 400, "DBS.200001");
    assert!(
        v["error_msg"]
            .as_str()
            .is_some_and(|m| m.contains(&unknown)),
        "{v}"
    );
    assert_eq!(
        states(app, &[&c, &idle, &other_node, &foreign, &smb]).await,
        ["active", "active", "active", "active", "active"]
    );
    // The same id twice is killed once.
    let (s, v) = kill_ids(&w, vec![&c, &c]).await;
    assert_eq!((s, v), (StatusCode::OK, json!({})));
    assert_eq!(states(app, &[&c]).await, ["terminated"]);
    // What was killed is gone from the list; the idle session stays.
    let page = list(&w, "").await;
    assert_eq!(ids_of(&page), vec![idle]);
}

#[tokio::test]
async fn kill_needs_the_terminate_privilege() {
    let w = world().await;
    let app = &w.app;
    let a = mongo(
        app,
        PROJECT,
        NODE,
        "a",
        Some(op(app, "query", "x.y", "COLLSCAN", Duration::from_secs(1))),
    )
    .await;
    for ids in [json!([a]), json!([]), json!([unknown_id(2)])] {
        let (s, v) = with_token(
            app,
            Method::POST,
            &kill_path(PROJECT, NODE),
            &w.viewer,
            Some(json!({"sessions": ids})),
        )
        .await;
        // The table's one 403: "operation cannot be executed in the current state".
        assert_err(s, &v, 403, "DBS.200011");
    }
    // A viewer may list.
    let (s, v) = with_token(
        app,
        Method::GET,
        &list_path(PROJECT, NODE, ""),
        &w.viewer,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["total_count"], 1);
    assert_eq!(states(app, &[&a]).await, ["active"]);
}

#[tokio::test]
async fn a_project_that_is_not_the_callers_is_400_dbs_200010_whether_it_exists_or_not() {
    let w = world().await;
    let app = &w.app;
    let foreign = mongo(
        app,
        "acme",
        NODE,
        "f",
        Some(op(app, "query", "x.y", "COLLSCAN", Duration::from_secs(1))),
    )
    .await;
    let mut bodies = Vec::new();
    for project in ["acme", "0000000000000000000000000000dead", "default"] {
        let (s, v) = with_token(app, Method::GET, &list_path(project, NODE, ""), &w.op, None).await;
        assert_err(s, &v, 400, "DBS.200010");
        bodies.push(v);
        let (s, v) = with_token(
            app,
            Method::POST,
            &kill_path(project, NODE),
            &w.op,
            Some(json!({"sessions": [foreign]})),
        )
        .await;
        assert_err(s, &v, 400, "DBS.200010");
        bodies.push(v);
        // Signed, with a matching X-Project-Id (so the signature itself is fine).
        let key = Key {
            project: Some(project.to_string()),
            ..w.key.clone()
        };
        let (s, v) = signed(app, &key, Method::GET, &list_path(project, NODE, ""), None).await;
        assert_err(s, &v, 400, "DBS.200010");
        bodies.push(v);
    }
    assert!(bodies.iter().all(|b| *b == bodies[0]), "{bodies:#?}");
    // The published message of DBS.200010.
    assert_eq!(
        bodies[0]["error_msg"],
        "authentication failed: tenant and instance do not match"
    );
    assert_eq!(states(app, &[&foreign]).await, ["active"]);

    // Even the global admin answers only for its own tenant ("default") in a vendor dialect.
    let (s, v) = with_token(
        app,
        Method::GET,
        &list_path(PROJECT, NODE, ""),
        &app.admin,
        None,
    )
    .await;
    assert_err(s, &v, 400, "DBS.200010");
    // In its own tenant the project is right, but no session of NODE was ever registered
    // there (the one above is acme's): the node does not exist for it.
    let (s, v) = with_token(
        app,
        Method::GET,
        &list_path("default", NODE, ""),
        &app.admin,
        None,
    )
    .await;
    assert_err(s, &v, 404, "DBS.200013");
}

#[tokio::test]
async fn both_auth_methods_list_and_kill() {
    let w = world().await;
    let app = &w.app;
    let a = mongo(app, PROJECT, NODE, "a", running(app)).await;
    let b = mongo(app, PROJECT, NODE, "b", running(app)).await;

    let (s, by_token) = with_token(
        app,
        Method::GET,
        &list_path(PROJECT, NODE, "limit=10&offset=0"),
        &w.op,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, by_key) = signed(
        app,
        &w.key,
        Method::GET,
        &list_path(PROJECT, NODE, "limit=10&offset=0"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{by_key}");
    assert_eq!(by_token, by_key);
    assert_eq!(by_key["total_count"], 2);
    // Without X-Project-Id (it is optional), and with the query in any order and spelling.
    let bare = Key {
        project: None,
        ..w.key.clone()
    };
    let (s, v) = signed(
        app,
        &bare,
        Method::GET,
        &list_path(
            PROJECT,
            NODE,
            "offset=0&limit=10&type=query&namespace=shop%2Eorders",
        ),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["total_count"], 2);

    let (s, v) = signed(
        app,
        &w.key,
        Method::POST,
        &kill_path(PROJECT, NODE),
        Some(json!({"sessions": [a]})),
    )
    .await;
    assert_eq!((s, v), (StatusCode::OK, json!({})));
    let (s, v) = with_token(
        app,
        Method::POST,
        &kill_path(PROJECT, NODE),
        &w.op,
        Some(json!({"sessions": [b]})),
    )
    .await;
    assert_eq!((s, v), (StatusCode::OK, json!({})));
    let ended = state(app, &a).await;
    assert_eq!(ended["state"], "terminated");
    assert_eq!(ended["ended_by"], "dds-op");

    // No credential, a bad token, another scheme: all the gateway's 401.
    let path = list_path(PROJECT, NODE, "");
    let (s, v) = raw(app, Method::GET, &path, json_headers(), None).await;
    assert_err(s, &v, 401, "APIGW.0301");
    let (s, v) = with_token(
        app,
        Method::GET,
        &path,
        "01ARZ3NDEKTSV4RRFFQ69G5FAV.bogus",
        None,
    )
    .await;
    assert_err(s, &v, 401, "APIGW.0301");
    let (s, v) = with_token(app, Method::GET, &path, "", None).await;
    assert_err(s, &v, 401, "APIGW.0301");
    let mut h = json_headers();
    h.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {}", w.op)).expect("h"),
    );
    let (s, v) = raw(app, Method::GET, &path, h, None).await;
    assert_err(s, &v, 401, "APIGW.0301");
    // A logged-out token no longer works.
    let (s, _) = app
        .call(Method::POST, "/auth/logout", Some(&w.op), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = with_token(app, Method::GET, &path, &w.op, None).await;
    assert_err(s, &v, 401, "APIGW.0301");
}

#[tokio::test]
async fn every_signing_failure_is_401_and_changes_nothing() {
    let w = world().await;
    let app = &w.app;
    let a = mongo(app, PROJECT, NODE, "a", running(app)).await;
    let path = kill_path(PROJECT, NODE);
    let body = json!({"sessions": [a]}).to_string().into_bytes();
    let now = app.clock.now();
    let min = Duration::from_secs(60);
    let sign = |key: &Key,
                date: Timestamp,
                method: &Method,
                path: &str,
                body: &[u8],
                extra: &[(&str, &str)]| {
        sign_headers(app, key, date, method, path, body, extra)
    };
    let post = Method::POST;
    let mut cases: Vec<(&str, String, HeaderMap, Vec<u8>)> = Vec::new();
    let wrong_sk = Key {
        sk: "x".repeat(40),
        ..w.key.clone()
    };
    cases.push((
        "wrong SK",
        path.clone(),
        sign(&wrong_sk, now, &post, &path, &body, &[]),
        body.clone(),
    ));
    let unknown_ak = Key {
        ak: "AKUNKNOWN00000000000".into(),
        ..w.key.clone()
    };
    cases.push((
        "unknown AK",
        path.clone(),
        sign(&unknown_ak, now, &post, &path, &body, &[]),
        body.clone(),
    ));
    for (label, date) in [
        ("16 minutes old", now.minus(16 * min)),
        ("16 minutes ahead", now.plus(16 * min)),
        ("a day old", now.minus(24 * 60 * min)),
    ] {
        cases.push((
            label,
            path.clone(),
            sign(&w.key, date, &post, &path, &body, &[]),
            body.clone(),
        ));
    }
    let other_project = Key {
        project: Some("0000000000000000000000000000dead".into()),
        ..w.key.clone()
    };
    cases.push((
        "X-Project-Id of another project",
        path.clone(),
        sign(&other_project, now, &post, &path, &body, &[]),
        body.clone(),
    ));
    cases.push((
        "UNSIGNED-PAYLOAD",
        path.clone(),
        sign(
            &w.key,
            now,
            &post,
            &path,
            &body,
            &[("x-sdk-content-sha256", "UNSIGNED-PAYLOAD")],
        ),
        body.clone(),
    ));
    let other_body = json!({"sessions": [unknown_id(3)]})
        .to_string()
        .into_bytes();
    cases.push((
        "tampered body",
        path.clone(),
        sign(&w.key, now, &post, &path, &other_body, &[]),
        body.clone(),
    ));
    let other_path = kill_path(PROJECT, OTHER_NODE);
    cases.push((
        "tampered path",
        path.clone(),
        sign(&w.key, now, &post, &other_path, &body, &[]),
        body.clone(),
    ));
    cases.push((
        "tampered query",
        format!("{path}?x=1"),
        sign(&w.key, now, &post, &path, &body, &[]),
        body.clone(),
    ));
    cases.push((
        "signed as GET",
        path.clone(),
        sign(&w.key, now, &Method::GET, &path, &body, &[]),
        body.clone(),
    ));
    // The signature covers the date: another date in the header breaks it.
    let mut h = sign(&w.key, now, &post, &path, &body, &[]);
    h.insert(
        "x-sdk-date",
        HeaderValue::from_str(&signing::format_sdk_date(now.plus(min))).expect("d"),
    );
    cases.push(("date changed after signing", path.clone(), h, body.clone()));
    let mut h = sign(&w.key, now, &post, &path, &body, &[]);
    h.remove("x-sdk-date");
    cases.push(("no X-Sdk-Date", path.clone(), h, body.clone()));
    let mut h = sign(&w.key, now, &post, &path, &body, &[]);
    h.insert(
        "x-sdk-date",
        HeaderValue::from_static("2026-11-23T00:00:00Z"),
    );
    cases.push((
        "X-Sdk-Date in another format",
        path.clone(),
        h,
        body.clone(),
    ));
    // Host left out of SignedHeaders (the signature is otherwise right for what is listed).
    let mut h = sign(&w.key, now, &post, &path, &body, &[]);
    let auth = h
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let no_host = auth.replace("host;", "");
    h.insert("authorization", HeaderValue::from_str(&no_host).expect("a"));
    cases.push(("host not signed", path.clone(), h, body.clone()));
    // A signed header the request does not carry.
    let mut h = sign(&w.key, now, &post, &path, &body, &[("x-extra", "1")]);
    h.remove("x-extra");
    cases.push(("signed header missing", path.clone(), h, body.clone()));
    let mut h = json_headers();
    h.insert(
        "authorization",
        HeaderValue::from_static("SDK-HMAC-SHA256 Access=x"),
    );
    cases.push(("malformed Authorization", path.clone(), h, body.clone()));
    let mut h = sign(&w.key, now, &post, &path, &body, &[]);
    let sm3 = auth.replace("SDK-HMAC-SHA256", "SDK-HMAC-SM3");
    h.insert("authorization", HeaderValue::from_str(&sm3).expect("a"));
    cases.push(("another algorithm", path.clone(), h, body.clone()));

    for (label, send_path, headers, body) in cases {
        let (s, v) = raw(app, Method::POST, &send_path, headers, Some(body)).await;
        assert_err(s, &v, 401, "APIGW.0301");
        // Each failure says which part to fix (and never echoes a secret).
        let why = match label {
            "wrong SK"
            | "tampered body"
            | "tampered path"
            | "tampered query"
            | "signed as GET"
            | "date changed after signing" => "signature does not match",
            "unknown AK" => "access key",
            "16 minutes old" | "16 minutes ahead" | "a day old" => "15 minutes",
            "X-Project-Id of another project" => "X-Project-Id",
            "UNSIGNED-PAYLOAD" => "UNSIGNED-PAYLOAD",
            "no X-Sdk-Date" => "X-Sdk-Date header is missing",
            "X-Sdk-Date in another format" => "X-Sdk-Date must look like",
            "host not signed" => "Host header must be signed",
            "signed header missing" => "missing from the request",
            "malformed Authorization" => "malformed Authorization",
            _ => "not an SDK-HMAC-SHA256",
        };
        let msg = v["error_msg"].as_str().unwrap_or("");
        assert!(msg.contains(why), "{label}: {msg}");
        assert!(!msg.contains(&w.key.sk), "{label}");
        assert_eq!(states(app, &[&a]).await, ["active"], "{label}");
    }

    // Within 15 minutes either way is fine (the kill of an unknown id then fails on its own).
    for date in [now.minus(14 * min), now.plus(14 * min)] {
        let b = json!({"sessions": []}).to_string().into_bytes();
        let h = sign(&w.key, date, &post, &path, &b, &[]);
        let (s, v) = raw(app, Method::POST, &path, h, Some(b)).await;
        assert_eq!((s, v), (StatusCode::OK, json!({})));
    }
    // A revoked key (its principal disabled) no longer signs.
    let (s, v) = app
        .call(
            Method::PATCH,
            "/principals/dds-op",
            Some(&app.admin),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = signed(
        app,
        &w.key,
        Method::POST,
        &path,
        Some(json!({"sessions": [a]})),
    )
    .await;
    assert_err(s, &v, 401, "APIGW.0301");
    assert_eq!(states(app, &[&a]).await, ["active"]);
}

#[tokio::test]
async fn bad_input_is_answered_in_dds_format_and_changes_nothing() {
    let w = world().await;
    let app = &w.app;
    let a = mongo(app, PROJECT, NODE, "a", running(app)).await;
    let kill = kill_path(PROJECT, NODE);
    let token = |ctype: &str| {
        let mut h = HeaderMap::new();
        h.insert("content-type", HeaderValue::from_str(ctype).expect("ctype"));
        h.insert("x-auth-token", HeaderValue::from_str(&w.op).expect("token"));
        h
    };
    let json_ct = "application/json";
    let bodies: Vec<(&str, &[u8])> = vec![
        (json_ct, b"{\"sessions\": [" as &[u8]),
        (json_ct, b""),
        (json_ct, b"not json"),
        (json_ct, b"{}"),
        (json_ct, b"[]"),
        (json_ct, b"null"),
        (json_ct, b"{\"sessions\": \"x\"}"),
        (json_ct, b"{\"sessions\": [1, 2]}"),
        (json_ct, b"{\"sessions\": null}"),
        (json_ct, b"{\"sessions\": [[\"x\"]]}"),
        ("text/plain", b"{\"sessions\": []}"),
    ];
    for (ctype, body) in bodies {
        let (s, v) = raw(app, Method::POST, &kill, token(ctype), Some(body.to_vec())).await;
        assert_err(s, &v, 400, "DBS.200001");
    }
    // Deep nesting is a parse error, not a crash.
    let deep = format!(
        "{{\"sessions\": {}{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let (s, v) = raw(
        app,
        Method::POST,
        &kill,
        token(json_ct),
        Some(deep.into_bytes()),
    )
    .await;
    assert_err(s, &v, 400, "DBS.200001");
    // Unknown fields are ignored, as a vendor server would.
    let (s, v) = raw(
        app,
        Method::POST,
        &kill,
        token(json_ct),
        Some(b"{\"sessions\": [], \"x\": 1}".to_vec()),
    )
    .await;
    assert_eq!((s, v), (StatusCode::OK, json!({})));

    // 10,000 ids: all checked before anything ends, the first bad one named.
    let mut many: Vec<String> = (0..10_000).map(unknown_id).collect();
    many[0] = a.clone();
    let (s, v) = with_token(
        app,
        Method::POST,
        &kill,
        &w.op,
        Some(json!({"sessions": many})),
    )
    .await;
    assert_err(s, &v, 400, "DBS.200001");
    assert!(
        v["error_msg"]
            .as_str()
            .is_some_and(|m| m.contains(&unknown_id(1))),
        "{v}"
    );
    many.rotate_left(1);
    let (s, v) = with_token(
        app,
        Method::POST,
        &kill,
        &w.op,
        Some(json!({"sessions": many})),
    )
    .await;
    assert_err(s, &v, 400, "DBS.200001");
    assert_eq!(states(app, &[&a]).await, ["active"]);

    // More than 8 MiB.
    let big = vec![b' '; 9 * 1024 * 1024];
    let (s, v) = raw(app, Method::POST, &kill, token(json_ct), Some(big)).await;
    assert_err(s, &v, 413, "APIGW.0201");

    // Bad query parameters.
    for q in [
        "limit=0",
        "limit=101",
        "limit=abc",
        "offset=-1",
        "cost_time=-1",
        "cost_time=1.5",
        "bogus=1",
        "limit=5&limit=6",
    ] {
        let (s, v) = with_token(app, Method::GET, &list_path(PROJECT, NODE, q), &w.op, None).await;
        assert_err(s, &v, 400, "DBS.200001");
    }
    let (s, v) = with_token(
        app,
        Method::GET,
        &list_path(PROJECT, NODE, "limit=100"),
        &w.op,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // Unknown routes and methods: the gateway's "no such API", in the same format.
    for (m, p) in [
        (Method::GET, "/v3".to_string()),
        (Method::GET, "/v3/".to_string()),
        (Method::GET, format!("/v3/{PROJECT}")),
        (Method::GET, format!("/v3/{PROJECT}/nodes/{NODE}")),
        (
            Method::GET,
            format!("/v3/{PROJECT}/nodes/{NODE}/sessions/extra"),
        ),
        (Method::GET, format!("/v3/{PROJECT}/instances")),
        (Method::DELETE, list_path(PROJECT, NODE, "")),
        (Method::POST, list_path(PROJECT, NODE, "")),
        (Method::GET, kill.clone()),
        (Method::DELETE, kill.clone()),
    ] {
        let (s, v) = raw(app, m.clone(), &p, token(json_ct), None).await;
        assert_err(s, &v, 404, "APIGW.0101");
        assert!(
            v["error_msg"].as_str().is_some_and(|e| e.contains("/v3")),
            "{m} {p}: {v}"
        );
    }
    assert_eq!(states(app, &[&a]).await, ["active"]);
}

/// Registers `n` running mongodb sessions on `NODE` straight through the registry (as admin,
/// concurrently so the store's group commit shares fsyncs): HTTP one by one would only
/// measure the loader.
async fn register_running(app: &TestApp, n: usize) -> Vec<String> {
    let caller = app
        .registry
        .authenticate(&app.admin)
        .await
        .expect("admin caller");
    let mut out = Vec::with_capacity(n);
    let mut left = n;
    while left > 0 {
        let batch = left.min(64);
        left -= batch;
        let mut set = tokio::task::JoinSet::new();
        for i in 0..batch {
            let reg = std::sync::Arc::clone(&app.registry);
            let caller = caller.clone();
            let body = json!({"service": "mongodb", "tenant": PROJECT, "node_id": NODE,
                "user": {"name": format!("bulk{i}")},
                "activity": op(app, "query", "shop.orders", "COLLSCAN", Duration::from_secs(1))});
            let req: sessiond_core::wire::RegisterRequest =
                serde_json::from_value(body).expect("register body");
            set.spawn(async move {
                let (s, _) = reg.register(&caller, req).await.expect("register");
                (i, s.id.to_string())
            });
        }
        let mut ids = vec![String::new(); batch];
        while let Some(r) = set.join_next().await {
            let (i, id) = r.expect("join");
            ids[i] = id;
        }
        out.extend(ids);
    }
    out
}

#[tokio::test]
async fn one_kill_ends_two_thousand_running_sessions() {
    let w = world().await;
    let app = &w.app;
    let ids = register_running(app, 2000).await;
    let idle = mongo(app, PROJECT, NODE, "idle", None).await;
    let page = list(&w, "type=query").await;
    assert_eq!(page["total_count"], 2000);

    let (s, v) = with_token(
        app,
        Method::POST,
        &kill_path(PROJECT, NODE),
        &w.op,
        Some(json!({ "sessions": ids })),
    )
    .await;
    assert_eq!((s, v), (StatusCode::OK, json!({})));
    let page = list(&w, "limit=100").await;
    assert_eq!(page["total_count"], 1, "{page}");
    assert_eq!(ids_of(&page), vec![idle]);
    let (s, v) = app
        .call(
            Method::GET,
            "/sessions?tenant=619d3e78f61b4be68bc5aa0b59edcf7b&service=mongodb&state=ended&limit=1000",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let ended = v["items"].as_array().expect("items");
    assert_eq!(ended.len(), 1000);
    assert!(
        ended
            .iter()
            .all(|s| s["state"] == "terminated" && s["ended_by"] == "dds-op"),
        "{v}"
    );
}

/// What is sent, and the status expected: (what, method, path, headers, body, status).
type Case = (
    &'static str,
    Method,
    String,
    HeaderMap,
    Option<Vec<u8>>,
    u16,
);

#[tokio::test]
async fn every_answer_carries_a_fresh_x_request_id() {
    let w = world().await;
    let app = &w.app;
    let a = mongo(
        app,
        PROJECT,
        NODE,
        "a",
        Some(op(app, "query", "x.y", "COLLSCAN", Duration::from_secs(1))),
    )
    .await;
    let token = |t: &str| {
        let mut h = json_headers();
        h.insert("x-auth-token", HeaderValue::from_str(t).expect("token"));
        h
    };
    let list = list_path(PROJECT, NODE, "");
    let kill = kill_path(PROJECT, NODE);
    let kill_body = |ids: Value| Some(json!({ "sessions": ids }).to_string().into_bytes());
    let cases: Vec<Case> = vec![
        ("list", Method::GET, list.clone(), token(&w.op), None, 200),
        (
            "kill",
            Method::POST,
            kill.clone(),
            token(&w.op),
            kill_body(json!([a])),
            200,
        ),
        (
            "bad limit",
            Method::GET,
            list_path(PROJECT, NODE, "limit=0"),
            token(&w.op),
            None,
            400,
        ),
        (
            "inactive",
            Method::POST,
            kill.clone(),
            token(&w.op),
            kill_body(json!([a])),
            400,
        ),
        (
            "no credentials",
            Method::GET,
            list.clone(),
            json_headers(),
            None,
            401,
        ),
        (
            "bad token",
            Method::GET,
            list.clone(),
            token("nope"),
            None,
            401,
        ),
        (
            "viewer kill",
            Method::POST,
            kill.clone(),
            token(&w.viewer),
            kill_body(json!([])),
            403,
        ),
        (
            "foreign project",
            Method::GET,
            list_path("acme", NODE, ""),
            token(&w.op),
            None,
            400,
        ),
        (
            "unknown node",
            Method::GET,
            list_path(PROJECT, "nx", ""),
            token(&w.op),
            None,
            404,
        ),
        (
            "unknown route",
            Method::GET,
            format!("/v3/{PROJECT}/instances"),
            token(&w.op),
            None,
            404,
        ),
        (
            "bare /v3",
            Method::GET,
            "/v3".into(),
            HeaderMap::new(),
            None,
            404,
        ),
        (
            "/v3/",
            Method::GET,
            "/v3/".into(),
            HeaderMap::new(),
            None,
            404,
        ),
        (
            "wrong method",
            Method::DELETE,
            kill.clone(),
            token(&w.op),
            None,
            404,
        ),
        (
            "too large",
            Method::POST,
            kill.clone(),
            token(&w.op),
            Some(vec![b' '; 9 << 20]),
            413,
        ),
        (
            "iam",
            Method::GET,
            "/v3/projects?name=eu-de".into(),
            token(&w.op),
            None,
            200,
        ),
        (
            "iam no query",
            Method::GET,
            "/v3/projects".into(),
            token(&w.op),
            None,
            400,
        ),
    ];
    let mut seen = BTreeSet::new();
    for (what, m, p, h, b, want) in cases {
        // `raw_with_id` checks one id of 32 hex digits on each answer.
        let (s, v, id) = raw_with_id(app, m, &p, h, b).await;
        assert_eq!(s.as_u16(), want, "{what}: {v}");
        assert!(seen.insert(id.clone()), "{what}: request id {id} repeated");
    }
    // Signed calls too, and the same request twice gets two ids.
    for _ in 0..2 {
        let h = sign_headers(app, &w.key, app.clock.now(), &Method::GET, &list, b"", &[]);
        let (s, v, id) = raw_with_id(app, Method::GET, &list, h, None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert!(seen.insert(id), "signed request id repeated");
    }
}

#[tokio::test]
async fn the_overload_503_under_v3_carries_x_request_id() {
    use tower::ServiceExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = sessiond_store_sqlite::SqliteStore::open(&dir.path().join("t.db")).expect("open");
    let registry = sessiond_core::Registry::new(
        std::sync::Arc::new(store) as std::sync::Arc<dyn sessiond_core::Store>,
        std::sync::Arc::new(sessiond_core::ManualClock::at_default()),
        sessiond_core::RegistryConfig::default(),
        sessiond_core::rules::bulk::ConfirmKey::random().expect("rng"),
    );
    let mut state = sessiond_api::AppState::new(std::sync::Arc::new(registry));
    // A limit of 0 sheds every request.
    state.max_in_flight = 0;
    let req = axum::http::Request::builder()
        .uri(list_path(PROJECT, NODE, ""))
        .body(axum::body::Body::empty())
        .expect("request");
    let resp = sessiond_api::app(state)
        .oneshot(req)
        .await
        .expect("infallible");
    assert_eq!(resp.status().as_u16(), 503);
    let ids: Vec<_> = resp.headers().get_all("x-request-id").iter().collect();
    assert_eq!(ids.len(), 1, "{:?}", resp.headers());
    assert_eq!(ids[0].len(), 32, "{:?}", ids[0]);
}

#[tokio::test]
async fn limit_is_1_to_100_and_offset_0_to_2147483647_and_errors_name_the_bound() {
    let w = world().await;
    let app = &w.app;
    let mut ids = Vec::new();
    for i in 0..101 {
        ids.push(mongo(app, PROJECT, NODE, &format!("u{i}"), None).await);
    }
    for (q, n) in [
        ("limit=1", 1),
        ("limit=100", 100),
        ("", 10),
        ("limit=20&offset=95", 6),
        ("offset=100", 1),
        ("offset=101", 0),
        ("offset=2147483647&limit=100", 0),
    ] {
        let page = list(&w, q).await;
        assert_eq!(page["total_count"], 101, "{q}");
        assert_eq!(ids_of(&page).len(), n, "{q}: {page}");
    }
    assert_eq!(ids_of(&list(&w, "offset=100").await), [ids[100].clone()]);
    for (q, bound) in [
        ("limit=0", "from 1 to 100"),
        ("limit=101", "from 1 to 100"),
        ("limit=-3", "from 1 to 100"),
        ("limit=ten", "from 1 to 100"),
        ("limit=18446744073709551617", "from 1 to 100"),
        ("offset=-1", "from 0 to 2147483647"),
        ("offset=2147483648", "from 0 to 2147483647"),
        ("offset=18446744073709551615", "from 0 to 2147483647"),
        ("offset=x", "from 0 to 2147483647"),
    ] {
        let (s, v) = with_token(app, Method::GET, &list_path(PROJECT, NODE, q), &w.op, None).await;
        assert_err(s, &v, 400, "DBS.200001");
        let msg = v["error_msg"].as_str().unwrap_or_default();
        let name = q.split('=').next().unwrap_or_default();
        assert!(msg.contains(name) && msg.contains(bound), "{q}: {msg}");
    }
}

#[tokio::test]
async fn iam_project_lookup_answers_the_callers_tenant_for_any_region() {
    let w = world().await;
    let app = &w.app;
    // The SDK's lookup: signed, no X-Project-Id (it has no project yet), only `name`.
    let no_project = Key {
        project: None,
        ..w.key.clone()
    };
    for region in ["eu-de", "cn-north-4", "REGION"] {
        let path = format!("/v3/projects?name={region}");
        let (s, v) = signed(app, &no_project, Method::GET, &path, None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v, json!({"projects": [{"id": PROJECT, "name": region}]}));
    }
    // By token too; another tenant's principal gets its own tenant.
    let (s, v) = with_token(app, Method::GET, "/v3/projects?name=eu-de", &w.op, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["projects"][0]["id"], PROJECT);
    let acme_op = app.principal("acme-op", "viewer", Some("acme")).await;
    let (s, v) = with_token(app, Method::GET, "/v3/projects?name=eu-de", &acme_op, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v, json!({"projects": [{"id": "acme", "name": "eu-de"}]}));
    // The answer is a project id the DDS routes accept.
    let (s, v) = signed(
        app,
        &no_project,
        Method::GET,
        &list_path(PROJECT, NODE, ""),
        None,
    )
    .await;
    assert_err(s, &v, 404, "DBS.200013");

    // Authentication is the DDS API's own.
    let (s, v) = raw(
        app,
        Method::GET,
        "/v3/projects?name=eu-de",
        json_headers(),
        None,
    )
    .await;
    assert_err(s, &v, 401, "APIGW.0301");
    let wrong_sk = Key {
        sk: "x".repeat(40),
        ..no_project.clone()
    };
    let (s, v) = signed(app, &wrong_sk, Method::GET, "/v3/projects?name=eu-de", None).await;
    assert_err(s, &v, 401, "APIGW.0301");
    // Signed for another region than the one sent.
    let h = sign_headers(
        app,
        &no_project,
        app.clock.now(),
        &Method::GET,
        "/v3/projects?name=eu-de",
        b"",
        &[],
    );
    let (s, v) = raw(app, Method::GET, "/v3/projects?name=eu-nl", h, None).await;
    assert_err(s, &v, 401, "APIGW.0301");
    // The query must be exactly one non-empty name.
    for q in [
        "",
        "?name=",
        "?name=a&name=b",
        "?name=a&domain_id=x",
        "?x=1",
    ] {
        let path = format!("/v3/projects{q}");
        let (s, v) = signed(app, &no_project, Method::GET, &path, None).await;
        assert_err(s, &v, 400, "DBS.200001");
    }
    // Only GET.
    let (s, v) = with_token(app, Method::POST, "/v3/projects", &w.op, Some(json!({}))).await;
    assert_err(s, &v, 404, "APIGW.0101");
}

#[tokio::test]
async fn repeated_bad_signatures_from_one_address_back_off_in_dds_format() {
    let w = world().await;
    let app = &w.app;
    let path = list_path(PROJECT, NODE, "");
    let wrong_sk = Key {
        sk: "y".repeat(40),
        ..w.key.clone()
    };
    let per_address = app.registry.config().login_failures_per_address;
    for _ in 0..per_address {
        let (s, v) = signed(app, &wrong_sk, Method::GET, &path, None).await;
        assert_err(s, &v, 401, "APIGW.0301");
    }
    // The address now backs off, even for a rightly signed request: guessing secret keys is
    // throttled like guessing passwords.
    let (s, v) = signed(app, &w.key, Method::GET, &path, None).await;
    assert_err(s, &v, 429, "APIGW.0308");
    // The token way in is a different credential and not throttled by it (the node has no
    // sessions registered: authenticated, then not found).
    let (s, v) = with_token(app, Method::GET, &path, &w.op, None).await;
    assert!(
        s != StatusCode::TOO_MANY_REQUESTS && s != StatusCode::UNAUTHORIZED,
        "{s}: {v}"
    );
}
