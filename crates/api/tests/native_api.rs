//! The native API over real HTTP: every endpoint, its error codes, privileges per role and
//! tenant scope.

mod common;

use common::{smb, spawn, ADMIN_PW};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("<none>")
}

#[tokio::test]
async fn login_whoami_logout() {
    let app = spawn().await;
    let (s, v) = app
        .call(Method::GET, "/auth/whoami", Some(&app.admin), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["name"], "admin");
    assert_eq!(v["role"], "admin");
    assert_eq!(v["tenant"], "default");
    assert!(v["privileges"]
        .as_array()
        .expect("privs")
        .contains(&json!("System.Admin")));

    // The login is itself a session of service `sessiond`, visible in the list.
    let (_, page) = app
        .call(
            Method::GET,
            "/sessions?service=sessiond",
            Some(&app.admin),
            None,
        )
        .await;
    let items = page["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["kind"], "login");
    assert_eq!(items[0]["user"]["name"], "admin");
    assert_eq!(items[0]["originator"], "127.0.0.1");
    assert!(
        page.to_string().find(&app.admin).is_none(),
        "a token must never appear in a listing"
    );

    let (s, v) = app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username":"admin","password":"nope"})),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNAUTHORIZED, "invalid_credentials")
    );
    let (s2, v2) = app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username":"ghost","password":"nope"})),
        )
        .await;
    assert_eq!(
        (s2, &v2),
        (s, &v),
        "unknown user and wrong password answer alike"
    );

    let (s, _) = app
        .call(Method::POST, "/auth/logout", Some(&app.admin), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = app
        .call(Method::GET, "/auth/whoami", Some(&app.admin), None)
        .await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    let other = app.login("admin", ADMIN_PW).await;
    let (_, page) = app
        .call(
            Method::GET,
            "/sessions?service=sessiond&state=all",
            Some(&other),
            None,
        )
        .await;
    let states: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| s["state"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(states, vec!["closed", "active"]);
}

#[tokio::test]
async fn unauthenticated_requests_are_401() {
    let app = spawn().await;
    for (m, p) in [
        (Method::GET, "/sessions"),
        (Method::POST, "/sessions"),
        (Method::GET, "/auth/whoami"),
        (Method::GET, "/tenants"),
    ] {
        let (s, v) = app.call(m.clone(), p, None, Some(json!({}))).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNAUTHORIZED, "unauthenticated"),
            "{m} {p}"
        );
        let (s, _) = app
            .call(m.clone(), p, Some("garbage"), Some(json!({})))
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{m} {p} with a bad token");
    }
}

