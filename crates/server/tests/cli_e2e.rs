//! End to end: the `sessiond` binary's CLI commands against a `sessiond serve` that the test
//! starts itself on a free port, each command a separate process as an operator would run it.

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_sessiond");
const ADMIN_PASSWORD: &str = "e2e-Admin-password-42";
/// How long the server may take to print its readiness line (a debug build hashing the
/// bootstrap password on a busy 2-core machine); not a sleep, an upper bound.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// Variables of the operator's own shell that would change what the CLI does.
const CLIENT_ENV: [&str; 4] = [
    "SESSIOND_SERVER",
    "SESSIOND_INSECURE",
    "SESSIOND_PASSWORD",
    "SESSIOND_CONFIG_DIR",
];

/// A running `sessiond serve`; killed when dropped, so a failing assertion never leaves a
/// server behind.
struct Server {
    child: Child,
    url: String,
    data: TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start() -> Server {
        let data = tempfile::tempdir().expect("data tempdir");
        let stderr = std::fs::File::create(data.path().join("server.stderr")).expect("log file");
        let mut cmd = Command::new(BIN);
        cmd.args([
            "serve",
            "--plain-http",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(data.path().join("data"))
        .env("SESSIOND_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr);
        for var in CLIENT_ENV {
            cmd.env_remove(var);
        }
        let mut child = cmd.spawn().expect("spawn sessiond serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut server = Server {
            child,
            url: String::new(),
            data,
        };

        // The readiness line is the only signal; a reader thread forwards it and then keeps
        // draining stdout so that the server never blocks on a full pipe.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.trim().strip_prefix("listening on http://") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr.to_owned());
                    }
                }
            }
        });
        match rx.recv_timeout(READY_TIMEOUT) {
            Ok(addr) => server.url = format!("http://{addr}"),
            Err(e) => panic!(
                "sessiond serve never printed `listening on http://ADDR` ({e}); stderr:\n{}",
                server.stderr()
            ),
        }
        server
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.data.path().join("server.stderr")).unwrap_or_default()
    }
}

/// Runs CLI commands against one server with a private config directory.
struct Cli<'a> {
    server: &'a Server,
    config: TempDir,
}

impl Cli<'_> {
    fn credentials_path(&self) -> PathBuf {
        self.config.path().join("sessiond").join("credentials.json")
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.arg("--server")
            .arg(&self.server.url)
            .args(args)
            .env("SESSIOND_CONFIG_DIR", self.config.path())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for var in ["SESSIOND_SERVER", "SESSIOND_INSECURE", "SESSIOND_PASSWORD"] {
            cmd.env_remove(var);
        }
        let mut child = cmd.spawn().expect("spawn the CLI");
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("piped stdin");
            pipe.write_all(input.as_bytes()).expect("write stdin");
            // Dropping the pipe closes it: the CLI sees end of input.
        }
        child.wait_with_output().expect("wait for the CLI")
    }

    /// Runs a command that must succeed; returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        self.ok_with_stdin(args, None)
    }

    fn ok_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "`sessiond {}` failed ({}):\nstdout: {}\nstderr: {}\nserver stderr:\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.server.stderr()
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs a command that must fail; returns stdout + stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args, None);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !out.status.success(),
            "`sessiond {}` should have failed:\n{text}",
            args.join(" ")
        );
        text
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| {
            panic!(
                "`sessiond {}` printed no JSON ({e}):\n{out}",
                args.join(" ")
            )
        })
    }
}

/// `(id, state)` of every item of a `sessions list --json` page.
fn states(page: &Value) -> Vec<(String, String)> {
    page["items"]
        .as_array()
        .expect("items array")
        .iter()
        .map(|s| {
            (
                s["id"].as_str().expect("id").to_owned(),
                s["state"].as_str().expect("state").to_owned(),
            )
        })
        .collect()
}

fn state_of(page: &Value, id: &str) -> Option<String> {
    states(page)
        .into_iter()
        .find(|(i, _)| i == id)
        .map(|(_, s)| s)
}

