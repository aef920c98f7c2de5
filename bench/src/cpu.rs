//! Where the CPU went during one wrk run: sessiond's own time, the store's (`INFO cpu` of
//! every Redis process, a Cluster's replicas included), and the whole machine's busy time (/proc/stat), so a throughput ratio can be
//! read as CPU microseconds per request on each side instead of guessed at.

use crate::backends::{info_field, redis_cli};

/// Cumulative CPU seconds at one instant.
#[derive(Clone, Copy, Default)]
pub struct Sample {
    server: f64,
    store: f64,
    machine_busy: f64,
}

/// CPU microseconds per request between two samples.
#[derive(Clone, Copy, Default, Debug)]
pub struct PerRequest {
    pub server_us: f64,
    pub store_us: f64,
    /// Everything else on the machine: the load generator, mostly.
    pub other_us: f64,
}

fn ticks_per_second() -> f64 {
    // USER_HZ is 100 on every Linux the project targets; /proc/stat and /proc/PID/stat use it.
    100.0
}

/// utime + stime of a process, in seconds.
pub(crate) fn process_cpu(pid: u32) -> f64 {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let Some(rest) = s.rfind(')').map(|i| &s[i + 1..]) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state); utime is field 14, stime field 15.
    let t = |i: usize| {
        f.get(i - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (t(14) + t(15)) / ticks_per_second()
}

/// Busy (non-idle, non-iowait) seconds of all CPUs together.
fn machine_busy() -> f64 {
    let Ok(s) = std::fs::read_to_string("/proc/stat") else {
        return 0.0;
    };
    let Some(line) = s.lines().find(|l| l.starts_with("cpu ")) else {
        return 0.0;
    };
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...
    let total: f64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0.0) + v.get(4).copied().unwrap_or(0.0);
    (total - idle) / ticks_per_second()
}

/// used_cpu_sys + used_cpu_user summed over Redis servers on these ports.
fn redis_cpu(ports: &[u16]) -> f64 {
    let mut sum = 0.0;
    for &p in ports {
        let Some(info) = redis_cli(p, &["INFO", "cpu"]) else {
            continue;
        };
        for key in ["used_cpu_sys", "used_cpu_user"] {
            sum += info_field::<f64>(&info, key).unwrap_or(0.0);
        }
    }
    sum
}

pub fn sample(server_pid: u32, redis_ports: &[u16]) -> Sample {
    Sample {
        server: process_cpu(server_pid),
        store: redis_cpu(redis_ports),
        machine_busy: machine_busy(),
    }
}

/// Per-request CPU between `a` and `b` for `requests` requests.
pub fn per_request(a: Sample, b: Sample, requests: f64) -> PerRequest {
    if requests <= 0.0 {
        return PerRequest::default();
    }
    let us = |x: f64| (x.max(0.0) * 1e6) / requests;
    let server = b.server - a.server;
    let store = b.store - a.store;
    let busy = b.machine_busy - a.machine_busy;
    PerRequest {
        server_us: us(server),
        store_us: us(store),
        other_us: us(busy - server - store),
    }
}
