//! The console over HTTP without a browser: its cookie and CSRF rules, its headers, roles and
//! tenant scope exactly as in the API, the list parameters under their native names, and the
//! admin forms (secrets shown once). The browser tests (crates/server/tests/console_browser.rs)
//! drive the same pages in chromium.

mod common;

use common::{assert_active, smb, spawn, state_of, TestApp, ADMIN_PW};
use reqwest::header::{HeaderMap, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Response, StatusCode};

/// A browser-like client of the console: no redirects followed, cookies kept by hand.
struct Console<'a> {
    app: &'a TestApp,
    http: reqwest::Client,
    cookie: String,
    csrf: String,
}

fn set_cookies(h: &HeaderMap) -> Vec<String> {
    h.get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().expect("ascii").to_string())
        .collect()
}

/// `name=value` of a Set-Cookie.
fn cookie_pair(set: &str) -> String {
    set.split(';').next().expect("pair").to_string()
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = text.find(start)? + start.len();
    let j = text[i..].find(end)? + i;
    Some(&text[i..j])
}

async fn login_form(app: &TestApp, http: &reqwest::Client) -> (String, String) {
    let r = http
        .get(format!("{}/console/login", app.base))
        .send()
        .await
        .expect("login page");
    assert_eq!(r.status(), StatusCode::OK);
    let c = set_cookies(r.headers());
    let login_cookie = cookie_pair(
        c.iter()
            .find(|c| c.starts_with("sessiond_console_login="))
            .expect("login cookie"),
    );
    let body = r.text().await.expect("body");
    let nonce = between(&body, r#"name="login_csrf" value=""#, "\"")
        .expect("nonce")
        .to_string();
    (login_cookie, nonce)
}

impl<'a> Console<'a> {
    async fn login(app: &'a TestApp, user: &str, pw: &str) -> Console<'a> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let (login_cookie, nonce) = login_form(app, &http).await;
        let r = http
            .post(format!("{}/console/login", app.base))
            .header(COOKIE, &login_cookie)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("username", user)
                    .append_pair("password", pw)
                    .append_pair("login_csrf", &nonce)
                    .append_pair("next", "/console/sessions")
                    .finish(),
            )
            .send()
            .await
            .expect("login");
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "login {user}");
        assert_eq!(r.headers()[LOCATION], "/console/sessions");
        let set = set_cookies(r.headers());
        let session = set
            .iter()
            .find(|c| c.starts_with("sessiond_console="))
            .expect("session cookie");
        assert!(session.contains("HttpOnly"), "{session}");
        assert!(session.contains("SameSite=Strict"), "{session}");
        assert!(session.contains("Path=/console"), "{session}");
        let mut c = Console {
            app,
            http,
            cookie: cookie_pair(session),
            csrf: String::new(),
        };
        let page = c.get("/console/sessions").await.text().await.expect("page");
        c.csrf = between(&page, r#""x-csrf-token":""#, "\"")
            .expect("csrf token on the page")
            .to_string();
        c
    }

    async fn get(&self, path: &str) -> Response {
        self.http
            .get(format!("{}{path}", self.app.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .expect("get")
    }

    async fn post(&self, path: &str, form: &[(&str, &str)], csrf: Option<&str>) -> Response {
        let mut body = form_urlencoded::Serializer::new(String::new());
        for (k, v) in form {
            body.append_pair(k, v);
        }
        let mut rb = self
            .http
            .post(format!("{}{path}", self.app.base))
            .header(COOKIE, &self.cookie)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(t) = csrf {
            rb = rb.header("x-csrf-token", t);
        }
        rb.body(body.finish()).send().await.expect("post")
    }

    async fn text(&self, path: &str) -> (StatusCode, String) {
        let r = self.get(path).await;
        (r.status(), r.text().await.expect("body"))
    }
}

fn row_ids(html: &str) -> Vec<String> {
    html.split(r#"<tr data-id=""#)
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn pages_need_a_login_and_carry_the_security_headers() {
    let app = spawn().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for path in ["/console/", "/console/sessions", "/console/admin"] {
        let r = http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .expect("get");
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.headers()[LOCATION], "/console/login", "{path}");
    }
    // A cookie that is not a live login session is no login.
    let r = http
        .get(format!("{}/console/sessions", app.base))
        .header(COOKIE, "sessiond_console=not-a-token")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    let r = http
        .get(format!("{}/console/login", app.base))
        .send()
        .await
        .expect("get");
    let h = r.headers();
    let csp = h["content-security-policy"].to_str().expect("csp");
    assert!(csp.starts_with("default-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "no-store");
    let body = r.text().await.expect("body");
    assert!(body.contains(r#"name="username""#) && body.contains(r#"name="password""#));
    assert!(
        !body.contains("http://") && !body.contains("https://"),
        "{body}"
    );

    // The assets are served from the binary.
    for a in ["htmx.min.js", "console.js", "console.css"] {
        let r = http
            .get(format!("{}/console/assets/{a}", app.base))
            .send()
            .await
            .expect("asset");
        assert_eq!(r.status(), StatusCode::OK, "{a}");
    }
    let r = http
        .get(format!("{}/console/assets/..%2FCargo.toml", app.base))
        .send()
        .await
        .expect("asset");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn login_needs_the_forms_nonce_and_the_right_password() {
    let app = spawn().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let (login_cookie, nonce) = login_form(&app, &http).await;
    let post = |cookie: Option<String>, nonce: &str, pw: &str| {
        let mut rb = http
            .post(format!("{}/console/login", app.base))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(format!("username=admin&password={pw}&login_csrf={nonce}"));
        if let Some(c) = cookie {
            rb = rb.header(COOKIE, c);
        }
        rb.send()
    };
    // Without the login page's cookie (a cross-site form), no login.
    let r = post(None, &nonce, ADMIN_PW).await.expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(set_cookies(r.headers())
        .iter()
        .all(|c| !c.starts_with("sessiond_console=")));
    let r = post(Some(login_cookie.clone()), "wrong", ADMIN_PW)
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = post(Some(login_cookie.clone()), &nonce, "bad-password")
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body = r.text().await.expect("body");
    assert!(body.contains("wrong name or password"), "{body}");
    let r = post(Some(login_cookie), &nonce, ADMIN_PW)
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/console/");
}

#[tokio::test]
async fn the_console_login_is_a_sessiond_login_session_and_logout_ends_it() {
    let app = spawn().await;
    let c = Console::login(&app, "admin", ADMIN_PW).await;
    let token = c.cookie.trim_start_matches("sessiond_console=").to_string();
    // The same token authenticates the native API: it is a login session.
    let (s, who) = app
        .call(reqwest::Method::GET, "/auth/whoami", Some(&token), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{who}");
    let sid = who["session_id"].as_str().expect("session id").to_string();
    assert_eq!(state_of(&app, &sid).await.0, "active");
    // Logout needs the CSRF token.
    let r = c.post("/console/logout", &[], None).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = c.post("/console/logout", &[("csrf", &c.csrf)], None).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(set_cookies(r.headers())
        .iter()
        .any(|s| s.starts_with("sessiond_console=;")));
    assert_eq!(state_of(&app, &sid).await.0, "closed");
    let r = c.get("/console/sessions").await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "the cookie no longer works"
    );
}

#[tokio::test]
async fn lists_take_the_native_parameters_and_scope() {
    let app = spawn().await;
    app.tenant("acme").await;
    app.principal("acme-op", "operator", Some("acme")).await;
    let (alice, _) = app.register(&app.admin, smb("alice", "10.0.0.1")).await;
    let (bob, _) = app.register(&app.admin, smb("bob", "10.9.0.1")).await;
    let mut body = smb("dave", "10.0.0.2");
    body["tenant"] = serde_json::json!("acme");
    let (dave, _) = app.register(&app.admin, body).await;

    let c = Console::login(&app, "admin", ADMIN_PW).await;
    let (s, page) = c.text("/console/sessions?service=smb").await;
    assert_eq!(s, StatusCode::OK);
    let ids = row_ids(&page);
    assert!(
        ids.contains(&alice) && ids.contains(&bob) && !ids.contains(&dave),
        "{ids:?}"
    );
    assert!(page.contains(&format!(r#"href="/console/sessions/{alice}""#)));
    assert!(
        page.contains(r"ACTIVE_DIRECTORY\alice"),
        "users as DOMAIN\\name"
    );
    let (_, page) = c
        .text("/console/sessions?originator=10.0.0.0%2F16&identity=")
        .await;
    assert_eq!(
        row_ids(&page),
        vec![alice.clone()],
        "empty fields are no filter"
    );
    let (_, page) = c
        .text("/console/sessions?tenant=*&originator=10.0.0.0%2F16")
        .await;
    let ids = row_ids(&page);
    assert!(ids.contains(&alice) && ids.contains(&dave), "{ids:?}");
    let (_, page) = c.text("/console/sessions?tenant=acme&service=smb").await;
    assert_eq!(row_ids(&page), vec![dave.clone()]);
    // Keyset paging: a next link with the filter and `after`.
    let (_, page) = c.text("/console/sessions?service=smb&limit=1").await;
    assert_eq!(row_ids(&page).len(), 1, "{page}");
    let end = page.find(r#"" rel="next""#).expect("next link");
    let start = page[..end].rfind(r#"href=""#).expect("href") + 6;
    let next = page[start..end].replace("&amp;", "&").replace("&#38;", "&");
    assert!(next.starts_with("/console/sessions?"), "{next}");
    assert!(
        next.contains("service=smb") && next.contains("after="),
        "{next}"
    );
    let (_, page2) = c.text(&next).await;
    assert_eq!(row_ids(&page2).len(), 1);
    assert_ne!(row_ids(&page2), row_ids(&page));
    // A bad identity is shown next to the filter, as the API words it.
    let (s, page) = c.text("/console/sessions?identity=sid%3A").await;
    let (api_s, api) = app
        .call(
            reqwest::Method::GET,
            "/sessions?identity=sid:",
            Some(&app.admin),
            None,
        )
        .await;
    assert!(api_s.is_client_error(), "{api}");
    assert_eq!(s, api_s);
    let msg = api["error"]["message"].as_str().expect("message");
    assert!(
        page.contains(&msg.replace('"', "&#34;")) || page.contains(msg),
        "{msg}"
    );
    // An unknown parameter is refused as the API refuses it.
    let (s, _) = c.text("/console/sessions?colour=red").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // The tenant's operator sees its tenant only; another tenant's session is not found.
    let op = Console::login(&app, "acme-op", "password-of-acme-op").await;
    let (_, page) = op.text("/console/sessions?service=smb").await;
    assert_eq!(row_ids(&page), vec![dave.clone()]);
    let (_, page) = op.text("/console/sessions?tenant=*").await;
    assert!(
        row_ids(&page).is_empty(),
        "no other tenant, even asked for all"
    );
    let (s, _) = op.text(&format!("/console/sessions/{alice}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = op.text("/console/sessions/not-an-id").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let r = op
        .post(
            "/console/sessions/terminate",
            &[("id", &alice)],
            Some(&op.csrf),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.expect("body").contains("not found"));
    assert_active(&app, &[&alice]).await;
    let (s, page) = op.text(&format!("/console/sessions/{dave}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("terminate-one"));
}

#[tokio::test]
async fn ending_needs_the_privilege_and_the_csrf_token() {
    let app = spawn().await;
    app.principal("watcher", "viewer", None).await;
    let (alice, _) = app.register(&app.admin, smb("alice", "10.0.0.1")).await;
    let (bob, _) = app.register(&app.admin, smb("bob", "10.0.0.2")).await;

    let v = Console::login(&app, "watcher", "password-of-watcher").await;
    let (_, page) = v.text("/console/sessions").await;
    assert!(row_ids(&page).contains(&alice));
    assert!(!page.contains("terminate-selected") && !page.contains(r#"name="id""#));
    let r = v
        .post(
            "/console/sessions/terminate",
            &[("id", &alice)],
            Some(&v.csrf),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = v
        .post(
            "/console/sessions/preview",
            &[("query", "service=smb")],
            Some(&v.csrf),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_active(&app, &[&alice]).await;

    let c = Console::login(&app, "admin", ADMIN_PW).await;
    // No token, a wrong one, or another session's: refused, nothing ended.
    for t in [None, Some("0".repeat(64)), Some(v.csrf.clone())] {
        let r = c
            .post(
                "/console/sessions/terminate",
                &[("id", &alice)],
                t.as_deref(),
            )
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{t:?}");
    }
    assert_active(&app, &[&alice]).await;
    // Not a form: refused.
    let r = c
        .http
        .post(format!("{}/console/sessions/terminate", app.base))
        .header(COOKIE, &c.cookie)
        .header("x-csrf-token", &c.csrf)
        .header(CONTENT_TYPE, "application/json")
        .body(format!(r#"{{"id":"{alice}"}}"#))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // The token as a form field works like the header.
    let r = c
        .post(
            "/console/sessions/terminate",
            &[("id", &alice), ("reason", "left"), ("csrf", &c.csrf)],
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await.expect("body");
    assert!(body.contains("terminated"), "{body}");
    let (s, v_) = app
        .call(
            reqwest::Method::GET,
            &format!("/sessions/{alice}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v_["state"], "terminated");
    assert_eq!(v_["end_reason"], "left");
    assert_eq!(v_["ended_by"], "admin");
    // The detail page says who ended it and why.
    let (_, page) = c.text(&format!("/console/sessions/{alice}")).await;
    assert!(page.contains("left") && page.contains(">admin<"), "{page}");
    assert_active(&app, &[&bob]).await;
}

#[tokio::test]
async fn terminate_all_matching_previews_then_works_in_chunks() {
    let app = spawn().await;
    let mut ids = Vec::new();
    for i in 0..30 {
        let mut body = smb(&format!("u{i}"), "10.7.0.1");
        body["share_names"] = serde_json::json!(["scratch"]);
        ids.push(app.register(&app.admin, body).await.0);
    }
    let (keep, _) = app.register(&app.admin, smb("keep", "10.7.0.2")).await;
    let c = Console::login(&app, "admin", ADMIN_PW).await;
    let r = c
        .post(
            "/console/sessions/preview",
            &[("query", "share=scratch"), ("reason", "retired")],
            Some(&c.csrf),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.expect("preview");
    assert!(
        page.contains(r#"<strong id="preview-count">30</strong>"#),
        "{page}"
    );
    let confirm = between(&page, r#"name="confirm" value=""#, "\"")
        .expect("confirm")
        .to_string();
    assert_active(&app, &[&ids[0]]).await;
    // A forged confirm token is refused.
    let r = c
        .post(
            "/console/sessions/terminate-matching",
            &[
                ("query", "share=scratch"),
                ("confirm", "forged"),
                ("total", "30"),
            ],
            Some(&c.csrf),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    // The confirm token is bound to the previewed filter.
    let r = c
        .post(
            "/console/sessions/terminate-matching",
            &[
                ("query", "share=home"),
                ("confirm", &confirm),
                ("total", "30"),
            ],
            Some(&c.csrf),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let r = c
        .post(
            "/console/sessions/terminate-matching",
            &[
                ("query", "share=scratch"),
                ("confirm", &confirm),
                ("total", "30"),
                ("reason", "retired"),
            ],
            Some(&c.csrf),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.expect("progress");
    assert!(page.contains("progress-finished"), "{page}");
    assert!(
        page.contains(r#"<strong id="progress-done">30</strong>"#),
        "{page}"
    );
    for id in &ids {
        assert_eq!(
            state_of(&app, id).await,
            ("terminated".into(), Some("admin".into()))
        );
    }
    assert_active(&app, &[&keep]).await;
}

#[tokio::test]
async fn admin_pages_are_for_admins_and_show_secrets_once() {
    let app = spawn().await;
    app.principal("op", "operator", None).await;
    let op = Console::login(&app, "op", "password-of-op").await;
    let (s, _) = op.text("/console/admin").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let r = op
        .post(
            "/console/admin/tenants",
            &[("name", "x"), ("csrf", &op.csrf)],
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let c = Console::login(&app, "admin", ADMIN_PW).await;
    let r = c
        .post(
            "/console/admin/tenants",
            &[("name", "acme"), ("csrf", &c.csrf)],
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r
        .text()
        .await
        .expect("body")
        .contains("tenant acme created"));
    let r = c
        .post(
            "/console/admin/principals",
            &[
                ("name", "carl"),
                ("password", "password-of-carl"),
                ("role", "viewer"),
                ("tenant", "acme"),
                ("csrf", &c.csrf),
            ],
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let (s, p) = app
        .call(
            reqwest::Method::GET,
            "/principals/carl",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (p["role"].as_str(), p["tenant"].as_str()),
        (Some("viewer"), Some("acme"))
    );
    // Invalid input is shown on the page.
    let r = c
        .post(
            "/console/admin/principals",
            &[
                ("name", "bad name"),
                ("password", "password-1234"),
                ("role", "viewer"),
                ("csrf", &c.csrf),
            ],
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Role change, then disable: the principal can no longer log in.
    let r = c
        .post(
            "/console/admin/principals/carl",
            &[("role", "operator"), ("csrf", &c.csrf)],
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = c
        .post(
            "/console/admin/principals/carl",
            &[("disabled", "true"), ("csrf", &c.csrf)],
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let (_, p) = app
        .call(
            reqwest::Method::GET,
            "/principals/carl",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(
        (p["role"].as_str(), p["disabled"].as_bool()),
        (Some("operator"), Some(true))
    );

    // An access key's secret is on the answer to its creation and nowhere after.
    let r = c
        .post(
            "/console/admin/principals/carl/keys",
            &[("csrf", &c.csrf)],
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.expect("keys");
    let secret = between(&page, r#"<code id="secret">"#, "</code>")
        .expect("secret")
        .to_string();
    assert!(secret.len() >= 32, "{secret}");
    let (_, again) = c.text("/console/admin/principals/carl").await;
    let key = between(&page, r#"<code id="new-access-key">"#, "</code>").expect("key");
    assert!(again.contains(key) && !again.contains(&secret));
    let (_, admin_page) = c.text("/console/admin").await;
    assert!(!admin_page.contains(&secret));
}
