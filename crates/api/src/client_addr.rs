//! The client's address: the socket peer, or `X-Forwarded-For` when the peer is a trusted proxy.

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// Walks `X-Forwarded-For` from the right, skipping trusted proxies, so a client cannot
/// spoof its address by sending the header itself.
pub fn client_ip(parts: &Parts, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())?;
    if !trusted.iter().any(|n| n.contains(&peer)) {
        return Some(peer);
    }
    let mut hops: Vec<IpAddr> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    while let Some(ip) = hops.pop() {
        if !trusted.iter().any(|n| n.contains(&ip)) {
            return Some(ip);
        }
    }
    Some(peer)
}
