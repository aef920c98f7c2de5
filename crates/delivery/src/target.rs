//! A receiver's address: the URL's host resolved once, refused when it lands on a private
//! address (unless allowed), and pinned, so a name cannot be re-resolved between the check
//! and the connection (DNS rebinding into the operator's network).

use sessiond_core::webhook::is_private_target;
use std::net::SocketAddr;
use std::time::Duration;

/// An HTTP client bound to one receiver's checked addresses.
#[derive(Clone, Debug)]
pub struct Target {
    pub(crate) url: url::Url,
    pub(crate) http: reqwest::Client,
}

impl Target {
    /// Resolves `raw`'s host and builds a client that connects only to the addresses found.
    /// Fails with a message fit for the delivery log.
    pub async fn resolve(
        raw: &str,
        allow_private: bool,
        timeout: Duration,
    ) -> Result<Target, String> {
        let url = sessiond_core::webhook::check_url(raw, allow_private)?;
        let host = url.host_str().ok_or("the URL has no host")?.to_string();
        let port = url
            .port_or_known_default()
            .ok_or("the URL has no port and no default one")?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = match bare.parse::<std::net::IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::time::timeout(timeout, tokio::net::lookup_host((bare, port)))
                .await
                .map_err(|_| format!("resolving {host} timed out"))?
                .map_err(|e| format!("cannot resolve {host}: {e}"))?
                .collect(),
        };
        if addrs.is_empty() {
            return Err(format!("{host} resolves to no address"));
        }
        if !allow_private {
            if let Some(a) = addrs.iter().find(|a| is_private_target(a.ip())) {
                return Err(format!(
                    "{host} resolves to {}, a loopback, link-local or private address; refused \
                     (--webhooks-allow-private allows it)",
                    a.ip()
                ));
            }
        }
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(timeout)
            .timeout(timeout)
            // A redirect would lead to an address nobody checked.
            .redirect(reqwest::redirect::Policy::none())
            .resolve_to_addrs(bare, &addrs)
            .user_agent(concat!("sessiond/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        Ok(Target { url, http })
    }
}
