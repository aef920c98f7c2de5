//! A Redis Cluster of real processes: primaries with replicas, created by
//! `redis-cli --cluster create`, with primary kills and failover waits for tests.

use crate::cli;
use crate::ports::free_port;
use crate::process::Node;
use std::time::{Duration, Instant};

/// Small, so that a killed primary is failed over within a few seconds.
const NODE_TIMEOUT_MS: &str = "2000";
const FORM_TIMEOUT: Duration = Duration::from_secs(60);
const FAILOVER_TIMEOUT: Duration = Duration::from_secs(60);

/// A running Redis Cluster; every node is killed on drop.
pub struct RedisCluster {
    nodes: Vec<Node>,
    dirs: Vec<tempfile::TempDir>,
    /// Ports of the nodes killed so far: a failover is over when no live node still gives
    /// them a slot.
    killed: Vec<u16>,
    primaries: usize,
    replicas: usize,
}

impl std::fmt::Debug for RedisCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCluster")
            .field("ports", &self.ports())
            .finish()
    }
}

impl RedisCluster {
    /// Starts `primaries × (1 + replicas_per_primary)` nodes, creates the cluster and waits
    /// until every node reports `cluster_state:ok`, all 16384 slots are covered and every
    /// primary has its replicas connected.
    pub fn start(primaries: usize, replicas_per_primary: usize) -> RedisCluster {
        assert!(primaries >= 3, "redis-harness: a cluster needs 3 primaries");
        let total = primaries * (1 + replicas_per_primary);
        let mut nodes = Vec::with_capacity(total);
        let mut dirs = Vec::with_capacity(total);
        for _ in 0..total {
            let dir = tempfile::tempdir()
                .unwrap_or_else(|e| panic!("redis-harness: cannot make a temp dir: {e}"));
            let node = (0..10)
                .find_map(|_| Node::spawn(free_port(), dir.path(), &cluster_args()))
                .unwrap_or_else(|| panic!("redis-harness: a cluster node would not start"));
            nodes.push(node);
            dirs.push(dir);
        }
        let cluster = RedisCluster {
            nodes,
            dirs,
            killed: Vec::new(),
            primaries,
            replicas: replicas_per_primary,
        };
        let addrs: Vec<String> = cluster
            .ports()
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        let mut args: Vec<&str> = vec!["--cluster", "create"];
        args.extend(addrs.iter().map(String::as_str));
        let replicas = replicas_per_primary.to_string();
        args.extend(["--cluster-replicas", &replicas, "--cluster-yes"]);
        if cli::run(cluster.nodes[0].port, &args).is_none() {
            panic!("redis-harness: `redis-cli --cluster create` failed for {addrs:?}");
        }
        cluster.wait_healthy(primaries, replicas_per_primary, FORM_TIMEOUT);
        cluster
    }

