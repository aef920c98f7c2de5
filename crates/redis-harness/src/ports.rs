//! Free loopback ports: bind port 0, read the port, release it (racy by nature, so callers
//! retry a start that fails on a taken port).

use std::net::{Ipv4Addr, TcpListener};

/// A port that was free a moment ago, whose cluster bus port (`port + 10000`) was free too.
pub(crate) fn free_port() -> u16 {
    for _ in 0..200 {
        let Ok(l) = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)) else {
            continue;
        };
        let Ok(addr) = l.local_addr() else { continue };
        let port = addr.port();
        // Redis Cluster also listens on port + 10000 (the bus), so that must fit and be free.
        if port > 55_535 {
            continue;
        }
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port + 10_000)).is_ok() {
            return port;
        }
    }
    panic!("redis-harness: found no free loopback port (with a free port + 10000)");
}
