//! The built binary: state survives a restart on the same data dir exactly as acknowledged,
//! a second process on a locked data dir stops with a clear message, and HTTPS works with
//! the generated self-signed certificate.

use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

const PW: &str = "restart-test-password";

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `sessiond serve` on port 0 and waits for its readiness line.
fn start(data: &Path, extra: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sessiond"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .args(extra)
        .env("SESSIOND_ADMIN_PASSWORD", PW)
        .env("SESSIOND_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn sessiond");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read readiness line");
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    Server { child, base }
}

/// Stops the server with SIGTERM (graceful: drains and flushes) and waits for it.
fn stop(mut s: Server) {
    let pid = s.child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = s.child.wait().expect("wait");
    assert!(exit.success(), "graceful exit, got {exit:?}");
}

async fn call(
    http: &reqwest::Client,
    base: &str,
    m: reqwest::Method,
    path: &str,
    tok: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut rb = http.request(m, format!("{base}/api/v1{path}"));
    if let Some(t) = tok {
        rb = rb.bearer_auth(t);
    }
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.expect("send");
    let s = r.status();
    let t = r.text().await.expect("text");
    (s, serde_json::from_str(&t).unwrap_or(Value::Null))
}

async fn login(http: &reqwest::Client, base: &str) -> String {
    let (s, v) = call(
        http,
        base,
        reqwest::Method::POST,
        "/auth/login",
        None,
        Some(json!({"username":"admin","password":PW})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["token"].as_str().expect("token").to_string()
}

#[tokio::test]
async fn state_survives_restart_exactly_as_acknowledged() {
    use reqwest::Method;
    let dir = tempfile::tempdir().expect("tempdir");
    let http = reqwest::Client::new();
    let server = start(dir.path(), &["--plain-http"]);
    assert!(
        server.base.starts_with("http://127.0.0.1:"),
        "{}",
        server.base
    );
    let tok = login(&http, &server.base).await;

    let mut ids = Vec::new();
    let mut tokens = Vec::new();
    for i in 0..10 {
        let body = json!({"service":"smb","user":{"name":format!("u{i}")},"originator":"10.0.0.1"});
        let (s, v) = call(
            &http,
            &server.base,
            Method::POST,
            "/sessions",
            Some(&tok),
            Some(body),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        ids.push(v["session"]["id"].as_str().expect("id").to_string());
        tokens.push(v["token"].as_str().expect("token").to_string());
    }
    let (s, v) = call(
        &http,
        &server.base,
        Method::POST,
        "/sessions/terminate",
        Some(&tok),
        Some(json!({"ids": ids[..4], "reason": "before restart"})),
    )
    .await;
    assert_eq!(
        (s, v["terminated"].as_u64()),
        (StatusCode::OK, Some(4)),
        "{v}"
    );
    let (_, before) = call(
        &http,
        &server.base,
        Method::GET,
        "/sessions?service=smb&state=all&limit=100",
        Some(&tok),
        None,
    )
    .await;

    // A second server on the same data dir refuses to start, clearly.
    let out = Command::new(env!("CARGO_BIN_EXE_sessiond"))
        .args([
            "serve",
            "--plain-http",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .expect("run second");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use by another sessiond"), "{err}");

    stop(server);
    let server = start(dir.path(), &["--plain-http"]);
    let tok2 = login(&http, &server.base).await;
    let (_, after) = call(
        &http,
        &server.base,
        Method::GET,
        "/sessions?service=smb&state=all&limit=100",
        Some(&tok2),
        None,
    )
    .await;
    let strip = |v: &Value| -> Vec<(String, String, Option<String>)> {
        v["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|s| {
                (
                    s["id"].as_str().unwrap_or("").to_string(),
                    s["state"].as_str().unwrap_or("").to_string(),
                    s["end_reason"].as_str().map(str::to_string),
                )
            })
            .collect()
    };
    assert_eq!(strip(&after), strip(&before));
    assert_eq!(
        strip(&after).iter().filter(|s| s.1 == "terminated").count(),
        4
    );
    // Tokens of live sessions still validate; those of terminated ones do not.
    let (s, _) = call(
        &http,
        &server.base,
        Method::POST,
        "/sessions/validate",
        Some(&tok2),
        Some(json!({"token": tokens[9]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call(
        &http,
        &server.base,
        Method::POST,
        "/sessions/validate",
        Some(&tok2),
        Some(json!({"token": tokens[0]})),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The login from before the restart is still a valid API credential.
    let (s, _) = call(
        &http,
        &server.base,
        Method::GET,
        "/auth/whoami",
        Some(&tok),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    stop(server);
}

#[tokio::test]
async fn https_by_default_with_a_generated_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    assert!(
        server.base.starts_with("https://127.0.0.1:"),
        "{}",
        server.base
    );
    assert!(dir.path().join("tls/cert.pem").exists());
    let pem = std::fs::read(dir.path().join("tls/cert.pem")).expect("cert");
    let cert = reqwest::Certificate::from_pem(&pem).expect("pem");
    // Verified against the generated certificate (SAN 127.0.0.1), not merely "insecure".
    let http = reqwest::Client::builder()
        .add_root_certificate(cert)
        .build()
        .expect("client");
    let r = http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .expect("https request");
    assert_eq!(r.status(), StatusCode::OK);
    // Under TLS every answer asks browsers to stay on HTTPS.
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let r = http
        .get(format!("{}/api/v1/openapi.json", server.base))
        .send()
        .await
        .expect("openapi");
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = r.json().await.expect("json");
    assert!(doc["paths"]["/api/v1/sessions/terminate"].is_object());
    let r = http
        .get(format!("{}/api/docs", server.base))
        .send()
        .await
        .expect("docs");
    assert_eq!(r.status(), StatusCode::OK);
    // The reference page works offline: its script comes from this server.
    let page = r.text().await.expect("page");
    assert!(
        page.contains(r#"<script src="/api/docs/scalar.js">"#),
        "{page}"
    );
    assert!(!page.contains("cdn.jsdelivr"), "{page}");
    let r = http
        .get(format!("{}/api/docs/scalar.js", server.base))
        .send()
        .await
        .expect("scalar.js");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .starts_with("text/javascript"));
    assert!(r.bytes().await.expect("script").len() > 1_000_000);
    // A login is a durable write (its login session) through the SQLite writer.
    login(&http, &server.base).await;
    let r = http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .expect("metrics");
    let text = r.text().await.expect("text");
    assert!(text.contains("sessiond_http_requests_total"), "{text}");
    assert!(
        text.contains("sessiond_sqlite_write_transactions_total{kind=\"durable\"}"),
        "{text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("tls/key.pem"))
            .expect("key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the private key is owner-only");
        for secret in ["confirm.key", "access-keys.key"] {
            let mode = std::fs::metadata(dir.path().join(secret))
                .expect("secret file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{secret} is owner-only");
        }
    }
    stop(server);
    // The certificate is generated once and reused.
    let server = start(dir.path(), &[]);
    assert_eq!(
        std::fs::read(dir.path().join("tls/cert.pem")).expect("cert"),
        pem
    );
    stop(server);
}

/// Runs the binary to completion with `stdin` fed; returns (success, stdout, stderr).
fn run(args: &[&str], data: &Path, stdin: &str) -> (bool, String, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_sessiond"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn online_backup_and_offline_password_reset() {
    use reqwest::Method;
    let dir = tempfile::tempdir().expect("tempdir");
    let http = reqwest::Client::new();
    let server = start(dir.path(), &["--plain-http"]);
    let tok = login(&http, &server.base).await;
    for i in 0..3 {
        let body = json!({"service":"smb","user":{"name":format!("b{i}")}});
        let (s, _) = call(
            &http,
            &server.base,
            Method::POST,
            "/sessions",
            Some(&tok),
            Some(body),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    // Backup while the server runs: the copy opens as a store with the same sessions.
    let copy = dir.path().join("copy.db");
    let (ok, out, err) = run(&["backup", copy.to_str().expect("utf8")], dir.path(), "");
    assert!(ok, "backup failed: {out} {err}");
    let store = sessiond_store_sqlite::SqliteStore::open(&copy).expect("open copy");
    let smb = sessiond_core::filter::SessionFilter {
        tenant: Some(sessiond_core::filter::TenantScope::All),
        service: Some("smb".into()),
        ..Default::default()
    };
    use sessiond_core::store::SessionStore;
    assert_eq!(store.count_sessions(&smb).await.expect("count"), 3);
    drop(store);

    // Restored: the copy as the database of a fresh data dir, with the data dir's key files
    // (backed up beside it), serves the same sessions to the same principals.
    let restored = tempfile::tempdir().expect("tempdir");
    std::fs::copy(&copy, restored.path().join("sessiond.db")).expect("restore db");
    for key in ["confirm.key", "access-keys.key", "event-signing.key"] {
        std::fs::copy(dir.path().join(key), restored.path().join(key)).expect("restore key");
    }
    let from_backup = start(restored.path(), &["--plain-http"]);
    let tok2 = login(&http, &from_backup.base).await;
    let (s, page) = call(
        &http,
        &from_backup.base,
        Method::GET,
        "/sessions?service=smb",
        Some(&tok2),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let names: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|s| s["user"]["name"].as_str())
        .collect();
    assert_eq!(names.len(), 3, "{page}");
    for i in 0..3 {
        assert!(names.contains(&format!("b{i}").as_str()), "{names:?}");
    }
    stop(from_backup);

    // Reset needs the data dir to itself: refused while the server runs.
    let (ok, _, err) = run(
        &["admin", "reset-password", "admin", "--password-stdin"],
        dir.path(),
        "new-password-123\n",
    );
    assert!(!ok);
    assert!(err.contains("in use by another sessiond"), "{err}");
    stop(server);
    let (ok, out, err) = run(
        &["admin", "reset-password", "admin", "--password-stdin"],
        dir.path(),
        "new-password-123\n",
    );
    assert!(ok, "reset failed: {out} {err}");
    let (ok, _, err) = run(
        &["admin", "reset-password", "nobody", "--password-stdin"],
        dir.path(),
        "new-password-123\n",
    );
    assert!(!ok && err.contains("not found"), "{err}");

    let server = start(dir.path(), &["--plain-http"]);
    let (s, _) = call(
        &http,
        &server.base,
        Method::POST,
        "/auth/login",
        None,
        Some(json!({"username":"admin","password":PW})),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "the old password no longer works"
    );
    let (s, _) = call(
        &http,
        &server.base,
        Method::POST,
        "/auth/login",
        None,
        Some(json!({"username":"admin","password":"new-password-123"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    stop(server);
}

#[test]
fn shell_completions_are_generated() {
    let out = Command::new(env!("CARGO_BIN_EXE_sessiond"))
        .args(["completions", "bash"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("sessiond") && text.contains("terminate"),
        "{text}"
    );
}

#[tokio::test]
async fn generated_admin_password_is_shown_once_and_no_secret_reaches_the_log() {
    use reqwest::Method;
    let dir = tempfile::tempdir().expect("tempdir");
    let log_path = dir.path().join("stderr.log");
    let data = dir.path().join("data");
    let server = start_logged(&data, &log_path);
    let stderr = std::fs::read_to_string(&log_path).expect("read log");
    let pw = stderr
        .lines()
        .find_map(|l| l.split("generated password: ").nth(1))
        .unwrap_or_else(|| panic!("no generated password on stderr: {stderr}"))
        .trim()
        .to_string();
    assert!(pw.len() >= 16, "a strong generated password");

    let http = reqwest::Client::new();
    let (s, v) = call(
        &http,
        &server.base,
        Method::POST,
        "/auth/login",
        None,
        Some(json!({"username":"admin","password":pw})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let tok = v["token"].as_str().expect("token").to_string();
    let (_, v) = call(
        &http,
        &server.base,
        Method::POST,
        "/sessions",
        Some(&tok),
        Some(json!({"service":"smb","user":{"name":"x"}})),
    )
    .await;
    let session_tok = v["token"].as_str().expect("token").to_string();
    let (s, _) = call(
        &http,
        &server.base,
        Method::POST,
        "/sessions/validate",
        Some(&tok),
        Some(json!({"token": session_tok})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call(
        &http,
        &server.base,
        Method::GET,
        "/sessions",
        Some("bogus.token"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    stop(server);

    // A restart does not print a password again: it was shown once.
    let log2 = dir.path().join("stderr2.log");
    stop(start_logged(&data, &log2));
    let second = std::fs::read_to_string(&log2).expect("read log");
    assert!(!second.contains("generated password"), "{second}");

    let log = std::fs::read_to_string(&log_path).expect("read log");
    let verifier = |t: &str| t.split('.').nth(1).unwrap_or(t).to_string();
    for secret in [verifier(&tok), verifier(&session_tok)] {
        assert!(!log.contains(&secret), "a token reached the log");
    }
    assert_eq!(
        log.matches(&pw).count(),
        1,
        "the password appears exactly once, in the bootstrap notice"
    );
    assert!(!log.contains("argon2id"), "no password hash in the log");
}

/// Starts a plain-HTTP server with trace logging and no preset admin password, stderr to `log`.
fn start_logged(data: &Path, log: &Path) -> Server {
    let file = std::fs::File::create(log).expect("log file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sessiond"))
        .args([
            "serve",
            "--plain-http",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(data)
        .env_remove("SESSIOND_ADMIN_PASSWORD")
        .env("SESSIOND_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(file))
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("line");
    Server {
        child,
        base: line.trim().trim_start_matches("listening on ").to_string(),
    }
}

/// kill -9 in the middle of a stream of registrations and terminations: after a restart,
/// every acknowledged registration exists and every acknowledged termination holds.
#[tokio::test]
async fn acknowledged_writes_survive_kill_9() {
    use reqwest::Method;
    let dir = tempfile::tempdir().expect("tempdir");
    let http = reqwest::Client::new();
    let server = start(dir.path(), &["--plain-http"]);
    let base = server.base.clone();
    let tok = login(&http, &base).await;

    // Writers run until the server dies; each records only what was acknowledged.
    let mut tasks = Vec::new();
    for w in 0..4 {
        let (http, base, tok) = (http.clone(), base.clone(), tok.clone());
        tasks.push(tokio::spawn(async move {
            let mut registered = Vec::new();
            let mut terminated = Vec::new();
            for i in 0.. {
                let body = json!({"service":"smb","user":{"name":format!("k{w}-{i}")}});
                let (s, v) =
                    match try_call(&http, &base, Method::POST, "/sessions", &tok, Some(body)).await
                    {
                        Some(r) => r,
                        None => break,
                    };
                if s != StatusCode::CREATED {
                    break;
                }
                let id = v["session"]["id"].as_str().unwrap_or_default().to_string();
                registered.push(id.clone());
                if i % 2 == 0 {
                    match try_call(
                        &http,
                        &base,
                        Method::DELETE,
                        &format!("/sessions/{id}"),
                        &tok,
                        None,
                    )
                    .await
                    {
                        Some((s, _)) if s == StatusCode::OK => terminated.push(id),
                        Some(_) => {}
                        None => break,
                    }
                }
            }
            (registered, terminated)
        }));
    }
    // Let some work be acknowledged, then kill without warning.
    loop {
        let (_, v) = call(
            &http,
            &base,
            Method::GET,
            "/sessions?service=smb&state=all&limit=1000",
            Some(&tok),
            None,
        )
        .await;
        if v["items"].as_array().map_or(0, Vec::len) >= 200 {
            break;
        }
        // Writers only stop when the server does: if they all have, fail instead of spinning.
        assert!(
            !tasks.iter().all(|t| t.is_finished()),
            "the writers stopped before the kill"
        );
    }
    let mut server = server;
    server.child.kill().expect("kill -9");
    let _ = server.child.wait();
    let mut registered = Vec::new();
    let mut terminated = Vec::new();
    for t in tasks {
        let (r, d) = t.await.expect("writer");
        registered.extend(r);
        terminated.extend(d);
    }
    assert!(registered.len() >= 200 && !terminated.is_empty());

    let server = start(dir.path(), &["--plain-http"]);
    let tok = login(&http, &server.base).await;
    for id in &registered {
        let (s, v) = call(
            &http,
            &server.base,
            Method::GET,
            &format!("/sessions/{id}"),
            Some(&tok),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "acknowledged registration {id} lost");
        if terminated.contains(id) {
            assert_eq!(
                v["state"], "terminated",
                "acknowledged termination of {id} lost"
            );
        }
    }
    eprintln!(
        "after kill -9: {} registrations and {} terminations acknowledged, all present",
        registered.len(),
        terminated.len()
    );
    stop(server);
}

/// A request that reports a dead server as `None` instead of panicking.
async fn try_call(
    http: &reqwest::Client,
    base: &str,
    m: reqwest::Method,
    path: &str,
    tok: &str,
    body: Option<Value>,
) -> Option<(StatusCode, Value)> {
    let mut rb = http
        .request(m, format!("{base}/api/v1{path}"))
        .bearer_auth(tok);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.ok()?;
    let s = r.status();
    let v = r.json().await.unwrap_or(Value::Null);
    Some((s, v))
}

#[tokio::test]
async fn metrics_can_require_a_scrape_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("metrics.token");
    std::fs::write(&token_file, "scrape-token-0123456789\n").expect("token file");
    let data = dir.path().join("data");
    let server = start(
        &data,
        &[
            "--plain-http",
            "--metrics-token-file",
            token_file.to_str().expect("utf8"),
        ],
    );
    let http = reqwest::Client::new();
    let url = format!("{}/metrics", server.base);
    let r = http.get(&url).send().await.expect("metrics");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = http
        .get(&url)
        .bearer_auth("scrape-token-wrong")
        .send()
        .await
        .expect("metrics");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = http
        .get(&url)
        .bearer_auth("scrape-token-0123456789")
        .send()
        .await
        .expect("metrics");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r
        .text()
        .await
        .expect("text")
        .contains("sessiond_sessions_live"));
    // /healthz stays open for load balancers.
    let r = http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .expect("healthz");
    assert_eq!(r.status(), StatusCode::OK);
    stop(server);

    // A token too short to be one is refused at start, clearly.
    std::fs::write(&token_file, "short").expect("token file");
    let (ok, _, err) = run(
        &[
            "serve",
            "--plain-http",
            "--listen",
            "127.0.0.1:0",
            "--metrics-token-file",
            token_file.to_str().expect("utf8"),
        ],
        &data,
        "",
    );
    assert!(!ok);
    assert!(err.contains("at least 16 characters"), "{err}");
}

/// The TLS certificate of `dir`'s generated self-signed pair, as a client root.
fn generated_cert(dir: &Path) -> (reqwest::Certificate, Vec<u8>, Vec<u8>) {
    let server = start(dir, &[]);
    stop(server);
    let cert = std::fs::read(dir.join("tls/cert.pem")).expect("cert");
    let key = std::fs::read(dir.join("tls/key.pem")).expect("key");
    (
        reqwest::Certificate::from_pem(&cert).expect("pem"),
        cert,
        key,
    )
}

#[tokio::test]
async fn sighup_reloads_the_certificate_without_dropping_connections() {
    let (a, b) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let (root_a, cert_a, key_a) = generated_cert(a.path());
    let (root_b, cert_b, key_b) = generated_cert(b.path());
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, &cert_a).expect("cert");
    std::fs::write(&key, &key_a).expect("key");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sessiond"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .env("SESSIOND_ADMIN_PASSWORD", PW)
        .env("SESSIOND_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sessiond");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("readiness line");
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .expect("readiness")
        .to_string();
    let mut log = BufReader::new(child.stderr.take().expect("stderr"));
    let server = Server { child, base };
    let client = |root: reqwest::Certificate| {
        reqwest::Client::builder()
            .add_root_certificate(root)
            .pool_idle_timeout(None)
            .build()
            .expect("client")
    };
    let (with_a, with_b) = (client(root_a.clone()), client(root_b.clone()));
    let health = format!("{}/healthz", server.base);
    assert_eq!(
        with_a.get(&health).send().await.expect("A").status(),
        StatusCode::OK
    );
    assert!(
        with_b.get(&health).send().await.is_err(),
        "B is not served yet"
    );

    std::fs::write(&cert, &cert_b).expect("cert");
    std::fs::write(&key, &key_b).expect("key");
    let pid = server.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .expect("kill")
        .success());
    let mut l = String::new();
    loop {
        l.clear();
        assert!(log.read_line(&mut l).expect("log") > 0, "no reload line");
        if l.contains("TLS certificate reloaded") {
            break;
        }
    }
    // The connection opened under A is still served (it kept its handshake) …
    assert_eq!(
        with_a
            .get(&health)
            .send()
            .await
            .expect("A's open connection")
            .status(),
        StatusCode::OK
    );
    // … and new connections get B.
    assert_eq!(
        with_b.get(&health).send().await.expect("B").status(),
        StatusCode::OK
    );
    assert!(
        client(root_a).get(&health).send().await.is_err(),
        "a new connection under A no longer verifies"
    );
    stop(server);
}
