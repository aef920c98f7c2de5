//! `sessiond serve`: [`start`] opens the store and keys, bootstraps and binds; [`run`] serves
//! one listener until a shutdown future completes, then drains and flushes. `run` is the seam
//! tests use to start several replicas on one store, in-process or as processes.

use crate::config::{ConfigError, ServeConfig};
use crate::conn_limit::LimitAcceptor;
use crate::datadir::{DataDir, DataDirError};
use crate::keyfile::{KeyFileError, Keys};
use crate::stores::{self, StoreSpec};
use crate::tasks;
use axum_server::accept::NoDelayAcceptor;
use ipnet::IpNet;
use sessiond_api::AppState;
use sessiond_core::registry::RegistryConfig;
use sessiond_core::rules::bulk::ConfirmKey;
use sessiond_core::secretbox::SealKey;
use sessiond_core::{Registry, Store, SystemClock};
use sessiond_delivery::signer::EventSigner;
use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
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
        event_retention: ServeConfig::duration(
            "event_retention",
            &cfg.event_retention,
            d.event_retention,
        )?,
        webhooks_allow_private: cfg.webhooks_allow_private,
        login_failures_before_backoff: cfg
            .login_failures_per_name
            .unwrap_or(d.login_failures_before_backoff),
        login_failures_per_address: cfg
            .login_failures_per_address
            .unwrap_or(d.login_failures_per_address),
        sink_retry: sessiond_core::sinks::RetryPolicy {
            base: ServeConfig::duration(
                "webhook_retry_base",
                &cfg.webhook_retry_base,
                d.sink_retry.base,
            )?,
            window: ServeConfig::duration(
                "webhook_retry_window",
                &cfg.webhook_retry_window,
                d.sink_retry.window,
            )?,
            ..d.sink_retry
        },
        ..d
    })
}

/// The shared secrets: from `--key-file` (required for a store that several replicas
/// share), else created once in the data dir (one process per SQLite file).
fn keys(cfg: &ServeConfig, spec: &StoreSpec, data: &DataDir) -> Result<Keys, ServeError> {
    match &cfg.key_file {
        Some(p) => Ok(crate::keyfile::read(p)?),
        None if spec.is_shared() => Err(ServeError::Other(format!(
            "--store {} is shared by replicas: give every replica the same --key-file \
             (create one with `sessiond admin keygen --out FILE`)",
            spec.redacted()
        ))),
        None => Ok(Keys {
            confirm: data.confirm_key()?,
            seal: data.seal_key()?,
            event_signing_key: data.event_signing_key()?,
        }),
    }
}

/// How one listener is served.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// `None`: plain HTTP. A handle: reloading it (SIGHUP) changes the certificate for new
    /// connections while open ones keep theirs.
    pub tls: Option<axum_server::tls_rustls::RustlsConfig>,
    pub trusted_proxies: Vec<IpNet>,
    pub body_limit: usize,
    pub max_in_flight: usize,
    pub sweep_every: Duration,
    /// SHA-256 of the token `/metrics` requires; `None`: open.
    pub metrics_token: Option<[u8; 32]>,
    /// Connections open at once; more are closed as they arrive.
    pub max_connections: usize,
    /// A request still unanswered after this gets the dialect's 503.
    pub request_timeout: Duration,
    /// A client that has not sent a whole request head by then is disconnected (slowloris).
    pub header_read_timeout: Duration,
    /// Signs SSF Security Event Tokens; `None`: SSF answers 503 and pushes fail.
    pub signer: Option<Arc<EventSigner>>,
    /// The SSF issuer (`--public-url`); `None`: each request's scheme and host.
    pub public_url: Option<String>,
}

impl RunOptions {
    pub fn plain() -> RunOptions {
        RunOptions {
            tls: None,
            trusted_proxies: Vec::new(),
            body_limit: sessiond_api::state::DEFAULT_BODY_LIMIT,
            max_in_flight: sessiond_api::state::DEFAULT_MAX_IN_FLIGHT,
            sweep_every: Duration::from_secs(5),
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            metrics_token: None,
            max_connections: crate::conn_limit::DEFAULT_MAX_CONNECTIONS,
            request_timeout: sessiond_api::state::DEFAULT_REQUEST_TIMEOUT,
            signer: None,
            public_url: None,
        }
    }
}