    /// Ports of every node started (primaries and replicas, live or not).
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }

    /// `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,…` (every node started, live or not).
    pub fn url(&self) -> String {
        let addrs: Vec<String> = self
            .ports()
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        format!("redis+cluster://{}", addrs.join(","))
    }

    fn live_ports(&mut self) -> Vec<u16> {
        self.nodes
            .iter_mut()
            .filter_map(|n| n.is_running().then_some(n.port))
            .collect()
    }

    /// Ports of the live primaries, as one live node sees them (`CLUSTER NODES`).
    pub fn primary_ports(&mut self) -> Vec<u16> {
        let live = self.live_ports();
        for port in live {
            if let Some(text) = cli::run(port, &["CLUSTER", "NODES"]) {
                return text
                    .lines()
                    .filter(|l| l.contains("master") && !l.contains("fail"))
                    .filter_map(node_port)
                    .collect();
            }
        }
        panic!("redis-harness: no live cluster node answers CLUSTER NODES");
    }

    /// The port of the primary serving `slot`.
    pub fn primary_of_slot(&mut self, slot: u16) -> u16 {
        let live = self.live_ports();
        for port in live {
            let Some(text) = cli::run(port, &["CLUSTER", "NODES"]) else {
                continue;
            };
            for l in text.lines() {
                if !l.contains("master") || l.contains("fail") {
                    continue;
                }
                let owns = l.split_whitespace().skip(8).any(|r| {
                    let mut it = r.splitn(2, '-');
                    let lo = it.next().and_then(|v| v.parse::<u16>().ok());
                    let hi = it.next().and_then(|v| v.parse::<u16>().ok()).or(lo);
                    matches!((lo, hi), (Some(lo), Some(hi)) if lo <= slot && slot <= hi)
                });
                if owns {
                    if let Some(p) = node_port(l) {
                        return p;
                    }
                }
            }
        }
        panic!("redis-harness: no live primary serves slot {slot}");
    }

    /// SIGKILLs the primary that serves `slot`; returns its port.
    pub fn kill_primary_of_slot(&mut self, slot: u16) -> u16 {
        let port = self.primary_of_slot(slot);
        self.kill_port(port);
        port
    }

    /// SIGKILLs the `i`-th live primary (in `CLUSTER NODES` order); returns its port.
    pub fn kill_primary(&mut self, i: usize) -> u16 {
        let primaries = self.primary_ports();
        let port = *primaries
            .get(i)
            .unwrap_or_else(|| panic!("redis-harness: no primary #{i} in {primaries:?}"));
        self.kill_port(port);
        port
    }

    fn kill_port(&mut self, port: u16) {
        match self.nodes.iter_mut().find(|n| n.port == port) {
            Some(n) => {
                n.kill();
                self.killed.push(port);
            }
            None => panic!("redis-harness: port {port} is not a node of this cluster"),
        }
    }

    /// Waits until the live nodes agree the cluster is whole again (`cluster_state:ok` and
    /// all slots served by live primaries): a replica has taken over the killed primary.
    pub fn wait_failover(&mut self) {
        let deadline = Instant::now() + FAILOVER_TIMEOUT;
        loop {
            if self.all_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "redis-harness: no failover within {FAILOVER_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Every live node: state ok, every slot served, and no slot left with a killed node
    /// (right after a kill the survivors still report ok until the node timeout passes).
    fn all_ok(&mut self) -> bool {
        let live = self.live_ports();
        let killed = self.killed.clone();
        !live.is_empty()
            && live.iter().all(|&p| {
                let Some(info) = cli::run(p, &["CLUSTER", "INFO"]) else {
                    return false;
                };
                let Some(nodes) = cli::run(p, &["CLUSTER", "NODES"]) else {
                    return false;
                };
                let killed_own_slots = nodes.lines().any(|l| {
                    node_port(l).is_some_and(|port| killed.contains(&port))
                        && l.split_whitespace().nth(8).is_some()
                });
                cli::field(&info, "cluster_state").as_deref() == Some("ok")
                    && cli::field(&info, "cluster_slots_ok").as_deref() == Some("16384")
                    && !killed_own_slots
            })
    }

    /// Starts every killed node again (same port and `nodes.conf`): each rejoins as a
    /// replica of the node that took over. Waits until the cluster is whole again, every
    /// primary with its replicas connected.
    pub fn restart_killed(&mut self) {
        for port in std::mem::take(&mut self.killed) {
            let i = self
                .nodes
                .iter()
                .position(|n| n.port == port)
                .unwrap_or_else(|| panic!("redis-harness: no node on port {port}"));
            let node = (0..50)
                .find_map(|_| {
                    let n = Node::spawn(port, self.dirs[i].path(), &cluster_args());
                    if n.is_none() {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    n
                })
                .unwrap_or_else(|| panic!("redis-harness: node {port} would not restart"));
            self.nodes[i] = node;
        }
        self.wait_healthy(self.primaries, self.replicas, FORM_TIMEOUT);
    }

    fn wait_healthy(&self, primaries: usize, replicas: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if self.healthy(primaries, replicas) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "redis-harness: the cluster did not become healthy within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn healthy(&self, primaries: usize, replicas: usize) -> bool {
        let mut seen_primaries = 0;
        for n in &self.nodes {
            let Some(info) = cli::run(n.port, &["CLUSTER", "INFO"]) else {
                return false;
            };
            if cli::field(&info, "cluster_state").as_deref() != Some("ok")
                || cli::field(&info, "cluster_slots_ok").as_deref() != Some("16384")
            {
                return false;
            }
            let Some(repl) = cli::run(n.port, &["INFO", "replication"]) else {
                return false;
            };
            match cli::field(&repl, "role").as_deref() {
                Some("master") => {
                    seen_primaries += 1;
                    // Each replica line reads `slaveN:ip=…,port=…,state=online,…`.
                    let online = repl
                        .lines()
                        .filter(|l| l.starts_with("slave") && l.contains("state=online"))
                        .count();
                    if online < replicas {
                        return false;
                    }
                }
                Some("slave") => {
                    if cli::field(&repl, "master_link_status").as_deref() != Some("up") {
                        return false;
                    }
                }
                _ => return false,
            }
        }
        seen_primaries == primaries
    }

    /// Temp dirs of the nodes (logs and `nodes.conf`), for debugging a failed test.
    pub fn dirs(&self) -> Vec<std::path::PathBuf> {
        self.dirs.iter().map(|d| d.path().to_path_buf()).collect()
    }
}

fn cluster_args() -> [&'static str; 6] {
    [
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        "nodes.conf",
        "--cluster-node-timeout",
        NODE_TIMEOUT_MS,
    ]
}

/// The port in a `CLUSTER NODES` line (`id ip:port@bus flags …`).
fn node_port(line: &str) -> Option<u16> {
    let addr = line.split_whitespace().nth(1)?;
    let hostport = addr.split('@').next()?;
    hostport.rsplit(':').next()?.parse().ok()
}
