//! The Qumulo SMB sessions dialect over real HTTP (seeds 000, 001; DESIGN.md §5): login,
//! the session_info shape, identity filters, paging by `next`, close semantics, privileges,
//! tenant isolation, and every rejection in Qumulo's error body.

mod common;

use common::{spawn, TestApp, ADMIN_PW};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sessiond_core::wire::RegisterRequest;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// A Qumulo call: `path` starts with `/v1`, the body (if any) is JSON.
async fn q(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let body = body.map(|b| (b.to_string().into_bytes(), "application/json"));
    q_raw(app, method, path, token, body).await
}

/// A Qumulo call with a raw body and content type. Every answer must be JSON (qq parses
/// every body, errors included), so a non-JSON body fails the test here.
async fn q_raw(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<(Vec<u8>, &str)>,
) -> (StatusCode, Value) {
    let mut rb = app.http.request(method, format!("{}{}", app.base, path));
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    if let Some((bytes, ctype)) = body {
        rb = rb.header("content-type", ctype).body(bytes);
    }
    common::json_answer(rb, path).await
}

/// Checks Qumulo's error body: exactly its five fields, the class of the status.
fn assert_qerr(s: StatusCode, v: &Value, status: u16, class: &str) {
    assert_eq!(s.as_u16(), status, "{v}");
    let obj = v.as_object().unwrap_or_else(|| panic!("error body {v}"));
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "description",
            "error_class",
            "module",
            "stack",
            "user_visible"
        ],
        "{v}"
    );
    assert_eq!(v["error_class"], class, "{v}");
    assert_eq!(v["stack"], json!([]), "{v}");
    assert_eq!(v["user_visible"], true, "{v}");
    assert!(v["module"].is_string(), "{v}");
    assert!(
        v["description"].as_str().is_some_and(|d| !d.is_empty()),
        "{v}"
    );
}

