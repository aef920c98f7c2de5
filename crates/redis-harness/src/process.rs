//! One `redis-server` child process: binary lookup, spawn with a config on the command line,
//! readiness by polling PING, SIGKILL and reap.

use crate::cli;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a fresh redis-server may take to answer PING.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// Finds a binary from an environment variable or `PATH`, or panics saying how to get it.
pub(crate) fn locate(env: &str, name: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env) {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "redis-harness: {env}={} is not a file",
            p.display()
        );
        return p;
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let c = dir.join(name);
            if c.is_file() {
                return c;
            }
        }
    }
    panic!(
        "redis-harness: `{name}` not found (set {env} or put it on PATH; on Debian: \
         apt-get install redis-server, which provides redis-server and redis-cli). \
         Redis tests fail rather than skip without it."
    );
}

/// A running redis-server, killed and reaped on drop.
pub(crate) struct Node {
    pub(crate) port: u16,
    child: Option<Child>,
}

impl Node {
    /// Starts redis-server on `port` with its files in `dir`; `None` when it exited at once
    /// (typically: the port was taken meanwhile), so the caller can retry on another port.
    pub(crate) fn spawn(port: u16, dir: &Path, extra: &[&str]) -> Option<Node> {
        let server = locate("REDIS_SERVER", "redis-server");
        let mut cmd = Command::new(server);
        cmd.arg("--port")
            .arg(port.to_string())
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--protected-mode", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(dir)
            .arg("--logfile")
            .arg(dir.join("redis.log"))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("redis-harness: cannot spawn redis-server: {e}"));
        let mut node = Node {
            port,
            child: Some(child),
        };
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if !node.is_running() {
                return None;
            }
            if cli::ping(port) {
                return Some(node);
            }
            assert!(
                Instant::now() < deadline,
                "redis-harness: redis-server on port {port} did not answer PING within \
                 {READY_TIMEOUT:?} (log: {})",
                dir.join("redis.log").display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub(crate) fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Sends a signal by name (`STOP`, `CONT`) with the system's `kill`: a stopped server
    /// keeps its connections open and answers nothing, which is what a hung or partitioned
    /// Redis looks like to a client.
    pub(crate) fn signal(&self, sig: &str) {
        let Some(c) = &self.child else {
            panic!("redis-harness: port {} is not running", self.port)
        };
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(c.id().to_string())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "redis-harness: kill -{sig} failed for port {}",
            self.port
        );
    }

    /// SIGKILL (no shutdown, no save): what a crash looks like. Reaps the child.
    pub(crate) fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}
