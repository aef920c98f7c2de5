//! `sessiond serve`: open the store, bootstrap, bind, serve until a signal, then drain and flush.

use crate::config::{ConfigError, ServeConfig};
use crate::datadir::{DataDir, DataDirError};
use crate::tasks;
use ipnet::IpNet;
use sessiond_api::AppState;
use sessiond_core::registry::RegistryConfig;
use sessiond_core::rules::bulk::ConfirmKey;
use sessiond_core::{Registry, Store, SystemClock};
use sessiond_store_sqlite::SqliteStore;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    #[error("store: {0}")]
    Store(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("{0}")]
    Other(String),
}

/// Opens the configured store. Only SQLite exists so far; other URLs are refused clearly.
pub fn open_store(spec: Option<&str>, dir: &DataDir) -> Result<Arc<SqliteStore>, ServeError> {
    let path = match spec {
        None | Some("sqlite") => dir.db_path(),
        Some(s) if s.starts_with("sqlite:") => PathBuf::from(&s["sqlite:".len()..]),
        Some(other) => {
            return Err(ServeError::Store(format!(
                "unsupported store {other:?} (this build supports sqlite and sqlite:PATH)"
            )))
        }
    };
    SqliteStore::open(&path)
        .map(Arc::new)
        .map_err(|e| ServeError::Store(e.to_string()))
}

pub fn registry_config(cfg: &ServeConfig) -> Result<RegistryConfig, ConfigError> {
    let d = RegistryConfig::default();
    Ok(RegistryConfig {
        default_idle_timeout: ServeConfig::duration(
            "idle_timeout",
            &cfg.idle_timeout,
            d.default_idle_timeout,
        )?,
        default_absolute_timeout: ServeConfig::duration(
            "absolute_timeout",
            &cfg.absolute_timeout,
            d.default_absolute_timeout,
        )?,
        retention: ServeConfig::duration("retention", &cfg.retention, d.retention)?,
        ..d
    })
}

pub async fn run(cfg: ServeConfig) -> Result<(), ServeError> {
    let data = DataDir::open(&cfg.data_dir())?;
    let store = open_store(cfg.store.as_deref(), &data)?;
    let confirm = ConfirmKey::new(data.confirm_key()?);
    let registry = Arc::new(
        Registry::new(
            store.clone() as Arc<dyn Store>,
            Arc::new(SystemClock),
            registry_config(&cfg)?,
            confirm,
        )
        .with_seal_key(sessiond_core::secretbox::SealKey::new(data.seal_key()?)),
    );
    let admin_pw = std::env::var("SESSIOND_ADMIN_PASSWORD").ok();
    if let Some(pw) = registry
        .bootstrap(admin_pw)
        .await
        .map_err(|e| ServeError::Other(e.to_string()))?
    {
        // Shown once, on stderr only, never logged.
        eprintln!("created principal \"admin\" with generated password: {pw}");
        eprintln!("(set SESSIOND_ADMIN_PASSWORD before the first start to choose it)");
    }

    let mut trusted = Vec::new();
    for p in &cfg.trusted_proxies {
        let net = p
            .parse::<IpNet>()
            .or_else(|_| p.parse::<std::net::IpAddr>().map(IpNet::from))
            .map_err(|_| ConfigError::Invalid {
                field: "trusted_proxies",
                message: format!("{p:?}"),
            })?;
        trusted.push(net);
    }
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .ok();
    let state = AppState {
        registry: registry.clone(),
        metrics,
        trusted_proxies: Arc::new(trusted),
        body_limit: cfg
            .body_limit
            .unwrap_or(sessiond_api::state::DEFAULT_BODY_LIMIT),
        max_in_flight: cfg
            .max_in_flight
            .unwrap_or(sessiond_api::state::DEFAULT_MAX_IN_FLIGHT),
    };
    let app = sessiond_api::app(state).into_make_service_with_connect_info::<SocketAddr>();

    let listener =
        std::net::TcpListener::bind(cfg.listen()).map_err(|source| ServeError::Bind {
            addr: cfg.listen().to_string(),
            source,
        })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| ServeError::Bind {
            addr: cfg.listen().to_string(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: cfg.listen().to_string(),
        source,
    })?;

    let handle = axum_server::Handle::new();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let sweep_every = ServeConfig::duration(
        "sweep_interval",
        &cfg.sweep_interval,
        Duration::from_secs(5),
    )?;
    let background = tasks::spawn(registry.clone(), sweep_every, stop_rx);
    tokio::spawn(shutdown_on_signal(handle.clone(), StopSignals::register()?));

    let scheme = if cfg.plain_http { "http" } else { "https" };
    let served = if cfg.plain_http {
        let server = axum_server::from_tcp(listener).handle(handle.clone());
        announce(scheme, addr);
        server.serve(app).await
    } else {
        let tls = crate::tls::server_config(
            cfg.tls_cert.as_deref(),
            cfg.tls_key.as_deref(),
            data.path(),
            Some(addr.ip()),
        )?;
        let rustls = axum_server::tls_rustls::RustlsConfig::from_config(tls);
        let server = axum_server::from_tcp_rustls(listener, rustls).handle(handle.clone());
        announce(scheme, addr);
        server.serve(app).await
    };
    let _ = stop_tx.send(true);
    let _ = background.await;
    // Last word: whatever activity is still buffered reaches the store before exit.
    if let Err(e) = registry.flush_touches().await {
        tracing::error!(error = %e, "final touch flush failed");
    }
    tracing::info!("stopped");
    served.map_err(|e| ServeError::Other(format!("server error: {e}")))
}

/// The one readiness line tests and scripts wait for.
fn announce(scheme: &str, addr: SocketAddr) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on {scheme}://{addr}");
    let _ = out.flush();
    tracing::info!(%addr, scheme, "ready");
}

/// The signals that stop the server, registered before the readiness line is printed: a
/// SIGTERM that arrives right after readiness must drain, not kill with the default action.
struct StopSignals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn register() -> Result<StopSignals, ServeError> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let err = |e: std::io::Error| ServeError::Other(format!("cannot handle signals: {e}"));
            Ok(StopSignals {
                term: signal(SignalKind::terminate()).map_err(err)?,
                int: signal(SignalKind::interrupt()).map_err(err)?,
            })
        }
        #[cfg(not(unix))]
        Ok(StopSignals {})
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {},
            _ = self.int.recv() => {},
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn shutdown_on_signal(handle: axum_server::Handle, mut signals: StopSignals) {
    signals.recv().await;
    tracing::info!("shutting down: draining in-flight requests");
    handle.graceful_shutdown(Some(Duration::from_secs(30)));
}