async fn qlogin(app: &TestApp, user: &str, pw: &str) -> String {
    let (s, v) = q(
        app,
        Method::POST,
        "/v1/session/login",
        None,
        Some(json!({"username": user, "password": pw})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["bearer_token"]
        .as_str()
        .expect("bearer_token")
        .to_string()
}

/// One page of the list; `query` is appended to `/v1/smb/sessions/`.
async fn list(app: &TestApp, token: &str, query: &str) -> Value {
    let (s, v) = q(
        app,
        Method::GET,
        &format!("/v1/smb/sessions/{query}"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{query}: {v}");
    v
}

/// Every page, following `next` literally; returns the locations in order.
async fn walk(app: &TestApp, token: &str, first: &str) -> (Vec<String>, usize) {
    let mut url = format!("/v1/smb/sessions/{first}");
    let mut out = Vec::new();
    let mut pages = 0;
    loop {
        let (s, v) = q(app, Method::GET, &url, Some(token), None).await;
        assert_eq!(s, StatusCode::OK, "{url}: {v}");
        pages += 1;
        for si in v["session_infos"].as_array().expect("session_infos") {
            out.push(si["location"].as_str().expect("location").to_string());
        }
        assert!(v["paging"].is_object(), "paging on every page: {v}");
        match &v["paging"]["next"] {
            Value::Null => break,
            Value::String(n) => {
                assert!(n.starts_with("/v1/smb/sessions/?"), "{n}");
                url = n.clone();
            }
            other => panic!("next must be a string or null, got {other}"),
        }
        assert!(pages < 10_000, "paging does not end");
    }
    (out, pages)
}

fn locations(page: &Value) -> Vec<String> {
    page["session_infos"]
        .as_array()
        .expect("session_infos")
        .iter()
        .map(|s| s["location"].as_str().expect("location").to_string())
        .collect()
}

/// The native state of a session (`active`, `terminated`, …).
async fn state(app: &TestApp, id: &str) -> String {
    let (s, v) = app
        .call(
            Method::GET,
            &format!("/sessions/{id}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["state"].as_str().expect("state").to_string()
}

async fn close(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    q(
        app,
        Method::POST,
        "/v1/smb/sessions/close",
        Some(token),
        Some(body),
    )
    .await
}

fn messages(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("close answer must be a list: {v}"))
        .iter()
        .map(|r| {
            let o = r.as_object().expect("result object");
            assert_eq!(o.len(), 1, "only error_message: {r}");
            r["error_message"]
                .as_str()
                .expect("error_message string")
                .to_string()
        })
        .collect()
}

fn smb_user(user: Value, ip: &str) -> Value {
    json!({"service": "smb", "node_id": "node-1", "user": user, "originator": ip,
           "server_address": "10.0.0.1", "share_names": ["home"]})
}

/// Registers many sessions straight through the registry (as admin, concurrently so the
/// store's group commit shares fsyncs): HTTP one by one would only measure the loader.
async fn register_many(app: &TestApp, bodies: Vec<Value>) -> Vec<String> {
    let caller = app
        .registry
        .authenticate(&app.admin)
        .await
        .expect("admin caller");
    let mut out = Vec::with_capacity(bodies.len());
    for chunk in bodies.chunks(64) {
        let mut set = tokio::task::JoinSet::new();
        for (i, b) in chunk.iter().enumerate() {
            let reg = Arc::clone(&app.registry);
            let caller = caller.clone();
            let req: RegisterRequest = serde_json::from_value(b.clone()).expect("register body");
            set.spawn(async move {
                let (s, _) = reg.register(&caller, req).await.expect("register");
                (i, s.id.to_string())
            });
        }
        let mut ids = vec![String::new(); chunk.len()];
        while let Some(r) = set.join_next().await {
            let (i, id) = r.expect("join");
            ids[i] = id;
        }
        out.extend(ids);
    }
    out
}

/// A well-formed id that no session has.
fn unknown_id(n: u32) -> String {
    format!("01ARZ3NDEKTSV4RRFFQ69G{n:04}")
}

#[tokio::test]
async fn login_gives_a_bearer_token_and_ignores_a_stale_header() {
    let app = spawn().await;
    let (s, v) = q(
        &app,
        Method::POST,
        "/v1/session/login",
        None,
        Some(json!({"username": "admin", "password": ADMIN_PW})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["bearer_token"]);
    let token = v["bearer_token"].as_str().expect("token").to_string();
    let page = list(&app, &token, "").await;
    assert_eq!(page, json!({"session_infos": [], "paging": {"next": null}}));

    // The login is an API session of service `sessiond`, not an SMB session.
    let (_, native) = app
        .call(
            Method::GET,
            "/sessions?service=sessiond",
            Some(&app.admin),
            None,
        )
        .await;
    let logins = native["items"].as_array().expect("items");
    assert_eq!(logins.len(), 2, "{native}");
    assert!(
        logins
            .iter()
            .all(|l| l["kind"] == "login" && l["originator"] == "127.0.0.1"),
        "{native}"
    );

    // A stale or garbage Authorization header along with a login is ignored.
    for stale in [token.as_str(), "garbage", "01ARZ3NDEKTSV4RRFFQ69G5FAV.xyz"] {
        let resp = app
            .http
            .post(format!("{}/v1/session/login", app.base))
            .bearer_auth(stale)
            .json(&json!({"username": "admin", "password": ADMIN_PW}))
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), StatusCode::OK);
        let v: Value = resp.json().await.expect("json");
        assert!(v["bearer_token"].is_string(), "{v}");
    }

    // Bad credentials: 401 in Qumulo's format, the same for an unknown user.
    let (s, wrong) = q(
        &app,
        Method::POST,
        "/v1/session/login",
        Some(&token),
        Some(json!({"username": "admin", "password": "nope"})),
    )
    .await;
    assert_qerr(s, &wrong, 401, "http_unauthorized_error");
    let (s2, ghost) = q(
        &app,
        Method::POST,
        "/v1/session/login",
        None,
        Some(json!({"username": "ghost", "password": "nope"})),
    )
    .await;
    assert_eq!((s2, &ghost), (s, &wrong));

    // Without a token, or with a bad one, the API answers 401 in Qumulo's format.
    for t in [
        None,
        Some("garbage"),
        Some("01ARZ3NDEKTSV4RRFFQ69G5FAV.xyz"),
    ] {
        let (s, v) = q(&app, Method::GET, "/v1/smb/sessions/", t, None).await;
        assert_qerr(s, &v, 401, "http_unauthorized_error");
        let (s, v) = q(
            &app,
            Method::POST,
            "/v1/smb/sessions/close",
            t,
            Some(json!([])),
        )
        .await;
        assert_qerr(s, &v, 401, "http_unauthorized_error");
    }
    // A native login token works too (any API token identifies a principal).
    list(&app, &app.admin, "").await;
}

#[tokio::test]
async fn session_info_has_exactly_the_seed_fields_and_types() {
    let app = spawn().await;
    let full = json!({"service": "smb", "node_id": "node-1",
        "user": {"domain": "POSIX_USER", "name": "bob", "sid": "S-1-5-21-1-2-3-1001",
                 "uid": 1001, "gid": 100},
        "originator": "10.1.2.3", "server_address": "10.0.0.1",
        "share_names": ["home", "projects"], "is_guest": false, "is_encrypted": true,
        "num_opens": 7});
    let (id, _token) = app.register(&app.admin, full).await;
    let (sparse, _) = app
        .register(
            &app.admin,
            json!({"service": "smb", "user": {"name": "Guest"}, "is_guest": true}),
        )
        .await;
    // Opened at T; active at T+60s; listed at T+90s.
    app.clock.advance(Duration::from_secs(60));
    let (s, v) = app
        .call(
            Method::POST,
            &format!("/sessions/{id}/touch"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    app.clock.advance(Duration::from_secs(30));

    let page = list(&app, &app.admin, "").await;
    let mut top: Vec<&str> = page
        .as_object()
        .expect("page")
        .keys()
        .map(String::as_str)
        .collect();
    top.sort_unstable();
    assert_eq!(top, ["paging", "session_infos"]);
    let infos = page["session_infos"].as_array().expect("infos");
    assert_eq!(infos.len(), 2);
    let si = &infos[0];
    let mut keys: Vec<&str> = si
        .as_object()
        .expect("info")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "is_encrypted",
            "is_guest",
            "location",
            "num_opens",
            "originator",
            "server_address",
            "share_names",
            "tenant_id",
            "time_idle",
            "time_open",
            "user"
        ]
    );
    let mut ukeys: Vec<&str> = si["user"]
        .as_object()
        .expect("user")
        .keys()
        .map(String::as_str)
        .collect();
    ukeys.sort_unstable();
    assert_eq!(ukeys, ["auth_id", "domain", "gid", "name", "sid", "uid"]);
    assert_eq!(
        si,
        &json!({
            "location": id,
            "tenant_id": 1,
            "originator": "10.1.2.3",
            "server_address": "10.0.0.1",
            "user": {"domain": "POSIX_USER", "auth_id": ((3u64 << 32) + 1001).to_string(),
                     "uid": 1001, "gid": 100, "sid": "S-1-5-21-1-2-3-1001", "name": "bob"},
            "num_opens": 7,
            "time_open": {"nanoseconds": "90000000000"},
            "time_idle": {"nanoseconds": "30000000000"},
            "is_guest": false,
            "is_encrypted": true,
            "share_names": ["home", "projects"]
        })
    );
    // Types as the seed has them, and unknown identity parts as null (Qumulo's api_identity
    // on output: every field present); unknown addresses are "" so they stay strings.
    let g = &infos[1];
    assert_eq!(g["location"], sparse);
    assert!(g["tenant_id"].is_number());
    assert!(g["num_opens"].is_number());
    assert_eq!(g["originator"], "");
    assert_eq!(g["server_address"], "");
    assert_eq!(g["is_guest"], true);
    assert_eq!(g["is_encrypted"], false);
    assert_eq!(g["share_names"], json!([]));
    assert_eq!(g["user"]["domain"], "LOCAL");
    assert_eq!(g["user"]["name"], "Guest");
    assert!(g["user"]["auth_id"]
        .as_str()
        .is_some_and(|a| a.parse::<u64>().is_ok()));
    for k in ["uid", "gid", "sid"] {
        assert!(g["user"][k].is_null(), "{k}: {g}");
    }
    assert_eq!(g["time_open"]["nanoseconds"], "90000000000");
    assert_eq!(g["time_idle"]["nanoseconds"], "90000000000");
}

#[tokio::test]
async fn identity_filters_in_every_form_and_a_bad_one_is_400() {
    let app = spawn().await;
    let ids = register_many(
        &app,
        vec![
            smb_user(
                json!({"domain": "ACTIVE_DIRECTORY", "name": "alice", "sid": "S-1-5-21-1-2-3-1001"}),
                "10.0.0.1",
            ),
            smb_user(json!({"domain": "LOCAL", "name": "Alice"}), "10.0.0.2"),
            smb_user(json!({"domain": "POSIX_USER", "name": "bob", "uid": 1001}), "10.0.0.3"),
            smb_user(json!({"domain": "POSIX_GROUP", "name": "staff", "gid": 2001}), "10.0.0.4"),
            smb_user(
                json!({"domain": "WORLD", "name": "Everyone", "sid": "S-1-1-0"}),
                "10.0.0.5",
            ),
            smb_user(json!({"domain": "LOCAL", "name": "carol", "auth_id": "513"}), "10.0.0.6"),
            // Not SMB: never listed by this dialect, whatever the identity.
            json!({"service": "vsphere", "user": {"name": "alice"}}),
            // An LDAP distinguished name holding a ':' (qq reads `CN=…:…` as a name).
            smb_user(
                json!({"domain": "LOCAL", "name": "CN=Ann:Lee,OU=Staff,DC=corp"}),
                "10.0.0.7",
            ),
        ],
    )
    .await;
    let cases: Vec<(&str, Vec<usize>)> = vec![
        ("alice", vec![0, 1]),
        ("ALICE", vec![0, 1]),
        ("name:alice", vec![0, 1]),
        ("ad:alice", vec![0]),
        ("AD:Alice", vec![0]),
        ("local:alice", vec![1]),
        ("S-1-5-21-1-2-3-1001", vec![0]),
        ("s-1-5-21-1-2-3-1001", vec![0]),
        ("sid:S-1-5-21-1-2-3-1001", vec![0]),
        ("SID:S-1-5-21-1-2-3-1001", vec![0]),
        ("uid:1001", vec![2]),
        ("ldap_user:bob", vec![2]),
        ("gid:2001", vec![3]),
        ("ldap_group:staff", vec![3]),
        ("world:Everyone", vec![4]),
        ("S-1-1-0", vec![4]),
        ("sid:S-1-1-0", vec![4]),
        ("auth_id:513", vec![5]),
        ("auth_id:0x201", vec![5]),
        ("auth_id:12884902889", vec![2]),
        ("auth_id:8589934592", vec![4]),
        ("nobody", vec![]),
        // qq's `build_api_identity`: a prefix holding '=' is part of a DN, the whole a name.
        ("CN=Ann:Lee,OU=Staff,DC=corp", vec![7]),
        ("cn=ann:lee,ou=staff,dc=corp", vec![7]),
        (" CN=Ann:Lee,OU=Staff,DC=corp ", vec![7]),
        ("name:CN=Ann:Lee,OU=Staff,DC=corp", vec![7]),
        ("CN=Ann:Other", vec![]),
    ];
    for (identity, want) in cases {
        let page = list(
            &app,
            &app.admin,
            &format!(
                "?identity={}",
                form_urlencoded::byte_serialize(identity.as_bytes()).collect::<String>()
            ),
        )
        .await;
        let want: Vec<String> = want.iter().map(|i| ids[*i].clone()).collect();
        assert_eq!(locations(&page), want, "identity {identity}");
        assert_eq!(page["paging"]["next"], Value::Null);
    }
    let before = list(&app, &app.admin, "").await;
    for bad in [
        "bad:x",
        // A '=' after the first ':' does not make a DN: the prefix is still unknown.
        "cn:a=b",
        "uid:abc",
        "uid:-1",
        "gid:",
        "auth_id:zz",
        "world:bob",
        "sid:S-x",
        "",
    ] {
        let path = format!(
            "/v1/smb/sessions/?identity={}",
            form_urlencoded::byte_serialize(bad.as_bytes()).collect::<String>()
        );
        let (s, v) = q(&app, Method::GET, &path, Some(&app.admin), None).await;
        assert_qerr(s, &v, 400, "http_bad_request_error");
    }
    assert_eq!(
        list(&app, &app.admin, "").await["session_infos"],
        before["session_infos"]
    );
}

#[tokio::test]
async fn paging_walks_2500_sessions_by_next_without_skips_or_repeats() {
    let app = spawn().await;
    // 2,500 sessions of one user whose name needs re-encoding, interleaved with 300 others.
    let mut bodies = Vec::new();
    for i in 0..2800 {
        let user = if i % 28 < 25 {
            json!({"domain": "ACTIVE_DIRECTORY", "name": "Wälker & Co+1"})
        } else {
            json!({"domain": "LOCAL", "name": format!("other{i}")})
        };
        bodies.push(smb_user(user, &format!("10.2.{}.{}", i / 250, i % 250)));
    }
    let ids = register_many(&app, bodies).await;
    let mut sorted = ids.clone();
    sorted.sort();

    // No filter, default page (1000): everything in id order, 3 pages.
    let (all, pages) = walk(&app, &app.admin, "").await;
    assert_eq!(pages, 3);
    assert_eq!(all, sorted);

    // Filtered with a small page: `next` keeps (re-encoded) identity and limit.
    let identity = "ad:wälker & co+1";
    let first = format!(
        "?identity={}&limit=700",
        form_urlencoded::byte_serialize(identity.as_bytes()).collect::<String>()
    );
    let page = list(&app, &app.admin, &first).await;
    assert_eq!(page["session_infos"].as_array().map(Vec::len), Some(700));
    let next = page["paging"]["next"].as_str().expect("next").to_string();
    let query: Vec<(String, String)> =
        form_urlencoded::parse(next.split_once('?').expect("query").1.as_bytes())
            .into_owned()
            .collect();
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("identity").as_deref(), Some(identity));
    assert_eq!(get("limit").as_deref(), Some("700"));
    assert!(get("after").is_some());

    let (walked, pages) = walk(&app, &app.admin, &first).await;
    assert_eq!(pages, 4, "700 + 700 + 700 + 400");
    let want: Vec<String> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 28 < 25)
        .map(|(_, id)| id.clone())
        .collect();
    let unique: HashSet<&String> = walked.iter().collect();
    assert_eq!(unique.len(), walked.len(), "no repeats");
    assert_eq!(walked.len(), 2500);
    let mut want_sorted = want.clone();
    want_sorted.sort();
    assert_eq!(walked, want_sorted, "no skips, in id order");

    // A limit above the maximum is clamped ("the system may choose a smaller limit").
    let page = list(&app, &app.admin, "?limit=5000").await;
    assert_eq!(page["session_infos"].as_array().map(Vec::len), Some(1000));
    assert!(page["paging"]["next"]
        .as_str()
        .is_some_and(|n| n.contains("limit=1000")));
    // An exact last page: `next` may point at an empty page, which then ends the walk.
    let (w, _) = walk(&app, &app.admin, "?limit=1400").await;
    assert_eq!(w.len(), 2800);

    // Ended sessions leave the list.
    let (s, v) = close(&app, &app.admin, json!([{"location": sorted[0]}])).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let page = list(&app, &app.admin, "?limit=1").await;
    assert_eq!(locations(&page), vec![sorted[1].clone()]);
}

#[tokio::test]
async fn close_answers_each_location_in_order() {
    let app = spawn().await;
    let acme = app.tenant("acme").await;
    assert!(acme > 1);
    let mk = |name: &str, ip: &str| smb_user(json!({"domain": "LOCAL", "name": name}), ip);
    let a = app.register(&app.admin, mk("a", "10.0.0.1")).await.0;
    let b = app.register(&app.admin, mk("b", "10.0.0.2")).await.0;
    let c = app.register(&app.admin, mk("c", "10.0.0.3")).await.0;
    let d = app.register(&app.admin, mk("d", "10.0.0.4")).await.0;
    let mut foreign_body = mk("f", "10.0.0.5");
    foreign_body["tenant"] = json!("acme");
    let foreign = app.register(&app.admin, foreign_body).await.0;
    let vsphere = app
        .register(
            &app.admin,
            json!({"service": "vsphere", "user": {"name": "v"}}),
        )
        .await
        .0;
    let own_login = {
        let (_, me) = app
            .call(Method::GET, "/auth/whoami", Some(&app.admin), None)
            .await;
        me["session_id"].as_str().expect("session_id").to_string()
    };

    // d is ended before the batch.
    let (s, v) = close(&app, &app.admin, json!([{"location": d}])).await;
    assert_eq!((s, messages(&v)), (StatusCode::OK, vec![String::new()]));

    // a and b as GET returned them (full objects); the rest minimal or with odd types.
    let page = list(&app, &app.admin, "").await;
    let full = |id: &str| {
        page["session_infos"]
            .as_array()
            .expect("infos")
            .iter()
            .find(|s| s["location"] == id)
            .cloned()
            .expect("listed")
    };
    let unknown = unknown_id(1);
    let body = json!([
        full(&a),
        {"location": unknown},
        {"location": foreign, "tenant_id": "not a number", "user": 5},
        full(&b),
        {"location": vsphere, "extra": [1, 2]},
        {"location": d},
        {"location": "garbage"},
        {"location": own_login},
        {"location": a}
    ]);
    let (s, v) = close(&app, &app.admin, body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let m = messages(&v);
    assert_eq!(m.len(), 9);
    assert_eq!(m[0], "");
    assert_eq!(m[3], "");
    let blank = |msg: &str, id: &str| msg.replace(id, "<location>");
    let not_found = blank(&m[1], &unknown);
    assert!(not_found.contains("<location>"), "{not_found}");
    assert!(!not_found.is_empty());
    // Another tenant's session, another service's, the caller's own API login and a
    // malformed location all read exactly like an unknown one.
    assert_eq!(blank(&m[2], &foreign), not_found);
    assert_eq!(blank(&m[4], &vsphere), not_found);
    assert_eq!(blank(&m[6], "garbage"), not_found);
    assert_eq!(blank(&m[7], &own_login), not_found);
    // Already ended: a different, clear message (also for a repeat within the batch).
    let ended = blank(&m[5], &d);
    assert_ne!(ended, not_found);
    assert!(ended.contains("closed"), "{ended}");
    assert_eq!(blank(&m[8], &a), ended);

    for (id, want) in [
        (&a, "terminated"),
        (&b, "terminated"),
        (&c, "active"),
        (&d, "terminated"),
        (&foreign, "active"),
        (&vsphere, "active"),
        (&own_login, "active"),
    ] {
        assert_eq!(state(&app, id).await, want, "{id}");
    }
    let (_, t) = app
        .call(
            Method::GET,
            &format!("/sessions/{a}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(t["ended_by"], "admin");
    assert!(t["end_reason"]
        .as_str()
        .is_some_and(|r| r.contains("Qumulo")));

    // An empty list closes nothing and answers an empty list.
    let (s, v) = close(&app, &app.admin, json!([])).await;
    assert_eq!((s, v), (StatusCode::OK, json!([])));
    assert_eq!(locations(&list(&app, &app.admin, "").await), vec![c]);
}

#[tokio::test]
async fn close_of_10000_items_in_one_request() {
    let app = spawn().await;
    let bodies: Vec<Value> = (0..2000)
        .map(|i| {
            smb_user(
                json!({"domain": "LOCAL", "name": format!("g{i}")}),
                "10.3.0.1",
            )
        })
        .collect();
    let ids = register_many(&app, bodies).await;
    // The live ones as GET returned them, interleaved with 8,000 unknown locations.
    let mut infos = Vec::new();
    let mut url = "/v1/smb/sessions/".to_string();
    loop {
        let (s, v) = q(&app, Method::GET, &url, Some(&app.admin), None).await;
        assert_eq!(s, StatusCode::OK);
        infos.extend(
            v["session_infos"]
                .as_array()
                .expect("infos")
                .iter()
                .cloned(),
        );
        match v["paging"]["next"].as_str() {
            Some(n) => url = n.to_string(),
            None => break,
        }
    }
    assert_eq!(infos.len(), 2000);
    let mut body = Vec::new();
    let mut expect_ok = Vec::new();
    let mut live = infos.into_iter();
    for i in 0..10_000u32 {
        if i % 5 == 0 {
            body.push(live.next().expect("live"));
            expect_ok.push(true);
        } else {
            body.push(json!({"location": unknown_id(i)}));
            expect_ok.push(false);
        }
    }
    let (s, v) = close(&app, &app.admin, Value::Array(body)).await;
    assert_eq!(s, StatusCode::OK);
    let m = messages(&v);
    assert_eq!(m.len(), 10_000);
    for (i, (msg, ok)) in m.iter().zip(&expect_ok).enumerate() {
        assert_eq!(msg.is_empty(), *ok, "item {i}: {msg}");
    }
    assert_eq!(list(&app, &app.admin, "").await["session_infos"], json!([]));
    assert_eq!(state(&app, &ids[1999]).await, "terminated");
}

#[tokio::test]
async fn a_close_beyond_the_bulk_limit_is_refused_whole() {
    let app = spawn().await;
    let (live, _) = app
        .register(&app.admin, smb_user(json!({"name": "keep"}), "10.0.0.1"))
        .await;
    let max = app.registry.config().max_bulk_ids;
    let mut body: Vec<Value> = (0..max)
        .map(|_| json!({"location": unknown_id(0)}))
        .collect();
    body.push(json!({"location": live}));
    let (s, v) = close(&app, &app.admin, Value::Array(body)).await;
    assert_qerr(s, &v, 400, "http_bad_request_error");
    assert_eq!(state(&app, &live).await, "active");
}

#[tokio::test]
async fn viewers_list_but_cannot_close() {
    let app = spawn().await;
    let (id, _) = app
        .register(&app.admin, smb_user(json!({"name": "u"}), "10.0.0.1"))
        .await;
    let viewer = app.principal("watcher", "viewer", None).await;
    let service = app.principal("filer", "service", None).await;
    let operator = app.principal("ops", "operator", None).await;
    for t in [&viewer, &service] {
        assert_eq!(locations(&list(&app, t, "").await), vec![id.clone()]);
        for body in [json!([{"location": id}]), json!([])] {
            let (s, v) = close(&app, t, body).await;
            assert_qerr(s, &v, 403, "http_forbidden_error");
        }
        assert_eq!(state(&app, &id).await, "active");
    }
    // The viewer logs in through the Qumulo login too.
    let qviewer = qlogin(&app, "watcher", "password-of-watcher").await;
    let (s, v) = close(&app, &qviewer, json!([{"location": id}])).await;
    assert_qerr(s, &v, 403, "http_forbidden_error");
    let (s, v) = close(&app, &operator, json!([{"location": id}])).await;
    assert_eq!((s, messages(&v)), (StatusCode::OK, vec![String::new()]));
    assert_eq!(state(&app, &id).await, "terminated");
}

#[tokio::test]
async fn each_tenant_sees_and_closes_only_its_own_sessions() {
    let app = spawn().await;
    app.tenant("acme").await;
    let (home, _) = app
        .register(&app.admin, smb_user(json!({"name": "same"}), "10.0.0.1"))
        .await;
    let mut body = smb_user(json!({"name": "same"}), "10.0.0.2");
    body["tenant"] = json!("acme");
    let (away, _) = app.register(&app.admin, body).await;
    let acme_op = app.principal("acme-op", "operator", Some("acme")).await;

    // Even the global admin sees only its own tenant here: vendor dialects never cross.
    for (t, want, tenant) in [(&app.admin, &home, 1), (&acme_op, &away, 2)] {
        for query in ["", "?identity=same"] {
            let page = list(&app, t, query).await;
            assert_eq!(locations(&page), vec![want.clone()], "{query}");
            assert_eq!(page["session_infos"][0]["tenant_id"], tenant);
        }
    }
    let (_, v) = close(
        &app,
        &acme_op,
        json!([{"location": home}, {"location": unknown_id(7)}]),
    )
    .await;
    let m = messages(&v);
    assert_eq!(
        m[0].replace(&home, "<l>"),
        m[1].replace(&unknown_id(7), "<l>")
    );
    assert_eq!(state(&app, &home).await, "active");
    let (_, v) = close(&app, &app.admin, json!([{"location": away}])).await;
    assert_ne!(messages(&v), vec![String::new()]);
    assert_eq!(state(&app, &away).await, "active");
}

#[tokio::test]
async fn rejected_requests_answer_in_qumulo_format_and_change_nothing() {
    let app = spawn().await;
    let (id, _) = app
        .register(&app.admin, smb_user(json!({"name": "u"}), "10.0.0.1"))
        .await;
    let tok = qlogin(&app, "admin", ADMIN_PW).await;
    let t = Some(tok.as_str());
    let json_ct = "application/json";
    let close_path = "/v1/smb/sessions/close";
    let valid = format!("{{\"location\":\"{id}\"}}");

    // Bodies: malformed JSON, the wrong shape, `location` of the wrong type or missing.
    for (body, ctype, status, class) in [
        (
            "[{\"location\":".to_string(),
            json_ct,
            400,
            "http_bad_request_error",
        ),
        (
            "not json".to_string(),
            json_ct,
            400,
            "http_bad_request_error",
        ),
        ("".to_string(), json_ct, 400, "http_bad_request_error"),
        (valid.clone(), json_ct, 400, "http_bad_request_error"),
        (
            "{\"sessions\":[]}".to_string(),
            json_ct,
            400,
            "http_bad_request_error",
        ),
        (
            format!("[{valid},{{\"location\":5}}]"),
            json_ct,
            400,
            "http_bad_request_error",
        ),
        (
            format!("[{valid},{{\"location\":null}}]"),
            json_ct,
            400,
            "http_bad_request_error",
        ),
        (
            format!("[{valid},{{\"tenant_id\":1}}]"),
            json_ct,
            400,
            "http_bad_request_error",
        ),
        (
            format!("[{valid},\"{id}\"]"),
            json_ct,
            400,
            "http_bad_request_error",
        ),
        (
            format!("[{valid}]"),
            "text/plain",
            415,
            "http_unsupported_media_type_error",
        ),
    ] {
        let (s, v) = q_raw(
            &app,
            Method::POST,
            close_path,
            t,
            Some((body.clone().into_bytes(), ctype)),
        )
        .await;
        assert_qerr(s, &v, status, class);
        assert_eq!(state(&app, &id).await, "active", "after {body}");
    }
    // Over the 8 MiB body limit: 413, also for the login.
    let mut huge = format!("[{valid},{{\"location\":\"");
    huge.push_str(&"x".repeat(9 * 1024 * 1024));
    huge.push_str("\"}]");
    for path in [close_path, "/v1/session/login"] {
        let (s, v) = q_raw(
            &app,
            Method::POST,
            path,
            t,
            Some((huge.clone().into_bytes(), json_ct)),
        )
        .await;
        assert_qerr(s, &v, 413, "http_request_entity_too_large_error");
    }
    // Login bodies.
    for body in [
        "{",
        "{\"username\":\"admin\"}",
        "{\"username\":1,\"password\":\"x\"}",
        "[]",
    ] {
        let (s, v) = q_raw(
            &app,
            Method::POST,
            "/v1/session/login",
            None,
            Some((body.as_bytes().to_vec(), json_ct)),
        )
        .await;
        assert_qerr(s, &v, 400, "http_bad_request_error");
    }
    // List queries.
    for query in [
        "?limit=0",
        "?limit=-5",
        "?limit=ten",
        "?identity=a&identity=b",
        "?after=garbage",
        "?idenity=alice",
    ] {
        let (s, v) = q(
            &app,
            Method::GET,
            &format!("/v1/smb/sessions/{query}"),
            t,
            None,
        )
        .await;
        assert_qerr(s, &v, 400, "http_bad_request_error");
    }
    // Unknown routes and methods.
    for (m, path, status, class) in [
        (Method::GET, "/v1/nope", 404, "http_not_found_error"),
        (Method::GET, "/v1/smb/sessions", 404, "http_not_found_error"),
        (
            Method::GET,
            "/v1/smb/sessions/x",
            404,
            "http_not_found_error",
        ),
        (
            Method::POST,
            "/v1/smb/sessions",
            404,
            "http_not_found_error",
        ),
        (
            Method::POST,
            "/v1/smb/sessions/",
            405,
            "http_method_not_allowed_error",
        ),
        (
            Method::DELETE,
            "/v1/smb/sessions/",
            405,
            "http_method_not_allowed_error",
        ),
        (
            Method::GET,
            close_path,
            405,
            "http_method_not_allowed_error",
        ),
        (
            Method::GET,
            "/v1/session/login",
            405,
            "http_method_not_allowed_error",
        ),
    ] {
        let (s, v) = q(&app, m.clone(), path, t, Some(json!([{"location": id}]))).await;
        assert_qerr(s, &v, status, class);
    }
    let (s, v) = q(&app, Method::GET, "/v1/smb/sessions", t, None).await;
    assert_qerr(s, &v, 404, "http_not_found_error");
    assert!(
        v["description"]
            .as_str()
            .is_some_and(|d| d.contains("/v1/smb/sessions/")),
        "{v}"
    );

    // Nothing changed, and the server is still serving.
    assert_eq!(state(&app, &id).await, "active");
    assert_eq!(locations(&list(&app, &tok, "").await), vec![id]);
}

#[tokio::test]
async fn repeated_bad_logins_are_429_in_qumulo_format() {
    let app = spawn().await;
    let free = app.registry.config().login_failures_before_backoff;
    let bad = json!({"username": "admin", "password": "wrong-password"});
    for _ in 0..free {
        let (s, v) = q(
            &app,
            Method::POST,
            "/v1/session/login",
            None,
            Some(bad.clone()),
        )
        .await;
        assert_qerr(s, &v, 401, "http_unauthorized_error");
    }
    let resp = app
        .http
        .post(format!("{}/v1/session/login", app.base))
        .json(&json!({"username": "admin", "password": ADMIN_PW}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
    let v: Value = resp.json().await.expect("json");
    assert_qerr(
        StatusCode::TOO_MANY_REQUESTS,
        &v,
        429,
        "http_too_many_requests_error",
    );
    // The backoff runs on the registry's clock: once it has passed, the login works.
    app.clock.advance(Duration::from_secs(5));
    qlogin(&app, "admin", ADMIN_PW).await;
}