/// `sessiond serve`: everything from the configuration to the readiness line.
pub async fn start(cfg: ServeConfig) -> Result<(), ServeError> {
    let data = DataDir::open(&cfg.data_dir())?;
    let reg_cfg = registry_config(&cfg)?;
    let spec = StoreSpec::parse(cfg.store.as_deref())?;
    let keys = keys(&cfg, &spec, &data)?;
    let store = stores::open(
        &spec,
        &data,
        &stores::StoreOptions::from_config(&cfg, &reg_cfg)?,
    )
    .await?;
    let registry = Arc::new(
        Registry::new(
            store,
            Arc::new(SystemClock),
            reg_cfg,
            ConfirmKey::new(keys.confirm),
        )
        .with_seal_key(SealKey::new(keys.seal)),
    );
    let admin_pw = std::env::var("SESSIOND_ADMIN_PASSWORD").ok();
    if let Some(pw) = registry
        .bootstrap(admin_pw)
        .await
        .map_err(|e| ServeError::Other(e.to_string()))?
    {
        // Shown once, on stderr only, never logged (and not eprintln!, which panics when
        // stderr is closed).
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "created principal \"admin\" with generated password: {pw}"
        );
        let _ = writeln!(
            err,
            "(set SESSIOND_ADMIN_PASSWORD before the first start to choose it)"
        );
    }
    let listener = bind(cfg.listen())?;
    let addr = local_addr(&listener, cfg.listen())?;
    let tls = if cfg.plain_http {
        None
    } else {
        let load = {
            let (cert, key) = (cfg.tls_cert.clone(), cfg.tls_key.clone());
            let dir = data.path().to_path_buf();
            move || {
                crate::tls::server_config(cert.as_deref(), key.as_deref(), &dir, Some(addr.ip()))
            }
        };
        let rustls = axum_server::tls_rustls::RustlsConfig::from_config(load()?);
        reload_on_sighup(rustls.clone(), load)?;
        Some(rustls)
    };
    let opts = RunOptions {
        tls,
        trusted_proxies: trusted_proxies(&cfg.trusted_proxies)?,
        body_limit: cfg
            .body_limit
            .unwrap_or(sessiond_api::state::DEFAULT_BODY_LIMIT),
        max_in_flight: cfg
            .max_in_flight
            .unwrap_or(sessiond_api::state::DEFAULT_MAX_IN_FLIGHT),
        sweep_every: ServeConfig::duration(
            "sweep_interval",
            &cfg.sweep_interval,
            Duration::from_secs(5),
        )?,
        header_read_timeout: ServeConfig::duration(
            "header_read_timeout",
            &cfg.header_read_timeout,
            DEFAULT_HEADER_READ_TIMEOUT,
        )?,
        metrics_token: metrics_token(cfg.metrics_token_file.as_deref())?,
        max_connections: cfg
            .max_connections
            .unwrap_or(crate::conn_limit::DEFAULT_MAX_CONNECTIONS),
        request_timeout: ServeConfig::duration(
            "request_timeout",
            &cfg.request_timeout,
            sessiond_api::state::DEFAULT_REQUEST_TIMEOUT,
        )?,
        signer: Some(Arc::new(
            EventSigner::from_pkcs8(&keys.event_signing_key)
                .map_err(|e| ServeError::Other(e.to_string()))?,
        )),
        public_url: public_url(cfg.public_url.as_deref())?,
    };
    // Registered before the readiness line: a SIGTERM right after it must drain, not kill.
    let mut signals = StopSignals::register()?;
    run(listener, registry, opts, async move {
        signals.recv().await;
        // A second signal while draining: the operator will not wait for the drain.
        tokio::spawn(async move {
            signals.recv().await;
            tracing::warn!("second stop signal: exiting without waiting for the drain");
            std::process::exit(FORCED_EXIT);
        });
    })
    .await
}

