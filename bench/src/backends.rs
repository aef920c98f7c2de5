//! The stores one bench run measures — SQLite, a standalone Redis, a Redis Cluster of three
//! primaries with a replica each — started on loopback for the run, with the Redis anchors
//! (`redis-benchmark` GET on the same servers) and Redis memory figures.

use sessiond_redis_harness::{RedisCluster, RedisServer};
use std::path::Path;
use std::process::Command;

pub type Res<T> = Result<T, String>;

pub enum Backend {
    Sqlite,
    Redis(RedisServer),
    Cluster(RedisCluster),
}

impl Backend {
    /// `sqlite`, `redis` or `cluster`.
    pub fn start(name: &str) -> Res<Backend> {
        match name {
            "sqlite" => Ok(Backend::Sqlite),
            "redis" => Ok(Backend::Redis(RedisServer::start())),
            "cluster" => Ok(Backend::Cluster(RedisCluster::start(3, 1))),
            other => Err(format!(
                "unknown store {other:?} (expected sqlite, redis, cluster)"
            )),
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Redis(_) => "redis",
            Backend::Cluster(_) => "redis-cluster",
        }
    }

    /// `serve` flags selecting this store (Redis needs the shared key file).
    pub fn serve_args(&self, key_file: &Path) -> Vec<String> {
        let url = match self {
            Backend::Sqlite => return vec![],
            Backend::Redis(r) => r.url(),
            Backend::Cluster(c) => c.url(),
        };
        vec![
            "--store".into(),
            url,
            "--key-file".into(),
            key_file.display().to_string(),
        ]
    }

    /// Ports of the primaries (where each key lives once).
    pub fn primaries(&mut self) -> Vec<u16> {
        match self {
            Backend::Sqlite => vec![],
            Backend::Redis(r) => vec![r.port()],
            Backend::Cluster(c) => c.primary_ports(),
        }
    }

    /// Ports of every Redis process of the store, replicas too (they replay each write):
    /// whose CPU the bench counts as the store's.
    pub fn all_ports(&mut self) -> Vec<u16> {
        match self {
            Backend::Sqlite => vec![],
            Backend::Redis(r) => vec![r.port()],
            Backend::Cluster(c) => c.ports(),
        }
    }

    /// `redis-benchmark -t get` against the same Redis, `conns` clients: the anchor of
    /// "one Redis round trip per validate".
    pub fn redis_get_anchor(&mut self, conns: u32, requests: u32) -> Option<f64> {
        let port = *self.primaries().first()?;
        let mut cmd = Command::new("redis-benchmark");
        cmd.args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .args(["-t", "get", "-q", "-c", &conns.to_string()])
            .args(["-n", &requests.to_string()]);
        if matches!(self, Backend::Cluster(_)) {
            cmd.arg("--cluster");
        }
        let out = cmd.output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        // The last "GET: N requests per second" (progress lines come first with -q).
        text.split(['\r', '\n'])
            .rev()
            .filter_map(|l| l.trim().strip_prefix("GET:"))
            .find_map(|l| l.split_whitespace().next()?.parse().ok())
    }

    /// (bytes used, keys) summed over the primaries.
    pub fn memory(&mut self) -> Option<(u64, u64)> {
        let ports = self.primaries();
        if ports.is_empty() {
            return None;
        }
        let (mut bytes, mut keys) = (0u64, 0u64);
        for p in ports {
            bytes += info_field::<u64>(&redis_cli(p, &["INFO", "memory"])?, "used_memory")?;
            keys += redis_cli(p, &["DBSIZE"])?.trim().parse::<u64>().ok()?;
        }
        Some((bytes, keys))
    }
}

/// A `name:value` field of an INFO answer, parsed.
pub fn info_field<T: std::str::FromStr>(info: &str, name: &str) -> Option<T> {
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))?
        .trim()
        .parse()
        .ok()
}

/// `redis-cli -h 127.0.0.1 -p PORT args…`'s stdout, or `None` when it failed.
pub fn redis_cli(port: u16, args: &[&str]) -> Option<String> {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}
