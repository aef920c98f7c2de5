//! Shared by the interop tests: the vendor clients' virtualenv, the built server over HTTPS
//! on port 0, and a native-API client to set up and check what a vendor client did.

#![allow(dead_code)]

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A safety net only: readiness is the line itself, this just bounds a hung start.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

const VENV_HINT: &str = "run scripts/test (it creates the virtualenv from \
    tests/interop/requirements.txt), or point SESSIOND_VENV at a virtualenv with the vendor \
    clients installed";

/// The virtualenv `scripts/test` keeps (env `SESSIOND_VENV`, default
/// `$HOME/.cache/sessiond/venv`).
pub fn venv_dir() -> PathBuf {
    std::env::var_os("SESSIOND_VENV")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/sessiond/venv")))
        .unwrap_or_else(|| PathBuf::from(".cache/sessiond/venv"))
}

/// A program of the virtualenv (`bin/qq`, …), or a failure that says how to get it: the
/// interop tests fail without their clients, they never skip.
pub fn venv_bin(name: &str) -> PathBuf {
    let p = venv_dir().join("bin").join(name);
    assert!(
        p.is_file(),
        "{name} is missing at {}: {VENV_HINT}",
        p.display()
    );
    p
}

/// The virtualenv's python, checked to import `modules` (e.g. `"cvpysdk.commcell"`).
pub fn venv_python(modules: &str) -> PathBuf {
    let py = venv_bin("python");
    let out = Command::new(&py)
        .args(["-c", &format!("import {modules}")])
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "cannot import {modules} from {}: {VENV_HINT}\n{}",
        py.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    py
}

/// `sessiond serve` over HTTPS with its generated self-signed certificate, on port 0.
pub struct Server {
    child: Child,
    pub port: u16,
    pub base: String,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The store a test's server runs on: its embedded SQLite file, or a Redis the test started
/// (with a key file, as every Redis deployment needs). The interop tests run the same bodies
/// on both.
pub enum TestStore {
    Sqlite,
    Redis {
        redis: sessiond_redis_harness::RedisServer,
        key_file: tempfile::NamedTempFile,
    },
}

impl TestStore {
    pub fn sqlite() -> TestStore {
        TestStore::Sqlite
    }

    /// A fresh standalone Redis on a free port, and a key file for the replicas.
    pub fn redis() -> TestStore {
        let redis = sessiond_redis_harness::RedisServer::start();
        TestStore::Redis {
            redis,
            key_file: key_file(),
        }
    }

    /// `serve` flags that select this store.
    pub fn args(&self) -> Vec<String> {
        match self {
            TestStore::Sqlite => vec![],
            TestStore::Redis { redis, key_file } => vec![
                "--store".into(),
                redis.url(),
                "--key-file".into(),
                key_file.path().display().to_string(),
            ],
        }
    }

    /// The store itself, for loading fixtures before the server starts (SQLite: the data
    /// dir's file; drop it before starting the server).
    pub async fn open(&self, data: &Path) -> std::sync::Arc<dyn sessiond_core::Store> {
        match self {
            TestStore::Sqlite => std::sync::Arc::new(
                sessiond_store_sqlite::SqliteStore::open(&data.join("sessiond.db"))
                    .expect("open sqlite"),
            ),
            TestStore::Redis { redis, .. } => std::sync::Arc::new(
                sessiond_store_redis::RedisStore::connect(
                    &redis.url(),
                    sessiond_store_redis::RedisOptions::default(),
                )
                .await
                .expect("connect redis"),
            ),
        }
    }
}

/// A new key file (0600) in a temp file that lives as long as the returned handle.
pub fn key_file() -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().expect("temp file");
    let path = f.path().to_path_buf();
    std::fs::remove_file(&path).expect("make room for keygen");
    sessiond_server::keyfile::generate(&path).expect("keygen");
    f
}

impl Server {
    pub fn start(data: &Path, admin_password: &str) -> Server {
        Server::start_on(data, admin_password, &TestStore::Sqlite)
    }

    pub fn start_on(data: &Path, admin_password: &str, store: &TestStore) -> Server {
        Server::start_with(data, admin_password, &store.args())
    }

