//! Talking to a node through `redis-cli` (the harness needs no Redis client crate).

use crate::process::locate;
use std::process::{Command, Stdio};

/// Runs `redis-cli -p PORT args…` and returns its stdout, or `None` when it failed.
pub(crate) fn run(port: u16, args: &[&str]) -> Option<String> {
    let out = Command::new(locate("REDIS_CLI", "redis-cli"))
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

pub(crate) fn ping(port: u16) -> bool {
    run(port, &["PING"]).is_some_and(|s| s.trim() == "PONG")
}

/// `field:value` lines of an INFO-style answer (`CLUSTER INFO`, `INFO replication`).
pub(crate) fn field(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|l| {
        l.trim()
            .strip_prefix(name)
            .and_then(|r| r.strip_prefix(':'))
            .map(str::to_string)
    })
}