/// SIGHUP re-reads the certificate and key (`load`): new connections get the new ones, open
/// connections keep theirs; a file that does not load leaves the current certificate.
fn reload_on_sighup<F>(
    rustls: axum_server::tls_rustls::RustlsConfig,
    load: F,
) -> Result<(), ServeError>
where
    F: Fn() -> Result<Arc<rustls::ServerConfig>, crate::tls::TlsError> + Send + 'static,
{
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hup = signal(SignalKind::hangup())
            .map_err(|e| ServeError::Other(format!("cannot handle SIGHUP: {e}")))?;
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                match load() {
                    Ok(cfg) => {
                        rustls.reload_from_config(cfg);
                        tracing::info!("TLS certificate reloaded");
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "TLS certificate reload failed; the current one stays")
                    }
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = (rustls, load);
    Ok(())
}

/// How long a client may take to send a request head (`--header-read-timeout`).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The exit status after a second stop signal cut the drain short (a clean stop is 0).
pub const FORCED_EXIT: i32 = 1;

/// `--metrics-token-file`: the scrape token, read from a file (not a flag: it would show in
/// the process list), kept only as its SHA-256.
fn metrics_token(path: Option<&std::path::Path>) -> Result<Option<[u8; 32]>, ConfigError> {
    use sha2::{Digest, Sha256};
    let Some(path) = path else { return Ok(None) };
    let invalid = |message: String| ConfigError::Invalid {
        field: "metrics_token_file",
        message,
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| invalid(format!("{}: {e}", path.display())))?;
    let token = text.trim();
    if token.len() < 16 {
        return Err(invalid(format!(
            "{}: the token must have at least 16 characters",
            path.display()
        )));
    }
    Ok(Some(Sha256::digest(token.as_bytes()).into()))
}

/// `--public-url`: an http(s) URL without query or fragment, kept without a final slash.
fn public_url(v: Option<&str>) -> Result<Option<String>, ConfigError> {
    let Some(v) = v else { return Ok(None) };
    let invalid = |message: String| ConfigError::Invalid {
        field: "public_url",
        message,
    };
    let u = url::Url::parse(v).map_err(|e| invalid(format!("{v:?}: {e}")))?;
    if !matches!(u.scheme(), "http" | "https") || u.query().is_some() || u.fragment().is_some() {
        return Err(invalid(format!(
            "{v:?}: an http(s) URL without query or fragment"
        )));
    }
    Ok(Some(u.as_str().trim_end_matches('/').to_string()))
}

fn trusted_proxies(list: &[String]) -> Result<Vec<IpNet>, ConfigError> {
    list.iter()
        .map(|p| {
            p.parse::<IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| ConfigError::Invalid {
                    field: "trusted_proxies",
                    message: format!("{p:?}"),
                })
        })
        .collect()
}

/// Binds a listener (port 0 picks a free port).
pub fn bind(addr: &str) -> Result<std::net::TcpListener, ServeError> {
    let err = |source| ServeError::Bind {
        addr: addr.to_string(),
        source,
    };
    let listener = std::net::TcpListener::bind(addr).map_err(err)?;
    listener.set_nonblocking(true).map_err(err)?;
    Ok(listener)
}

fn local_addr(l: &std::net::TcpListener, wanted: &str) -> Result<SocketAddr, ServeError> {
    l.local_addr().map_err(|source| ServeError::Bind {
        addr: wanted.to_string(),
        source,
    })
}

