//! The real `qq` CLI (PyPI `qumulo-api`, pinned in tests/interop/requirements.txt) against the
//! built `sessiond` binary over HTTPS: login, `smb_list_sessions` with every identity form and
//! paging, `smb_close_sessions` with each of its filters and its yes/no prompt, and a close
//! of 20,000 sessions in one command. The registry is checked through the native API.
//!
//! The virtualenv comes from `scripts/test` (env `SESSIOND_VENV`, default
//! `$HOME/.cache/sessiond/venv`). Without it these tests fail, never skip.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sessiond_core::identity::normalize_user;
use sessiond_core::ids::IdGen;
use sessiond_core::{
    Domain, HumanDuration, Session, SessionKind, SessionState, Timestamp, User, DEFAULT_TENANT_ID,
};
use sessiond_store_sqlite::SqliteStore;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

mod common;

use common::{venv_bin, Native, Server, TestStore};

const PW: &str = "qq-interop-password";

/// The real qq, one credentials store per server.
struct Qq {
    bin: PathBuf,
    port: String,
    home: tempfile::TempDir,
}

impl Qq {
    fn new(server: &Server) -> Qq {
        Qq {
            bin: venv_bin("qq"),
            port: server.port.to_string(),
            home: tempfile::tempdir().expect("qq home"),
        }
    }

    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let cred = self.home.path().join("credentials");
        let mut child = Command::new(&self.bin)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &self.port,
                "--credentials-store",
            ])
            .arg(&cred)
            .args(args)
            // Keep qq's own config lookups away from the user's files.
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn qq");
        // qq asks with input(), which reads a line from stdin whether or not it is a TTY.
        if let Some(mut input) = child.stdin.take() {
            input.write_all(stdin.as_bytes()).expect("qq stdin");
        }
        child.wait_with_output().expect("qq output")
    }

    /// Runs qq, requires success, and returns its stdout.
    fn ok(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(
            out.status.success(),
            "qq {args:?} failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
            out.status
        );
        stdout
    }

    /// Runs qq, requires failure, and returns its stderr.
    fn fails(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(
            !out.status.success(),
            "qq {args:?} should fail; stdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        stderr
    }

    /// `smb_list_sessions` → the listed locations.
    fn list(&self, extra: &[&str]) -> BTreeSet<String> {
        let mut args = vec!["smb_list_sessions"];
        args.extend_from_slice(extra);
        let stdout = self.ok(&args, "");
        let v: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("qq {args:?} printed no JSON ({e}): {stdout}"));
        v["session_infos"]
            .as_array()
            .expect("session_infos")
            .iter()
            .map(|s| s["location"].as_str().expect("location").to_string())
            .collect()
    }
}

impl Native {
    async fn register(&self, body: Value) -> String {
        let (s, v) = self.call(Method::POST, "/sessions", Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["session"]["id"].as_str().expect("id").to_string()
    }

    async fn state(&self, id: &str) -> String {
        let (s, v) = self
            .call(Method::GET, &format!("/sessions/{id}"), None)
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["state"].as_str().expect("state").to_string()
    }

    /// Every session matching `query` (any state), walking the native pages.
    async fn all(&self, query: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut path = format!("/sessions?limit=1000&{query}");
            if let Some(a) = &after {
                path.push_str(&format!("&after={a}"));
            }
            let (s, v) = self.call(Method::GET, &path, None).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            out.extend(v["items"].as_array().expect("items").iter().cloned());
            match v["next"].as_str() {
                Some(n) => after = Some(n.to_string()),
                None => return out,
            }
        }
    }
}

fn smb(user: Value, ip: &str, shares: &[&str]) -> Value {
    json!({"service": "smb", "node_id": "node-1", "user": user, "originator": ip,
           "server_address": "10.0.0.1", "share_names": shares})
}

