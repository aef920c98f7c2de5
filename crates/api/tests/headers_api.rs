//! Headers every dialect's answers carry: nosniff and no-store (answers that carry a token
//! or a secret above all), HSTS only when served over TLS; static assets keep their own
//! caching.

mod common;

use common::{spawn, spawn_with, ADMIN_PW};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn answers_with_tokens_and_secrets_are_never_cached() {
    let app = spawn().await;
    let checks = [
        // native login (a token), a registration (a token), an access key (a secret)
        (
            "POST",
            "/api/v1/auth/login".to_string(),
            Some(json!({"username": "admin", "password": ADMIN_PW})),
            None,
        ),
        (
            "POST",
            "/api/v1/sessions".to_string(),
            Some(json!({"service": "smb", "user": {"name": "a"}})),
            Some(app.admin.clone()),
        ),
        (
            "POST",
            "/api/v1/principals/admin/access-keys".to_string(),
            None,
            Some(app.admin.clone()),
        ),
        // Qumulo's login (a bearer token), and an error answer
        (
            "POST",
            "/v1/session/login".to_string(),
            Some(json!({"username": "admin", "password": ADMIN_PW})),
            None,
        ),
        ("GET", "/api/v1/sessions".to_string(), None, None),
    ];
    for (method, path, body, token) in checks {
        let mut rb = app.http.request(
            method.parse().expect("method"),
            format!("{}{path}", app.base),
        );
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        let r = rb.send().await.expect("send");
        let h = r.headers();
        assert_eq!(h["cache-control"], "no-store", "{method} {path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{method} {path}");
        assert!(
            h.get("strict-transport-security").is_none(),
            "no HSTS over plain HTTP: {method} {path}"
        );
    }
    // Static assets keep their own caching.
    let r = app
        .http
        .get(format!("{}/console/assets/console.css", app.base))
        .send()
        .await
        .expect("asset");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "public, max-age=300");
}

#[tokio::test]
async fn hsts_when_served_over_tls() {
    let app = spawn_with(|st| st.tls = true).await;
    for path in [
        "/healthz",
        "/api/v1/sessions",
        "/console/login",
        "/no/such/path",
    ] {
        let r = app
            .http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .expect("get");
        assert_eq!(
            r.headers()["strict-transport-security"],
            "max-age=31536000",
            "{path}"
        );
    }
}

/// A login from `addr` (through the trusted loopback proxy); its status and Retry-After.
async fn login_from(
    app: &common::TestApp,
    addr: &str,
    name: &str,
    password: &str,
) -> (StatusCode, Option<String>) {
    let r = app
        .http
        .post(format!("{}/api/v1/auth/login", app.base))
        .header("x-forwarded-for", addr)
        .json(&json!({"username": name, "password": password}))
        .send()
        .await
        .expect("login");
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (r.status(), retry)
}

#[tokio::test]
async fn failed_logins_are_throttled_per_client_address_whatever_the_names() {
    let app = spawn_with(|st| {
        st.trusted_proxies = std::sync::Arc::new(vec!["127.0.0.1/32".parse().expect("net")])
    })
    .await;
    let per_address = app.registry.config().login_failures_per_address;
    let (attacker, user) = ("198.51.100.1", "198.51.100.2");
    // A spray of made-up names from one address, one of them shaped like the other
    // address's throttle key.
    for i in 0..per_address {
        let name = if i == 0 {
            format!("addr:{user}")
        } else {
            format!("nobody{i}")
        };
        let (s, _) = login_from(&app, attacker, &name, "guess-password").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // Now that address backs off, even with a right password…
    let (s, retry) = login_from(&app, attacker, "admin", ADMIN_PW).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry.is_some_and(|r| r.parse::<u64>().is_ok_and(|n| n >= 1)));
    // …while another address logs in: no name it used failed, nor did it.
    let (s, _) = login_from(&app, user, "admin", ADMIN_PW).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn logins_and_refusals_are_audited_with_address_and_way_in() {
    let app = spawn_with(|st| {
        st.trusted_proxies = std::sync::Arc::new(vec!["127.0.0.1/32".parse().expect("net")])
    })
    .await;
    let from = "198.51.100.20";
    let (s, _) = login_from(&app, from, "admin", "wrong-password").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = login_from(&app, from, "my password typed here!", "x").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = login_from(&app, from, "admin", ADMIN_PW).await;
    assert_eq!(s, StatusCode::OK);
    let r = app
        .http
        .post(format!("{}/v1/session/login", app.base))
        .header("x-forwarded-for", from)
        .json(&json!({"username": "admin", "password": ADMIN_PW}))
        .send()
        .await
        .expect("qumulo login");
    assert_eq!(r.status(), StatusCode::OK);
    let audit = app
        .registry
        .store()
        .list_audit(&sessiond_core::filter::TenantScope::All, 50)
        .await
        .expect("audit");
    let logins: Vec<(String, String, Option<String>, Option<String>)> = audit
        .iter()
        .filter(|a| a.action.starts_with("login") && a.origin.as_deref() == Some(from))
        .map(|a| {
            (
                a.action.clone(),
                a.actor.clone(),
                a.origin.clone(),
                a.detail.clone(),
            )
        })
        .collect();
    let via = |w: &str| Some(format!("via {w}"));
    let at = Some(from.to_string());
    // Newest first.
    assert_eq!(
        logins,
        vec![
            ("login".into(), "admin".into(), at.clone(), via("qumulo")),
            ("login".into(), "admin".into(), at.clone(), via("native")),
            (
                "login.failed".into(),
                "(not a principal name)".into(),
                at.clone(),
                via("native")
            ),
            (
                "login.failed".into(),
                "admin".into(),
                at.clone(),
                via("native")
            ),
        ]
    );
    // A login's record names the login session it opened; no record holds a password.
    assert!(audit
        .iter()
        .all(|a| !format!("{a:?}").contains("wrong-password")));
}