#[test]
fn cli_manages_sessions_end_to_end() {
    let server = Server::start();
    let cli = Cli {
        server: &server,
        config: tempfile::tempdir().expect("config tempdir"),
    };

    // Before any login, commands point the operator at `sessiond login`.
    let out = cli.fails(&["sessions", "list"]);
    assert!(out.contains("sessiond login"), "{out}");

    // A wrong password is refused and saves nothing.
    let out = cli.run(&["login", "--password-stdin"], Some("wrong-password\n"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("error:"));
    assert!(!cli.credentials_path().exists());

    let out = cli.ok_with_stdin(
        &["login", "--password-stdin"],
        Some(&format!("{ADMIN_PASSWORD}\n")),
    );
    assert!(out.contains("admin"), "{out}");
    let saved = std::fs::read_to_string(cli.credentials_path()).expect("credentials saved");
    let saved: Value = serde_json::from_str(&saved).expect("credentials are JSON");
    let token = saved["token"].as_str().expect("token saved");
    assert!(!out.contains(token), "login must not print the token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(cli.credentials_path())
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(cli.json(&["whoami", "--json"])["name"], "admin");

    // Two registered sessions.
    let created = cli.json(&[
        "sessions",
        "create",
        "--service",
        "smb",
        "--user-name",
        "alice",
        "--originator",
        "10.1.2.3",
        "--share",
        "home",
        "--json",
    ]);
    let id1 = created["session"]["id"].as_str().expect("id1").to_owned();
    assert!(!created["token"].as_str().unwrap_or_default().is_empty());
    let created = cli.json(&[
        "sessions",
        "create",
        "--service",
        "smb",
        "--user-name",
        "bob",
        "--domain",
        "ACTIVE_DIRECTORY",
        "--realm",
        "CORP",
        "--node-id",
        "node-1",
        "--idle-timeout",
        "30m",
        "--json",
    ]);
    let id2 = created["session"]["id"].as_str().expect("id2").to_owned();
    assert_ne!(id1, id2);
    assert_eq!(created["session"]["user"]["realm"], "CORP", "{created}");

    let page = cli.json(&["sessions", "list", "--json", "--service", "smb"]);
    assert_eq!(state_of(&page, &id1).as_deref(), Some("active"), "{page}");
    assert_eq!(state_of(&page, &id2).as_deref(), Some("active"), "{page}");
    assert!(page.get("next").is_some(), "a page carries `next`: {page}");

    // The human table shows both, under its header.
    let table = cli.ok(&["sessions", "list", "--service", "smb"]);
    assert!(table.starts_with("ID"), "{table}");
    assert!(table.contains(&id1) && table.contains(&id2), "{table}");
    assert!(table.contains("LOCAL\\alice"), "{table}");

    // Terminating by id needs no confirmation.
    cli.ok(&["sessions", "terminate", &id1, "--reason", "e2e"]);
    let page = cli.json(&["sessions", "list", "--json", "--service", "smb"]);
    assert_eq!(state_of(&page, &id1), None, "{page}");
    assert_eq!(state_of(&page, &id2).as_deref(), Some("active"), "{page}");
    let page = cli.json(&[
        "sessions",
        "list",
        "--json",
        "--state",
        "all",
        "--service",
        "smb",
    ]);
    assert_eq!(
        state_of(&page, &id1).as_deref(),
        Some("terminated"),
        "{page}"
    );
    let shown = cli.json(&["sessions", "show", &id1, "--json"]);
    assert_eq!(shown["state"], "terminated");
    let shown = cli.ok(&["sessions", "show", &id2]);
    assert!(shown.contains("node-1"), "{shown}");

    // `--all` walks every page and prints one array.
    let all = cli.json(&[
        "sessions",
        "list",
        "--json",
        "--all",
        "--state",
        "all",
        "--service",
        "smb",
        "--limit",
        "1",
    ]);
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");

    // An unknown id is reported per item and fails the command.
    let out = cli.fails(&["sessions", "terminate", "01HZZZZZZZZZZZZZZZZZZZZZZZ"]);
    assert!(out.contains("error"), "{out}");

    // A filter terminate without a terminal and without --yes is refused…
    let out = cli.fails(&["sessions", "terminate", "--service", "smb"]);
    assert!(out.contains("--yes"), "{out}");
    let page = cli.json(&["sessions", "list", "--json", "--service", "smb"]);
    assert_eq!(state_of(&page, &id2).as_deref(), Some("active"), "{page}");
    // …a dry run only counts…
    let preview = cli.ok(&["sessions", "terminate", "--service", "smb", "--dry-run"]);
    assert!(preview.contains("would terminate 1"), "{preview}");
    // …and with --yes it happens.
    let out = cli.ok(&["sessions", "terminate", "--service", "smb", "--yes"]);
    assert!(out.contains("terminated 1"), "{out}");
    let page = cli.json(&["sessions", "list", "--json", "--service", "smb"]);
    assert!(states(&page).is_empty(), "{page}");
    let page = cli.json(&[
        "sessions",
        "list",
        "--json",
        "--state",
        "all",
        "--service",
        "smb",
    ]);
    assert_eq!(
        state_of(&page, &id2).as_deref(),
        Some("terminated"),
        "{page}"
    );

    // Access keys: the secret is printed once at creation and never listed.
    let created = cli.json(&["access-keys", "create", "admin", "--json"]);
    let ak = created["access_key"]
        .as_str()
        .expect("access_key")
        .to_string();
    let sk = created["secret_key"]
        .as_str()
        .expect("secret_key")
        .to_string();
    let listed = cli.ok(&["access-keys", "list", "admin"]);
    assert!(listed.contains(&ak) && !listed.contains(&sk), "{listed}");
    let out = cli.ok(&["access-keys", "delete", "admin", &ak]);
    assert!(out.contains("deleted"), "{out}");
    let listed = cli.json(&["access-keys", "list", "admin", "--json"]);
    assert_eq!(listed, serde_json::json!([]));

    // Logout ends the login and forgets it; the next command asks for a login again.
    cli.ok(&["logout"]);
    assert!(!cli.credentials_path().exists());
    let out = cli.fails(&["sessions", "list"]);
    assert!(out.contains("sessiond login"), "{out}");
}

/// `sessiond events watch --json` prints each event as it happens; `sessiond webhooks`
/// creates (the secret printed once), lists, shows, disables and deletes, and the server
/// refuses a loopback target (started without --webhooks-allow-private).
#[test]
fn cli_watches_events_and_manages_webhooks() {
    let server = Server::start();
    let cli = Cli {
        server: &server,
        config: tempfile::tempdir().expect("config tempdir"),
    };
    cli.ok_with_stdin(
        &["login", "--password-stdin"],
        Some(&format!("{ADMIN_PASSWORD}\n")),
    );

    let mut watch = Command::new(BIN)
        .arg("--server")
        .arg(&server.url)
        .args(["events", "watch", "--types", "session.terminated", "--json"])
        .env("SESSIOND_CONFIG_DIR", cli.config.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn events watch");
    let stdout = watch.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Sessions terminated one after another until the watcher has seen one: it may still
    // be connecting when the first ends (it starts at the present).
    let mut seen: Option<Value> = None;
    let mut ended = Vec::new();
    for i in 0..50 {
        let created = cli.json(&[
            "sessions",
            "create",
            "--service",
            "smb",
            "--user-name",
            &format!("w{i}"),
            "--json",
        ]);
        let id = created["session"]["id"].as_str().expect("id").to_owned();
        cli.ok(&["sessions", "terminate", &id, "--reason", "watched"]);
        ended.push(id);
        if let Ok(line) = rx.recv_timeout(std::time::Duration::from_millis(500)) {
            seen = Some(serde_json::from_str(&line).expect("a JSON event per line"));
            break;
        }
    }
    let _ = watch.kill();
    let _ = watch.wait();
    let e = seen.expect("events watch printed an event");
    assert_eq!(e["type"], "session.terminated");
    assert!(ended.contains(&e["session"]["id"].as_str().unwrap_or_default().to_owned()));
    assert_eq!(e["session"]["end_reason"], "watched");

    // Webhooks: a loopback target is refused on this server.
    let out = cli.fails(&["webhooks", "create", "http://127.0.0.1:9/hook"]);
    assert!(out.contains("--webhooks-allow-private"), "{out}");
    let out = cli.ok(&[
        "webhooks",
        "create",
        "https://hooks.example.com/in",
        "--types",
        "session.terminated,session.expired",
    ]);
    assert!(out.contains("secret: whsec_"), "{out}");
    let list = cli.json(&["webhooks", "list", "--json"]);
    let hooks = list.as_array().expect("a list");
    assert_eq!(hooks.len(), 1);
    assert!(
        !list.to_string().contains("whsec_"),
        "the secret is shown once"
    );
    let id = hooks[0]["id"].as_str().expect("id").to_owned();
    assert_eq!(
        hooks[0]["types"],
        serde_json::json!(["session.terminated", "session.expired"])
    );
    let out = cli.ok(&["webhooks", "disable", &id]);
    assert!(out.contains("status: disabled"), "{out}");
    let shown = cli.json(&["webhooks", "show", &id, "--json"]);
    assert_eq!(shown["status"], "disabled");
    cli.ok(&["webhooks", "delete", &id]);
    assert!(cli
        .json(&["webhooks", "list", "--json"])
        .as_array()
        .is_some_and(|a| a.is_empty()));
    let out = cli.fails(&["webhooks", "show", &id]);
    assert!(out.contains("not found"), "{out}");
}
