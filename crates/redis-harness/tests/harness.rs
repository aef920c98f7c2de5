//! The harness itself: a standalone server answers, a cluster forms with replicas, and a
//! killed primary is failed over.

use sessiond_redis_harness::{RedisCluster, RedisServer};
use std::process::Command;

fn cli(url_port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &url_port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn standalone_starts_answers_and_dies_on_drop() {
    let port;
    {
        let s = RedisServer::start();
        port = s.port();
        assert_eq!(s.url(), format!("redis://127.0.0.1:{port}/0"));
        assert_eq!(cli(port, &["SET", "k", "v"]), "OK");
        assert_eq!(cli(port, &["GET", "k"]), "v");
    }
    assert_ne!(
        cli(port, &["PING"]),
        "PONG",
        "the server must be gone after drop"
    );
}

#[test]
fn cluster_forms_then_fails_over_a_killed_primary() {
    let mut c = RedisCluster::start(3, 1);
    assert!(c.url().starts_with("redis+cluster://127.0.0.1:"));
    assert_eq!(c.url().matches(',').count(), 5);
    assert_eq!(c.primary_ports().len(), 3);
    let before = c.primary_of_slot(0);
    let killed = c.kill_primary_of_slot(0);
    assert_eq!(before, killed);
    c.wait_failover();
    let after = c.primary_of_slot(0);
    assert_ne!(after, killed, "a replica must have taken slot 0 over");
    assert_eq!(cli(after, &["-c", "SET", "{x}k", "v"]), "OK");
    assert_eq!(c.primary_ports().len(), 3);
    c.restart_killed();
    assert_eq!(c.primary_ports().len(), 3);
    assert_ne!(
        c.primary_of_slot(0),
        killed,
        "the old primary comes back as a replica"
    );
}