#[tokio::test]
async fn a_registered_sessions_token_never_authenticates() {
    let app = spawn().await;
    let svc = app.principal("fileserver", "service", None).await;
    let (_, tok) = app.register(&svc, smb("alice", "10.0.0.1")).await;
    let (s, _) = app.call(Method::GET, "/sessions", Some(&tok), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // ...but validate accepts it.
    let (s, v) = app
        .call(
            Method::POST,
            "/sessions/validate",
            Some(&svc),
            Some(json!({"token": tok})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["user"]["name"], "alice");
    // A login token is not a registered session's token.
    let (s, v) = app
        .call(
            Method::POST,
            "/sessions/validate",
            Some(&svc),
            Some(json!({"token": svc})),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "session_not_found"));
}

#[tokio::test]
async fn register_validate_touch_patch_close() {
    let app = spawn().await;
    let svc = app.principal("svc", "service", None).await;
    let mut body = smb("Alice", "10.1.2.3");
    body["external_id"] = json!("77");
    body["user"]["sid"] = json!("s-1-5-21-1-2-3-1001");
    body["activity"] = json!({"operation":"query","type":"query","namespace":"shop.orders","db":"shop","started_at":"2026-11-23T00:00:00Z"});
    body["idle_timeout"] = json!("10m");
    body["attributes"] = json!({"k":"v"});
    let (s, v) = app
        .call(Method::POST, "/sessions", Some(&svc), Some(body.clone()))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let sess = &v["session"];
    let id = sess["id"].as_str().expect("id").to_string();
    let token = v["token"].as_str().expect("token").to_string();
    assert!(token.starts_with(&format!("{id}.")), "split token form");
    assert_eq!(sess["state"], "active");
    assert_eq!(sess["kind"], "registered");
    assert_eq!(sess["owner"], "svc");
    assert_eq!(sess["tenant_id"], 1);
    assert_eq!(
        sess["user"]["sid"], "S-1-5-21-1-2-3-1001",
        "SIDs are upper-cased"
    );
    assert!(
        sess["user"]["auth_id"].is_string(),
        "auth_id is derived and a string"
    );
    assert_eq!(sess["idle_timeout"], "10m");
    assert_eq!(sess["absolute_timeout"], "1day");
    assert!(sess["opened_at"].as_str().expect("t").ends_with('Z'));

    // Same external id on the same node and service while live: conflict.
    let (s, v) = app
        .call(Method::POST, "/sessions", Some(&svc), Some(body))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "conflict"));

    app.clock.advance(Duration::from_secs(60));
    let (s, v) = app
        .call(
            Method::POST,
            "/sessions/validate",
            Some(&svc),
            Some(json!({"token": token})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["id"], id.as_str());

    let (s, v) = app
        .call(
            Method::POST,
            &format!("/sessions/{id}/touch"),
            Some(&svc),
            Some(json!({"num_opens": 5, "activity": null})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["num_opens"], 5);
    assert!(v.get("activity").is_none());
    let (s, v) = app
        .call(
            Method::POST,
            &format!("/sessions/{id}/touch"),
            Some(&svc),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "touch without a body: {v}");
    let (s, v) = app
        .call(
            Method::PATCH,
            &format!("/sessions/{id}"),
            Some(&svc),
            Some(json!({"share_names": ["home", "data"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["share_names"], json!(["home", "data"]));
    let (s, v) = app
        .call(Method::GET, &format!("/sessions/{id}"), Some(&svc), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["num_opens"], 5);

    let (s, v) = app
        .call(
            Method::POST,
            &format!("/sessions/{id}/close"),
            Some(&svc),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "closed");
    assert_eq!(v["ended_by"], "svc");
    let (s, v) = app
        .call(
            Method::POST,
            "/sessions/validate",
            Some(&svc),
            Some(json!({"token": token})),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "session_not_found"));
    let (s, v) = app
        .call(
            Method::POST,
            &format!("/sessions/{id}/touch"),
            Some(&svc),
            None,
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "session_ended"));
}

#[tokio::test]
async fn validate_fails_once_idle_timeout_passed_even_before_the_sweeper() {
    let app = spawn().await;
    let svc = app.principal("svc", "service", None).await;
    let mut body = smb("bob", "10.0.0.2");
    body["idle_timeout"] = json!("10m");
    let (id, tok) = app.register(&svc, body).await;
    app.clock.advance(Duration::from_secs(9 * 60));
    let (s, _) = app
        .call(
            Method::POST,
            "/sessions/validate",
            Some(&svc),
            Some(json!({"token": tok})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "activity at 9m postpones the deadline");
    app.clock.advance(Duration::from_secs(11 * 60));
    let (s, _) = app
        .call(
            Method::POST,
            "/sessions/validate",
            Some(&svc),
            Some(json!({"token": tok})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // API logins expire too (30m idle): log in again.
    let admin = app.login("admin", ADMIN_PW).await;
    app.registry.sweep().await.expect("sweep");
    let (_, v) = app
        .call(Method::GET, &format!("/sessions/{id}"), Some(&admin), None)
        .await;
    assert_eq!(v["state"], "expired");
    assert_eq!(v["ended_by"], "timeout:idle");
}

#[tokio::test]
async fn list_filters_and_keyset_paging() {
    let app = spawn().await;
    let svc = app.principal("svc", "service", None).await;
    let mut ids = Vec::new();
    for i in 0..25 {
        let mut b = smb(
            if i % 2 == 0 { "alice" } else { "bob" },
            &format!("10.{}.0.{i}", i % 3),
        );
        b["is_guest"] = json!(i % 5 == 0);
        b["external_id"] = json!(format!("op{i}"));
        ids.push(app.register(&svc, b).await.0);
    }
    let q = |s: &str| format!("/sessions?service=smb&{s}");
    let count = |v: &Value| v["items"].as_array().map(Vec::len).unwrap_or(0);
    let (_, v) = app
        .call(
            Method::GET,
            &q("identity=ad:ALICE&limit=1000"),
            Some(&svc),
            None,
        )
        .await;
    assert_eq!(count(&v), 13);
    let (_, v) = app
        .call(Method::GET, &q("identity=bob"), Some(&svc), None)
        .await;
    assert_eq!(count(&v), 12);
    let (_, v) = app
        .call(Method::GET, &q("identity=local:bob"), Some(&svc), None)
        .await;
    assert_eq!(count(&v), 0, "bob is an AD user, not LOCAL");
    let (_, v) = app
        .call(Method::GET, &q("originator=10.1.0.0/16"), Some(&svc), None)
        .await;
    assert_eq!(count(&v), 8);
    let (_, v) = app
        .call(Method::GET, &q("originator=10.2.0.5"), Some(&svc), None)
        .await;
    assert_eq!(count(&v), 1);
    let (_, v) = app
        .call(Method::GET, &q("is_guest=true"), Some(&svc), None)
        .await;
    assert_eq!(count(&v), 5);
    let (_, v) = app
        .call(Method::GET, &q("external_id=op7"), Some(&svc), None)
        .await;
    assert_eq!(v["items"][0]["id"], ids[7].as_str());
    let (_, v) = app
        .call(
            Method::GET,
            &q("share=home&node_id=node-1"),
            Some(&svc),
            None,
        )
        .await;
    assert_eq!(count(&v), 25);
    let (_, v) = app
        .call(Method::GET, &q("share=other"), Some(&svc), None)
        .await;
    assert_eq!(count(&v), 0);
    app.clock.advance(Duration::from_secs(120));
    let (_, v) = app
        .call(Method::GET, &q("idle_gt=1m"), Some(&svc), None)
        .await;
    assert_eq!(count(&v), 25);
    let (_, v) = app
        .call(Method::GET, &q("idle_lt=1m"), Some(&svc), None)
        .await;
    assert_eq!(count(&v), 0);
    let (_, v) = app
        .call(Method::GET, &q("age_gt=5m"), Some(&svc), None)
        .await;
    assert_eq!(count(&v), 0);

    // Keyset paging: pages of 10, in id order, no repeats, `next` null at the end.
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let path = match &next {
            Some(n) => q(&format!("limit=10&after={n}")),
            None => q("limit=10"),
        };
        let (s, v) = app.call(Method::GET, &path, Some(&svc), None).await;
        assert_eq!(s, StatusCode::OK);
        seen.extend(
            v["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|s| s["id"].as_str().unwrap_or("").to_string()),
        );
        match v["next"].as_str() {
            Some(n) => next = Some(n.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, ids);

    // Bad inputs: a bad identity is 400, a bad value 422, an unknown parameter 400.
    let (s, v) = app
        .call(Method::GET, &q("identity=uid:abc"), Some(&svc), None)
        .await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "bad_request"));
    assert!(v["error"]["message"].as_str().unwrap_or("").contains("uid"));
    let (s, v) = app.call(Method::GET, &q("limit=0"), Some(&svc), None).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_value")
    );
    let (s, _) = app
        .call(Method::GET, &q("idle_gt=soon"), Some(&svc), None)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app
        .call(Method::GET, &q("colour=red"), Some(&svc), None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = app
        .call(Method::GET, &q("after=not-a-cursor"), Some(&svc), None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn privileges_per_role() {
    let app = spawn().await;
    let viewer = app.principal("v", "viewer", None).await;
    let service = app.principal("s", "service", None).await;
    let operator = app.principal("o", "operator", None).await;
    let (id, _) = app.register(&service, smb("alice", "10.0.0.1")).await;

    let forbidden = |r: (StatusCode, Value)| {
        assert_eq!(r.0, StatusCode::FORBIDDEN, "{}", r.1);
        assert_eq!(code(&r.1), "forbidden");
    };
    // viewer: read only.
    assert_eq!(
        app.call(Method::GET, "/sessions", Some(&viewer), None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        app.call(Method::GET, &format!("/sessions/{id}"), Some(&viewer), None)
            .await
            .0,
        StatusCode::OK
    );
    forbidden(
        app.call(
            Method::POST,
            "/sessions",
            Some(&viewer),
            Some(smb("x", "10.0.0.9")),
        )
        .await,
    );
    forbidden(
        app.call(
            Method::DELETE,
            &format!("/sessions/{id}"),
            Some(&viewer),
            None,
        )
        .await,
    );
    forbidden(
        app.call(
            Method::POST,
            "/sessions/terminate",
            Some(&viewer),
            Some(json!({"ids":[id]})),
        )
        .await,
    );
    forbidden(
        app.call(Method::GET, "/principals", Some(&viewer), None)
            .await,
    );
    // service: register but not terminate.
    forbidden(
        app.call(
            Method::DELETE,
            &format!("/sessions/{id}"),
            Some(&service),
            None,
        )
        .await,
    );
    forbidden(
        app.call(Method::GET, "/tenants", Some(&service), None)
            .await,
    );
    // operator: terminate but not register or administer.
    forbidden(
        app.call(
            Method::POST,
            "/sessions",
            Some(&operator),
            Some(smb("x", "10.0.0.9")),
        )
        .await,
    );
    forbidden(
        app.call(
            Method::POST,
            "/sessions/validate",
            Some(&operator),
            Some(json!({"token":"x"})),
        )
        .await,
    );
    forbidden(
        app.call(
            Method::POST,
            "/principals",
            Some(&operator),
            Some(json!({"name":"z","password":"password1","role":"admin"})),
        )
        .await,
    );
    forbidden(
        app.call(
            Method::POST,
            "/tenants",
            Some(&operator),
            Some(json!({"name":"z"})),
        )
        .await,
    );
    let (s, v) = app
        .call(
            Method::DELETE,
            &format!("/sessions/{id}"),
            Some(&operator),
            Some(json!({"reason":"left the company"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "terminated");
    assert_eq!(v["ended_by"], "o");
    assert_eq!(v["end_reason"], "left the company");
    let (s, v) = app
        .call(
            Method::DELETE,
            &format!("/sessions/{id}"),
            Some(&operator),
            None,
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "session_ended"));

    // A service principal may only modify its own sessions.
    let other_service = app.principal("s2", "service", None).await;
    let (id2, _) = app.register(&service, smb("bob", "10.0.0.2")).await;
    let (s, v) = app
        .call(
            Method::POST,
            &format!("/sessions/{id2}/close"),
            Some(&other_service),
            None,
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "session_not_found"));
}

#[tokio::test]
async fn another_tenants_session_is_exactly_not_found() {
    let app = spawn().await;
    app.tenant("acme").await;
    let acme_svc = app.principal("acme-svc", "service", Some("acme")).await;
    let acme_op = app.principal("acme-op", "operator", Some("acme")).await;
    let default_op = app.principal("def-op", "operator", None).await;
    let (acme_id, _) = app.register(&acme_svc, smb("carol", "10.9.0.1")).await;
    let missing = "01KZZZZZZZZZZZZZZZZZZZZZZZ";

    let (s1, v1) = app
        .call(
            Method::GET,
            &format!("/sessions/{acme_id}"),
            Some(&default_op),
            None,
        )
        .await;
    let (s2, v2) = app
        .call(
            Method::GET,
            &format!("/sessions/{missing}"),
            Some(&default_op),
            None,
        )
        .await;
    assert_eq!(
        (s1, &v1),
        (s2, &v2),
        "foreign and missing answer identically"
    );
    assert_eq!(s1, StatusCode::NOT_FOUND);
    let (s, _) = app
        .call(
            Method::DELETE,
            &format!("/sessions/{acme_id}"),
            Some(&default_op),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, v) = app
        .call(
            Method::POST,
            "/sessions/terminate",
            Some(&default_op),
            Some(json!({"ids":[acme_id, missing]})),
        )
        .await;
    assert_eq!(v["terminated"], 0);
    assert_eq!(v["results"][0]["error"], "session_not_found");
    assert_eq!(v["results"][0]["error"], v["results"][1]["error"]);
    let (_, v) = app
        .call(
            Method::GET,
            "/sessions?service=smb",
            Some(&default_op),
            None,
        )
        .await;
    assert_eq!(v["items"], json!([]));
    let (s, _) = app
        .call(
            Method::GET,
            "/sessions?tenant=acme",
            Some(&default_op),
            None,
        )
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "a non-admin cannot name another tenant"
    );
    let (s, _) = app
        .call(Method::GET, "/sessions?tenant=*", Some(&default_op), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The acme operator sees and may end it; the default admin may read any tenant.
    let (_, v) = app
        .call(Method::GET, "/sessions?service=smb", Some(&acme_op), None)
        .await;
    assert_eq!(v["items"][0]["id"], acme_id.as_str());
    let (_, v) = app
        .call(
            Method::GET,
            "/sessions?tenant=*&service=smb",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(v["items"].as_array().map(Vec::len), Some(1));
    let (_, v) = app
        .call(
            Method::GET,
            "/sessions?tenant=acme&service=smb",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(v["items"].as_array().map(Vec::len), Some(1));
    let (s, _) = app
        .call(
            Method::DELETE,
            &format!("/sessions/{acme_id}"),
            Some(&acme_op),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn bulk_terminate_modes_dry_run_and_confirm() {
    let app = spawn().await;
    let svc = app.principal("svc", "service", None).await;
    let op = app.principal("op", "operator", None).await;
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(
            app.register(&svc, smb("dave", &format!("10.5.0.{i}")))
                .await
                .0,
        );
    }
    let bad = "01KZZZZZZZZZZZZZZZZZZZZZZZ";
    // stop_on_error: [0, bad, 1] → 0 terminated, bad not found, 1 not attempted.
    let (s, v) = app
        .call(
            Method::POST,
            "/sessions/terminate",
            Some(&op),
            Some(json!({"ids":[ids[0], bad, ids[1]], "mode":"stop_on_error"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["terminated"], 1);
    assert_eq!(v["results"][1]["error"], "session_not_found");
    assert_eq!(v["results"][2]["error"], "not_attempted");
    // all_or_nothing: [2, bad] → nothing.
    let (_, v) = app
        .call(
            Method::POST,
            "/sessions/terminate",
            Some(&op),
            Some(json!({"ids":[ids[2], bad], "mode":"all_or_nothing"})),
        )
        .await;
    assert_eq!(v["terminated"], 0);
    assert_eq!(v["results"][0]["error"], "not_attempted");
    // best_effort: [1, bad, 0(ended)] → 1 ended.
    let (_, v) = app
        .call(
            Method::POST,
            "/sessions/terminate",
            Some(&op),
            Some(json!({"ids":[ids[1], bad, ids[0]], "reason":"cleanup"})),
        )
        .await;
    assert_eq!(v["terminated"], 1);
    assert_eq!(v["results"][2]["error"], "session_ended");

    // Dry run by filter, then a session registered after the preview is not ended.
    let filter = json!({"identity":"dave","originator":"10.5.0.0/24"});
    let (_, preview) = app
        .call(
            Method::POST,
            "/sessions/terminate",
            Some(&op),
            Some(json!({"filter": filter, "dry_run": true})),
        )
        .await;
    assert_eq!(preview["would_terminate"], 4, "{preview}");
    let late = app.register(&svc, smb("dave", "10.5.0.99")).await.0;
    let confirm = preview["confirm"].as_str().expect("confirm").to_string();
    let (s, v) = app
        .call(
            Method::POST,
            "/sessions/terminate",
            Some(&op),
            Some(json!({"filter": {"identity":"dave"}, "confirm": confirm})),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, "confirm_mismatch"));
    let (s, v) = app
        .call(
            Method::POST,
            "/sessions/terminate",
            Some(&op),
            Some(json!({"filter": filter, "confirm": confirm, "limit": 3})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["terminated"].as_u64(), v["remaining"].as_u64()),
        (Some(3), Some(1))
    );
    assert!(v["next"].is_string());
    let (_, v) = app
        .call(
            Method::POST,
            "/sessions/terminate",
            Some(&op),
            Some(json!({"filter": filter, "confirm": confirm, "limit": 3, "after": v["next"]})),
        )
        .await;
    assert_eq!(
        (v["terminated"].as_u64(), v["remaining"].as_u64()),
        (Some(1), Some(0))
    );
    let (_, v) = app
        .call(Method::GET, &format!("/sessions/{late}"), Some(&op), None)
        .await;
    assert_eq!(
        v["state"], "active",
        "registered after the preview: untouched"
    );

    // Shapes that make no sense are 422.
    let (s, _) = app
        .call(
            Method::POST,
            "/sessions/terminate",
            Some(&op),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app
        .call(
            Method::POST,
            "/sessions/terminate",
            Some(&op),
            Some(json!({"ids": [], "filter": {}})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app
        .call(
            Method::POST,
            "/sessions/terminate",
            Some(&op),
            Some(json!({"ids": [ids[3]], "mode": "sometimes"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn malformed_bodies_get_clear_errors() {
    let app = spawn().await;
    let svc = app.principal("svc", "service", None).await;
    let raw = |body: &'static str, ct: &'static str| {
        app.http
            .post(app.url("/sessions"))
            .bearer_auth(&svc)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let r = raw("{\"service\": ", "application/json")
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.expect("json error body");
    assert_eq!(code(&v), "bad_request");
    let r = raw("{\"service\": 5, \"user\": {}}", "application/json")
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = raw(
        "{\"service\":\"smb\",\"user\":{\"name\":\"a\"}}",
        "text/plain",
    )
    .await
    .expect("send");
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let v: Value = r.json().await.expect("json error body");
    assert_eq!(code(&v), "unsupported_media_type");

    let (s, v) = app
        .call(
            Method::POST,
            "/sessions",
            Some(&svc),
            Some(json!({"service":"SMB!","user":{"name":"a"}})),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_value")
    );
    let (s, _) = app
        .call(
            Method::POST,
            "/sessions",
            Some(&svc),
            Some(json!({"service":"smb","user":{}})),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a user needs some identity"
    );
    let (s, _) = app
        .call(
            Method::POST,
            "/sessions",
            Some(&svc),
            Some(json!({"service":"smb","user":{"name":"a"},"colour":"red"})),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown fields are refused"
    );

    // Over the 8 MiB limit: 413 in the native format.
    let big = format!(
        "{{\"service\":\"smb\",\"user\":{{\"name\":\"{}\"}}}}",
        "a".repeat(9 * 1024 * 1024)
    );
    let r = app
        .http
        .post(app.url("/sessions"))
        .bearer_auth(&svc)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let v: Value = r.json().await.expect("json error body");
    assert_eq!(code(&v), "payload_too_large");

    // Unknown routes and methods answer in the native format too.
    let (s, v) = app.call(Method::GET, "/nope", Some(&svc), None).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "route_not_found"));
    let (s, v) = app.call(Method::PUT, "/sessions", Some(&svc), None).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
    let (s, v) = app
        .call(Method::GET, "/sessions/not-an-id", Some(&svc), None)
        .await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "session_not_found"));

    // Nothing above registered a session.
    let (_, v) = app
        .call(Method::GET, "/sessions?service=smb", Some(&app.admin), None)
        .await;
    assert_eq!(v["items"], json!([]));
}

#[tokio::test]
async fn principals_and_tenants_admin() {
    let app = spawn().await;
    let (s, v) = app
        .call(
            Method::POST,
            "/tenants",
            Some(&app.admin),
            Some(json!({"name":"acme"})),
        )
        .await;
    assert_eq!(
        (s, v["id"].as_u64(), v["name"].as_str()),
        (StatusCode::CREATED, Some(2), Some("acme"))
    );
    let (s, _) = app
        .call(
            Method::POST,
            "/tenants",
            Some(&app.admin),
            Some(json!({"name":"acme"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = app
        .call(
            Method::POST,
            "/tenants",
            Some(&app.admin),
            Some(json!({"name":"Bad Name"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, v) = app
        .call(
            Method::POST,
            "/principals",
            Some(&app.admin),
            Some(json!({"name":"ops","password":"long-enough","role":"operator","tenant":"acme"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(
        v,
        json!({"name":"ops","role":"operator","tenant":"acme","disabled":false})
    );
    let (s, _) = app
        .call(
            Method::POST,
            "/principals",
            Some(&app.admin),
            Some(json!({"name":"ops","password":"long-enough","role":"viewer"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "names are unique across tenants");
    let (s, _) = app
        .call(
            Method::POST,
            "/principals",
            Some(&app.admin),
            Some(json!({"name":"short","password":"x","role":"viewer"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, v) = app
        .call(Method::GET, "/principals", Some(&app.admin), None)
        .await;
    assert!(
        !v.to_string().contains("argon2"),
        "hashes never leave the server"
    );

    // Disabling a principal ends its logins at once.
    let ops = app.login("ops", "long-enough").await;
    assert_eq!(
        app.call(Method::GET, "/sessions", Some(&ops), None).await.0,
        StatusCode::OK
    );
    let (s, v) = app
        .call(
            Method::PATCH,
            "/principals/ops",
            Some(&app.admin),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        app.call(Method::GET, "/sessions", Some(&ops), None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (_, v) = app
        .call(
            Method::GET,
            "/sessions?tenant=acme&service=sessiond&state=all",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(v["items"][0]["state"], "terminated");
    assert_eq!(v["items"][0]["end_reason"], "principal disabled");
    let (s, _) = app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username":"ops","password":"long-enough"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = app
        .call(Method::GET, "/principals/nobody", Some(&app.admin), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn repeated_bad_logins_are_rate_limited() {
    let app = spawn().await;
    let mut last = StatusCode::OK;
    for _ in 0..8 {
        last = app
            .call(
                Method::POST,
                "/auth/login",
                None,
                Some(json!({"username":"admin","password":"wrong"})),
            )
            .await
            .0;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    let r = app
        .http
        .post(app.url("/auth/login"))
        .json(&json!({"username":"admin","password":ADMIN_PW}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("retry-after").is_some());
    app.clock.advance(Duration::from_secs(600));
    let (s, _) = app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username":"admin","password":ADMIN_PW})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "the backoff ends");
}

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn().await;
    let r = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .http
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn access_keys_are_shown_once_listed_without_secrets_and_admin_only() {
    let app = spawn().await;
    app.tenant("acme").await;
    let op = app.principal("dds-op", "operator", Some("acme")).await;
    let (s, v) = app
        .call(
            Method::POST,
            "/principals/dds-op/access-keys",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let ak = v["access_key"].as_str().expect("ak").to_string();
    let sk = v["secret_key"].as_str().expect("sk").to_string();
    assert_eq!((ak.len(), sk.len()), (20, 40));
    let (s, v) = app
        .call(
            Method::GET,
            "/principals/dds-op/access-keys",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["items"][0]["access_key"], ak.as_str());
    assert!(
        !v.to_string().contains(&sk),
        "a listing never shows the secret"
    );
    // Only admins manage keys; an unknown principal is 404.
    let (s, v) = app
        .call(
            Method::POST,
            "/principals/dds-op/access-keys",
            Some(&op),
            None,
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
    let (s, v) = app
        .call(
            Method::GET,
            "/principals/ghost/access-keys",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::NOT_FOUND, "principal_not_found")
    );
    // The registry resolves the key to its principal and secret (what a signed request needs).
    let (caller, secret) = app.registry.access_key_caller(&ak).await.expect("resolves");
    assert_eq!(
        (caller.principal.as_str(), secret.as_slice()),
        ("dds-op", sk.as_bytes())
    );
    let (s, _) = app
        .call(
            Method::POST,
            "/principals/dds-op/access-keys",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = app
        .call(
            Method::POST,
            "/principals/dds-op/access-keys",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, "conflict"),
        "at most two keys"
    );
    let (s, _) = app
        .call(
            Method::DELETE,
            &format!("/principals/dds-op/access-keys/{ak}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = app
        .call(
            Method::DELETE,
            &format!("/principals/dds-op/access-keys/{ak}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::NOT_FOUND, "access_key_not_found")
    );
    assert!(
        app.registry.access_key_caller(&ak).await.is_err(),
        "a deleted key no longer signs"
    );
}

/// The current-operation filters of the native list (the DDS query: a node's `mongodb`
/// sessions running a query for longer than some time), driven by the manual clock:
/// `op_running_gt=D` means started strictly more than `D` ago.
#[tokio::test]
async fn list_filters_on_the_current_operation() {
    let app = spawn().await;
    let svc = app.principal("svc-ops", "service", None).await;
    let body = |node: &str, service: &str, activity: Value| {
        let mut b = json!({"service": service, "node_id": node, "originator": "10.9.0.1",
                           "user": {"domain": "LOCAL", "name": "app"}});
        if !activity.is_null() {
            b["activity"] = activity;
        }
        b
    };
    // The manual clock starts at 2026-11-23T00:00:00Z.
    let op = |t: &str, started: Option<&str>| {
        let mut a = json!({"operation": "query", "type": t, "namespace": "shop.orders",
                           "db": "shop", "plan_summary": "COLLSCAN"});
        if let Some(s) = started {
            a["started_at"] = json!(s);
        }
        a
    };
    let mut id = std::collections::BTreeMap::new();
    for (key, node, service, activity) in [
        (
            "at_t0",
            "node-1",
            "mongodb",
            op("query", Some("2026-11-23T00:00:00Z")),
        ),
        (
            "at_500us",
            "node-1",
            "mongodb",
            op("query", Some("2026-11-23T00:00:00.000500Z")),
        ),
        (
            "update",
            "node-1",
            "mongodb",
            op("update", Some("2026-11-23T00:00:00Z")),
        ),
        (
            "upper",
            "node-1",
            "mongodb",
            op("Query", Some("2026-11-23T00:00:00Z")),
        ),
        ("no_start", "node-1", "mongodb", op("query", None)),
        ("idle", "node-1", "mongodb", Value::Null),
        (
            "node_2",
            "node-2",
            "mongodb",
            op("query", Some("2026-11-23T00:00:00Z")),
        ),
        (
            "smb",
            "node-1",
            "smb",
            op("query", Some("2026-11-23T00:00:00Z")),
        ),
    ] {
        let (sid, _) = app.register(&svc, body(node, service, activity)).await;
        id.insert(key, sid);
    }
    let list = |query: String| {
        let app = &app;
        let svc = svc.clone();
        async move {
            let (s, v) = app
                .call(Method::GET, &format!("/sessions?{query}"), Some(&svc), None)
                .await;
            assert_eq!(s, StatusCode::OK, "{query}: {v}");
            let mut got: Vec<String> = v["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|s| s["id"].as_str().unwrap_or("").to_string())
                .collect();
            got.sort();
            got
        }
    };
    let want = |keys: &[&str]| {
        let mut v: Vec<String> = keys.iter().map(|k| id[k].clone()).collect();
        v.sort();
        v
    };
    let dds = "service=mongodb&node_id=node-1&op_active=true&op_type=query";
    let running = |d: &str| format!("{dds}&op_running_gt={d}");

    // At 00:00:00 nothing has run for a millisecond yet.
    assert_eq!(list(running("1ms")).await, want(&[]));
    assert_eq!(
        list(dds.to_string()).await,
        want(&["at_t0", "at_500us", "no_start"]),
        "exact, case-sensitive type; any start"
    );
    // At 00:00:00.001 the first query has run exactly 1ms: not longer than 1ms.
    app.clock.advance(Duration::from_millis(1));
    assert_eq!(list(running("1ms")).await, want(&[]));
    app.clock.advance(Duration::from_micros(1));
    assert_eq!(list(running("1ms")).await, want(&["at_t0"]));
    assert_eq!(
        list(running("500us")).await,
        want(&["at_t0", "at_500us"]),
        "the later query has run 501µs"
    );
    app.clock.advance(Duration::from_secs(60));
    assert_eq!(list(running("1ms")).await, want(&["at_t0", "at_500us"]));
    assert_eq!(list(running("1m")).await, want(&["at_t0", "at_500us"]));
    assert_eq!(list(running("2m")).await, want(&[]));
    // Without the node, the service or the type, other sessions qualify; idle ones never.
    assert_eq!(
        list("service=mongodb&op_active=true&op_type=query&op_running_gt=1ms".into()).await,
        want(&["at_t0", "at_500us", "node_2"])
    );
    assert_eq!(
        list("node_id=node-1&op_type=query&op_running_gt=1ms".into()).await,
        want(&["at_t0", "at_500us", "smb"])
    );
    assert_eq!(
        list("service=mongodb&node_id=node-1&op_running_gt=1ms".into()).await,
        want(&["at_t0", "at_500us", "update", "upper"])
    );
    assert_eq!(
        list("service=mongodb&node_id=node-1&op_active=false".into()).await,
        want(&["idle"])
    );
    assert_eq!(
        list(
            "service=mongodb&node_id=node-1&op_namespace=shop.orders&op_plan_summary=COLLSCAN\
             &op_type=update"
                .into()
        )
        .await,
        want(&["update"])
    );
    assert_eq!(
        list("service=mongodb&op_plan_summary=collscan".into()).await,
        want(&[])
    );
    // An operation that ends (its activity cleared) leaves the list.
    let (s, v) = app
        .call(
            Method::PATCH,
            &format!("/sessions/{}", id["at_t0"]),
            Some(&svc),
            Some(json!({"activity": null})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(list(running("1ms")).await, want(&["at_500us"]));

    // Bad values are 422, naming the parameter.
    for bad in ["op_running_gt=soon", "op_running_gt=-1ms", "op_running_gt="] {
        let (s, v) = app
            .call(
                Method::GET,
                &format!("/sessions?{dds}&{bad}"),
                Some(&svc),
                None,
            )
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_value"),
            "{bad}: {v}"
        );
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("op_running_gt"),
            "{bad}: {v}"
        );
    }
    let (s, _) = app
        .call(
            Method::GET,
            "/sessions?service=mongodb&op_active=maybe",
            Some(&svc),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_role_change_applies_to_the_next_call() {
    let app = spawn().await;
    let op = app.principal("shifty", "operator", None).await;
    let svc = app.principal("svc", "service", None).await;
    let (id, _) = app.register(&svc, smb("eve", "10.0.0.5")).await;
    // The first call caches the principal; the change below must still apply at once.
    assert_eq!(
        app.call(Method::GET, "/sessions", Some(&op), None).await.0,
        StatusCode::OK
    );
    let (s, _) = app
        .call(
            Method::PATCH,
            "/principals/shifty",
            Some(&app.admin),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = app
        .call(Method::DELETE, &format!("/sessions/{id}"), Some(&op), None)
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
}
