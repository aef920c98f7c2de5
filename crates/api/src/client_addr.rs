//! The client's address: the socket peer, or what a trusted proxy says it forwarded for
//! (`Forwarded: for=`, RFC 7239, else `X-Forwarded-For`); from anyone else these headers
//! are ignored.

use crate::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// Walks the forwarded hops from the right, skipping trusted proxies, so a client cannot
/// spoof its address by sending the header itself. `Forwarded` wins over `X-Forwarded-For`
/// when a request has both (a proxy that writes the standard header writes it last).
pub fn client_ip(parts: &Parts, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())?;
    client_ip_of(peer, &parts.headers, trusted)
}

fn client_ip_of(
    peer: IpAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    if !trusted.iter().any(|n| n.contains(&peer)) {
        return Some(peer);
    }
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|s| s.trim().to_string())
            .collect()
    };
    let forwarded = values("forwarded");
    let mut hops: Vec<IpAddr> = if forwarded.is_empty() {
        values("x-forwarded-for")
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect()
    } else {
        forwarded.iter().filter_map(|e| forwarded_for(e)).collect()
    };
    while let Some(ip) = hops.pop() {
        if !trusted.iter().any(|n| n.contains(&ip)) {
            return Some(ip);
        }
    }
    Some(peer)
}

/// The `for=` address of one `Forwarded` element (`for=192.0.2.60;proto=https`,
/// `for="[2001:db8::17]:4711"`); `None` for `unknown`, obfuscated names and anything else.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    let v = element.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        k.trim().eq_ignore_ascii_case("for").then_some(v.trim())
    })?;
    let v = v.trim_matches('"');
    if let Some(rest) = v.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    // IPv4 with an optional port; a bare IPv6 is not allowed unquoted, but take it whole.
    v.parse().ok().or_else(|| v.split_once(':')?.0.parse().ok())
}

/// Where a login came from: client address and user agent.
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl FromRequestParts<AppState> for Origin {
    // Never fails: a missing peer address is simply unknown.
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        st: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Origin {
            ip: client_ip(parts, &st.trusted_proxies).map(|ip| ip.to_string()),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(512).collect()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn forwarded_elements_give_their_for_address() {
        assert_eq!(
            forwarded_for("for=192.0.2.60;proto=http;by=203.0.113.43"),
            "192.0.2.60".parse().ok()
        );
        assert_eq!(
            forwarded_for("For=\"[2001:db8:cafe::17]:4711\""),
            "2001:db8:cafe::17".parse().ok()
        );
        assert_eq!(
            forwarded_for("for=192.0.2.43:47011"),
            "192.0.2.43".parse().ok()
        );
        assert_eq!(forwarded_for("for=unknown"), None);
        assert_eq!(forwarded_for("for=_hidden"), None);
        assert_eq!(forwarded_for("proto=https"), None);
    }

    #[test]
    fn only_a_trusted_proxy_is_believed() {
        let proxy: IpAddr = "10.0.0.5".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let trusted: Vec<IpNet> = vec!["10.0.0.0/24".parse().unwrap_or_default()];
        let h = headers(&[
            ("forwarded", "for=198.51.100.7"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        // From the proxy: Forwarded wins.
        assert_eq!(
            client_ip_of(proxy, &h, &trusted),
            "198.51.100.7".parse().ok()
        );
        // From anyone else: the socket peer, whatever the headers say.
        let stranger: IpAddr = "192.0.2.1".parse().unwrap_or(proxy);
        assert_eq!(client_ip_of(stranger, &h, &trusted), Some(stranger));
        // X-Forwarded-For when there is no Forwarded.
        let h = headers(&[("x-forwarded-for", "203.0.113.9, 10.0.0.7")]);
        assert_eq!(
            client_ip_of(proxy, &h, &trusted),
            "203.0.113.9".parse().ok()
        );
        // A client's own spoofed first hop is skipped past: the rightmost untrusted hop counts.
        let h = headers(&[("forwarded", "for=6.6.6.6, for=198.51.100.7")]);
        assert_eq!(
            client_ip_of(proxy, &h, &trusted),
            "198.51.100.7".parse().ok()
        );
        // Nothing usable: the proxy itself.
        let h = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(client_ip_of(proxy, &h, &trusted), Some(proxy));
    }
}