fn set(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qq_logs_in_lists_and_closes_by_each_filter_on_sqlite() {
    qq_logs_in_lists_and_closes_by_each_filter(TestStore::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qq_logs_in_lists_and_closes_by_each_filter_on_redis() {
    qq_logs_in_lists_and_closes_by_each_filter(TestStore::redis()).await;
}

async fn qq_logs_in_lists_and_closes_by_each_filter(store: TestStore) {
    // Fail at once, before any setup, when the client is missing.
    venv_bin("qq");
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_on(&dir.path().join("data"), PW, &store);
    let native = Native::login(&server, PW).await;
    let qq = Qq::new(&server);

    let alice_ad = native
        .register(smb(
            json!({"domain": "ACTIVE_DIRECTORY", "name": "alice", "sid": "S-1-5-21-9-9-9-1001"}),
            "10.0.0.11",
            &["home"],
        ))
        .await;
    let alice_local = native
        .register(smb(
            json!({"domain": "LOCAL", "name": "alice"}),
            "10.0.0.12",
            &["projects"],
        ))
        .await;
    let bob = native
        .register(smb(
            json!({"domain": "POSIX_USER", "name": "bob", "uid": 1001}),
            "10.0.0.13",
            &["home", "scratch"],
        ))
        .await;
    let mut world_body = smb(
        json!({"domain": "WORLD", "name": "Everyone", "sid": "S-1-1-0"}),
        "10.0.0.14",
        &["public"],
    );
    world_body["is_guest"] = json!(true);
    let world = native.register(world_body).await;
    let carol = native
        .register(smb(
            json!({"domain": "LOCAL", "name": "carol", "auth_id": "513"}),
            "10.0.0.15",
            &["home"],
        ))
        .await;
    let erin = native
        .register(smb(
            json!({"domain": "ACTIVE_DIRECTORY", "name": "erin"}),
            "10.0.0.16",
            &["finance"],
        ))
        .await;
    // An LDAP distinguished name holding a ':'; qq reads `CN=…:…` as a name, not a prefix.
    let fay = native
        .register(smb(
            json!({"domain": "ACTIVE_DIRECTORY", "name": "CN=Fay:Lee,OU=Staff,DC=corp"}),
            "10.0.0.17",
            &["finance"],
        ))
        .await;
    let mut dave = Vec::new();
    for i in 0..7 {
        dave.push(
            native
                .register(smb(
                    json!({"domain": "ACTIVE_DIRECTORY", "name": "dave"}),
                    &format!("10.0.1.{i}"),
                    &["home"],
                ))
                .await,
        );
    }
    // Not SMB, and another tenant's SMB session: qq must never see or close them.
    let vsphere = native
        .register(
            json!({"service": "vsphere", "user": {"name": "alice"}, "originator": "10.0.0.11"}),
        )
        .await;
    let (s, v) = native
        .call(Method::POST, "/tenants", Some(json!({"name": "acme"})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let mut foreign_body = smb(
        json!({"domain": "ACTIVE_DIRECTORY", "name": "alice"}),
        "10.0.0.11",
        &["home"],
    );
    foreign_body["tenant"] = json!("acme");
    let foreign = native.register(foreign_body).await;

    // Login: a wrong password is Qumulo's 401; the right one stores a bearer token.
    let err = qq.fails(&["login", "-u", "admin", "-p", "wrong-password"], "");
    assert!(err.contains("Error 401: http_unauthorized_error"), "{err}");
    let err = qq.fails(&["smb_list_sessions"], "");
    assert!(err.contains("Error 401: http_unauthorized_error"), "{err}");
    qq.ok(&["login", "-u", "admin", "-p", PW], "");
    let cred = std::fs::read_to_string(qq.home.path().join("credentials")).expect("cred");
    assert!(cred.contains("bearer_token"), "{cred}");

    let mut smb_all = vec![&alice_ad, &alice_local, &bob, &world, &carol, &erin, &fay];
    smb_all.extend(dave.iter());
    assert_eq!(qq.list(&[]), set(&smb_all));

    // Every identity form qq documents; those matching several sessions also page by one.
    let cases: Vec<(&str, BTreeSet<String>)> = vec![
        ("alice", set(&[&alice_ad, &alice_local])),
        ("ad:alice", set(&[&alice_ad])),
        ("local:alice", set(&[&alice_local])),
        ("name:alice", set(&[&alice_ad, &alice_local])),
        ("uid:1001", set(&[&bob])),
        ("ldap_user:bob", set(&[&bob])),
        ("sid:S-1-5-21-9-9-9-1001", set(&[&alice_ad])),
        ("SID:S-1-5-21-9-9-9-1001", set(&[&alice_ad])),
        ("S-1-5-21-9-9-9-1001", set(&[&alice_ad])),
        ("auth_id:513", set(&[&carol])),
        ("auth_id:0x201", set(&[&carol])),
        ("auth_id:12884902889", set(&[&bob])),
        ("world:Everyone", set(&[&world])),
        ("S-1-1-0", set(&[&world])),
        ("dave", dave.iter().cloned().collect()),
        ("nobody", BTreeSet::new()),
        ("CN=Fay:Lee,OU=Staff,DC=corp", set(&[&fay])),
        ("cn=fay:lee,ou=staff,dc=corp", set(&[&fay])),
    ];
    for (identity, want) in &cases {
        assert_eq!(&qq.list(&["--identity", identity]), want, "{identity}");
        // Paging only matters where more than one page can come back.
        if want.len() > 1 {
            assert_eq!(
                &qq.list(&["--identity", identity, "--page-size", "1"]),
                want,
                "{identity}, paged"
            );
        }
    }
    // Paging really happens: 7 sessions in pages of 3 are three GETs, each following `next`.
    let out = qq.run(
        &[
            "--debug",
            "smb_list_sessions",
            "--identity",
            "ad:dave",
            "--page-size",
            "3",
        ],
        "",
    );
    assert!(out.status.success());
    let debug = String::from_utf8_lossy(&out.stderr);
    let gets: Vec<&str> = debug
        .lines()
        .filter(|l| l.starts_with("REQUEST: GET"))
        .collect();
    assert_eq!(gets.len(), 3, "{gets:#?}");
    assert!(gets[1].contains("identity=ad%3Adave"), "{gets:#?}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["session_infos"].as_array().map(Vec::len), Some(7));
    assert_eq!(qq.list(&["--page-size", "1"]), set(&smb_all));

    // A malformed identity is Qumulo's 400, not an empty list.
    let err = qq.fails(&["smb_list_sessions", "--identity", "bogus:x"], "");
    assert!(err.contains("Error 400: http_bad_request_error"), "{err}");

    // Close by each filter, answering the prompt.
    let mut closed: Vec<&String> = Vec::new();
    let out = qq.ok(&["smb_close_sessions", "--location", &erin], "y\n");
    assert!(out.contains("About to force close (1) sessions"), "{out}");
    closed.push(&erin);
    qq.ok(&["smb_close_sessions", "--ip", "10.0.0.13"], "y\n");
    closed.push(&bob);
    qq.ok(&["smb_close_sessions", "--share-name", "public"], "yes\n");
    closed.push(&world);
    let out = qq.ok(&["smb_close_sessions", "--identity", "ad:alice"], "y\n");
    assert!(out.contains("About to force close (1) sessions"), "{out}");
    closed.push(&alice_ad);
    let out = qq.ok(
        &[
            "smb_close_sessions",
            "--identity",
            "CN=Fay:Lee,OU=Staff,DC=corp",
        ],
        "y\n",
    );
    assert!(out.contains("About to force close (1) sessions"), "{out}");
    closed.push(&fay);
    // Filters combine (identity on the server, IP on qq's side).
    qq.ok(
        &[
            "smb_close_sessions",
            "--identity",
            "dave",
            "--ip",
            "10.0.1.2",
        ],
        "y\n",
    );
    closed.push(&dave[2]);
    // Answering no closes nothing.
    let out = qq.ok(&["smb_close_sessions", "--identity", "dave"], "n\n");
    assert!(out.contains("About to force close (6) sessions"), "{out}");
    assert!(out.contains("Canceling"), "{out}");
    // Nothing matching: qq says so and sends no close.
    let err = qq.fails(&["smb_close_sessions", "--location", &erin], "y\n");
    assert!(err.contains("No sessions found to close"), "{err}");
    let err = qq.fails(&["smb_close_sessions", "--location", &foreign], "y\n");
    assert!(err.contains("No sessions found to close"), "{err}");

    let mut all = smb_all.clone();
    all.extend([&vsphere, &foreign]);
    for id in all {
        let want = if closed.contains(&id) {
            "terminated"
        } else {
            "active"
        };
        assert_eq!(native.state(id).await, want, "{id}");
    }
    let listed = qq.list(&[]);
    assert_eq!(listed.len(), smb_all.len() - closed.len());
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
}

/// 20,000 live SMB sessions of one user, written straight into the store before the server
/// starts, exactly as registration would write them (core's ids, normalised user, default
/// timeouts, a real token hash), plus a few others that must survive.
async fn preload(store: &TestStore, data: &Path, orphans: usize, keepers: usize) -> Vec<String> {
    let now = Timestamp::from_system_time(SystemTime::now());
    let mut ids = IdGen::default();
    let mut rows = Vec::with_capacity(orphans + keepers);
    let mut keeper_ids = Vec::new();
    // Keepers spread through the id range, so a close that overshoots would hit one.
    let step = (orphans + keepers) / keepers.max(1);
    for i in 0..orphans + keepers {
        let id = ids.next(now).expect("id");
        let keeper = i % step == 0 && i / step < keepers;
        let mut user = User {
            domain: Domain::ActiveDirectory,
            name: Some(if keeper { "keeper" } else { "orphan" }.into()),
            ..User::default()
        };
        normalize_user(&mut user).expect("user");
        let s = Session {
            id: id.clone(),
            kind: SessionKind::Registered,
            owner: "admin".into(),
            external_id: None,
            tenant_id: DEFAULT_TENANT_ID,
            service: "smb".into(),
            node_id: Some("node-1".into()),
            server_address: Some("10.0.0.1".into()),
            originator: Some(format!("10.8.{}.{}", i / 250, i % 250)),
            user,
            user_agent: None,
            locale: None,
            is_guest: true,
            is_encrypted: false,
            share_names: vec!["public".into()],
            num_opens: 0,
            call_count: 0,
            activity: None,
            opened_at: now,
            last_active_at: now,
            idle_timeout: HumanDuration(Duration::from_secs(30 * 60)),
            absolute_timeout: HumanDuration(Duration::from_secs(24 * 3600)),
            state: SessionState::Active,
            ended_at: None,
            ended_by: None,
            end_reason: None,
            attributes: BTreeMap::new(),
        };
        let (_, hash) = sessiond_core::token::issue(&id).expect("token");
        let expires = s.expires_at();
        if keeper {
            keeper_ids.push(id.to_string());
        }
        rows.push((s, hash, expires));
    }
    assert_eq!(keeper_ids.len(), keepers);
    match store {
        TestStore::Sqlite => {
            let db = SqliteStore::open(&data.join("sessiond.db")).expect("open store");
            db.insert_many(rows).await.expect("insert_many");
            // Dropping the store finishes its writer before the server opens the file.
            drop(db);
        }
        TestStore::Redis { .. } => {
            // Through the Store contract, 64 at a time (Redis has no bulk-load call).
            let st = store.open(data).await;
            let mut rows = rows.into_iter();
            loop {
                let batch: Vec<_> = rows.by_ref().take(64).collect();
                if batch.is_empty() {
                    break;
                }
                let writes = batch
                    .iter()
                    .map(|(s, h, e)| st.insert_session(s, h, *e, None));
                for r in futures_util::future::join_all(writes).await {
                    r.expect("insert_session");
                }
            }
        }
    }
    keeper_ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qq_closes_20000_sessions_in_one_command_on_sqlite() {
    qq_closes_20000_sessions_in_one_command(TestStore::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qq_closes_20000_sessions_in_one_command_on_redis() {
    qq_closes_20000_sessions_in_one_command(TestStore::redis()).await;
}

async fn qq_closes_20000_sessions_in_one_command(store: TestStore) {
    const ORPHANS: usize = 20_000;
    venv_bin("qq");
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let keepers = preload(&store, &data, ORPHANS, 5).await;

    let server = Server::start_on(&data, PW, &store);
    let native = Native::login(&server, PW).await;
    let qq = Qq::new(&server);
    qq.ok(&["login", "-u", "admin", "-p", PW], "");

    let start = Instant::now();
    let out = qq.ok(&["smb_close_sessions", "--identity", "ad:orphan"], "y\n");
    let elapsed = start.elapsed();
    eprintln!(
        "qq smb_close_sessions of {ORPHANS} sessions (list + close in batches of 100): {elapsed:?}"
    );
    assert!(
        out.contains(&format!("About to force close ({ORPHANS}) sessions")),
        "{out}"
    );

    let ended = native.all("service=smb&identity=orphan&state=all").await;
    assert_eq!(ended.len(), ORPHANS);
    assert!(
        ended
            .iter()
            .all(|s| s["state"] == "terminated" && s["ended_by"] == "admin"),
        "every orphan terminated by admin"
    );
    let live = native.all("service=smb&state=active").await;
    let live: BTreeSet<String> = live
        .iter()
        .map(|s| s["id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(live, keepers.into_iter().collect::<BTreeSet<_>>());
    assert!(qq.list(&["--identity", "orphan"]).is_empty());
}
