//! Shared application state handed to every handler.

use ipnet::IpNet;
use metrics_exporter_prometheus::PrometheusHandle;
use sessiond_core::Registry;
use std::sync::Arc;

/// Default request body limit (DESIGN.md §4: 8 MiB; axum's own default is 2 MB).
pub const DEFAULT_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// Default bound on concurrently served requests.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 4096;

/// Default time a request may take until its answer's head (`--request-timeout`): generous
/// for the largest bulk ends (500,000 by filter took 13 s on a slow 2-core machine), short
/// enough that a client trickling its body does not hold a place for long.
pub const DEFAULT_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

#[derive(Clone)]
pub struct AppState {
    pub registry: Arc<Registry>,
    /// Renders `/metrics`; `None` when no recorder is installed (tests).
    pub metrics: Option<PrometheusHandle>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<Vec<IpNet>>,
    pub body_limit: usize,
    /// Requests served at once; more are shed with 503.
    pub max_in_flight: usize,
    /// A request still unanswered after this gets the dialect's 503.
    pub request_timeout: std::time::Duration,
    /// Becomes true when the server starts draining: long-lived streams (SSE) end then, so
    /// the drain does not wait on them.
    pub draining: tokio::sync::watch::Receiver<bool>,
    /// The SSF transmitter's key and issuer; `None`: SSF answers 503.
    pub ssf: Option<Arc<crate::ssf::SsfState>>,
    /// SHA-256 of the token `/metrics` requires (`--metrics-token-file`); `None`: open.
    pub metrics_token: Option<[u8; 32]>,
    /// Served over TLS: answers carry HSTS and the console's cookies are marked `Secure`.
    pub tls: bool,
}

impl AppState {
    pub fn new(registry: Arc<Registry>) -> Self {
        AppState {
            registry,
            metrics: None,
            trusted_proxies: Arc::new(Vec::new()),
            body_limit: DEFAULT_BODY_LIMIT,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            draining: tokio::sync::watch::channel(false).1,
            ssf: None,
            metrics_token: None,
            tls: false,
        }
    }
}