    /// `sessiond serve` with extra flags.
    pub fn start_with(data: &Path, admin_password: &str, extra: &[String]) -> Server {
        let log = data.with_extension("stderr");
        let stderr = std::fs::File::create(&log).expect("server log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_sessiond"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .args(extra)
            .env("SESSIOND_ADMIN_PASSWORD", admin_password)
            .env("SESSIOND_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn sessiond");
        let stdout = child.stdout.take().expect("stdout");
        // Forward the readiness line, then keep draining so the server never blocks on a
        // full pipe.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.trim().strip_prefix("listening on https://") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr.to_owned());
                    }
                }
            }
        });
        let addr = match rx.recv_timeout(READY_TIMEOUT) {
            Ok(a) => a,
            Err(e) => {
                let _ = child.kill();
                panic!(
                    "no `listening on https://ADDR` line ({e}); stderr:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            }
        };
        let port = addr
            .strip_prefix("127.0.0.1:")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected address {addr:?}"));
        Server {
            child,
            port,
            base: format!("https://{addr}"),
            log,
        }
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// kill -9, and the exit collected: nothing is flushed, drained or closed.
    pub fn kill_9(mut self) {
        self.child.kill().expect("kill -9");
        let _ = self.child.wait();
    }
}

/// The native API as admin.
pub struct Native {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Native {
    pub async fn login(server: &Server, admin_password: &str) -> Native {
        let http = reqwest::Client::builder()
            // The server's self-signed certificate.
            .danger_accept_invalid_certs(true)
            .build()
            .expect("client");
        let mut n = Native {
            http,
            base: server.base.clone(),
            token: String::new(),
        };
        let (s, v) = n
            .call(
                Method::POST,
                "/auth/login",
                Some(json!({"username": "admin", "password": admin_password})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        n.token = v["token"].as_str().expect("token").to_string();
        n
    }

    pub async fn call(&self, m: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut rb = self.http.request(m, format!("{}/api/v1{path}", self.base));
        if !self.token.is_empty() {
            rb = rb.bearer_auth(&self.token);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.expect("send");
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// Creates the tenants `tenants`, an operator `name` (password `password-123`) in
    /// `tenant`, and returns the native API as that operator.
    pub async fn tenant_operator(&self, tenants: &[&str], name: &str, tenant: &str) -> Native {
        for t in tenants {
            let (s, v) = self
                .call(Method::POST, "/tenants", Some(json!({"name": t})))
                .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
        }
        let body =
            json!({"name": name, "password": "password-123", "role": "operator", "tenant": tenant});
        let (s, v) = self.call(Method::POST, "/principals", Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let login = json!({"username": name, "password": "password-123"});
        let (s, v) = self.call(Method::POST, "/auth/login", Some(login)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        Native {
            http: self.http.clone(),
            base: self.base.clone(),
            token: v["token"].as_str().expect("token").to_string(),
        }
    }

    pub async fn session(&self, id: &str) -> Value {
        let (s, v) = self
            .call(Method::GET, &format!("/sessions/{id}"), None)
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }
}

/// A Python program of the interop virtualenv (`tests/interop/SCRIPT`) run as a child: its
/// stdin takes commands, its stdout lines arrive through a channel; killed when dropped.
pub struct PyChild {
    child: Child,
    stdin: std::process::ChildStdin,
    lines: mpsc::Receiver<String>,
}

impl Drop for PyChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl PyChild {
    /// Runs `script` with `args` under the virtualenv's python, checked to import `modules`.
    pub fn start(modules: &str, script: &str, args: &[&str]) -> PyChild {
        let py = venv_python(modules);
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/interop")
            .join(script);
        let mut child = Command::new(py)
            .arg(path)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {script}: {e}"));
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        PyChild {
            child,
            stdin,
            lines,
        }
    }

    /// The next line it printed, waiting at most `wait` (a safety net: each wait ends on a
    /// line).
    pub fn next_line(&self, wait: Duration) -> String {
        self.lines
            .recv_timeout(wait)
            .unwrap_or_else(|e| panic!("no line from the receiver in {wait:?}: {e}"))
    }

    /// Writes one command line to its stdin.
    pub fn send(&mut self, line: &str) {
        use std::io::Write;
        writeln!(self.stdin, "{line}").expect("write to the receiver");
        self.stdin.flush().expect("flush");
    }
}