/// Serves `listener` with `registry` until `shutdown` completes; then drains in-flight
/// requests (up to 30 s), stops the background tasks and flushes buffered touches. Prints
/// the readiness line once accepting.
pub async fn run(
    listener: std::net::TcpListener,
    registry: Arc<Registry>,
    opts: RunOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let addr = local_addr(&listener, "listener")?;
    let (draining_tx, draining) = tokio::sync::watch::channel(false);
    let state = AppState {
        registry: registry.clone(),
        // One recorder per process: a second replica in the same process renders none.
        metrics: metrics_exporter_prometheus::PrometheusBuilder::new()
            .install_recorder()
            .ok(),
        trusted_proxies: Arc::new(opts.trusted_proxies),
        body_limit: opts.body_limit,
        max_in_flight: opts.max_in_flight,
        request_timeout: opts.request_timeout,
        draining,
        ssf: opts.signer.clone().map(|signer| {
            Arc::new(sessiond_api::ssf::SsfState {
                signer,
                issuer: opts.public_url.clone(),
                scheme: if opts.tls.is_some() { "https" } else { "http" },
            })
        }),
        tls: opts.tls.is_some(),
        metrics_token: opts.metrics_token,
    };
    let app = sessiond_api::app(state).into_make_service_with_connect_info::<SocketAddr>();
    let handle = axum_server::Handle::new();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let background = tasks::spawn(registry.clone(), opts.sweep_every, stop_rx.clone());
    // Events pushed to webhooks, by whichever replica holds each one's lease.
    let delivery = sessiond_delivery::spawn(
        registry.clone(),
        sessiond_delivery::DeliveryOptions::new(
            registry.config().webhooks_allow_private,
            sessiond_delivery::TIMEOUT,
            opts.signer.clone(),
        ),
        stop_rx,
    );
    let drain = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: draining in-flight requests");
        // Event streams end now; their clients resume elsewhere with Last-Event-ID.
        let _ = draining_tx.send(true);
        drain.graceful_shutdown(Some(Duration::from_secs(30)));
    });
    let opts_timeouts = Timeouts {
        header_read: opts.header_read_timeout,
    };
    let served = match opts.tls {
        // TCP_NODELAY: an event stream writes small frames one after another, and with
        // Nagle each waited for the client's delayed ACK (ack-to-receipt p99 36.6 ms at
        // 100k sessions, most of it that wait).
        None => {
            let mut server = axum_server::from_tcp(listener)
                .acceptor(LimitAcceptor::new(
                    NoDelayAcceptor::new(),
                    opts.max_connections,
                ))
                .handle(handle);
            limit_slow_clients(server.http_builder(), &opts_timeouts);
            announce("http", addr);
            server.serve(app).await
        }
        Some(rustls) => {
            // The limit applies before the TLS handshake.
            let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(rustls).acceptor(
                LimitAcceptor::new(NoDelayAcceptor::new(), opts.max_connections),
            );
            let mut server = axum_server::from_tcp(listener)
                .acceptor(acceptor)
                .handle(handle);
            limit_slow_clients(server.http_builder(), &opts_timeouts);
            announce("https", addr);
            server.serve(app).await
        }
    };
    let _ = stop_tx.send(true);
    let _ = background.await;
    let _ = delivery.await;
    // Last word: whatever activity is still buffered reaches the store before exit.
    if let Err(e) = registry.flush_touches().await {
        tracing::error!(error = %e, "final touch flush failed");
    }
    tracing::info!("stopped");
    served.map_err(|e| ServeError::Other(format!("server error: {e}")))
}

/// The timeouts that bound a slow client's hold on a connection.
struct Timeouts {
    header_read: Duration,
}

/// hyper only enforces its header read timeout with a timer, which axum-server does not
/// set: without one, a client trickling a request head a byte at a time held its connection
/// (and memory, and a descriptor) forever.
fn limit_slow_clients(
    b: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    t: &Timeouts,
) {
    b.http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(t.header_read);
    b.http2().timer(hyper_util::rt::TokioTimer::new());
}

/// The one readiness line tests and scripts wait for.
fn announce(scheme: &str, addr: SocketAddr) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on {scheme}://{addr}");
    let _ = out.flush();
    tracing::info!(%addr, scheme, "ready");
}

/// The signals that stop the server.
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

/// Keeps `Store` in the public signature's vocabulary (replicas share one `Arc<dyn Store>`).
pub type SharedStore = Arc<dyn Store>;
