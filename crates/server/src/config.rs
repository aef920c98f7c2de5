//! `sessiond serve` configuration: one struct read from `sessiond.toml`, then `SESSIOND_*`
//! environment variables, then flags (each overriding the one before).

use clap::Args;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Args, Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ServeConfig {
    /// Address to listen on (port 0 picks a free port)
    #[arg(long, env = "SESSIOND_LISTEN")]
    #[serde(default)]
    pub listen: Option<String>,
    /// Directory for the database, certificate and keys
    #[arg(long, env = "SESSIOND_DATA_DIR")]
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// Store: `sqlite` (default), `sqlite:PATH`, `redis://HOST:PORT/DB`,
    /// `redis+cluster://HOST:PORT,HOST:PORT,…`
    #[arg(long, env = "SESSIOND_STORE")]
    #[serde(default)]
    pub store: Option<String>,
    /// Key file shared by every replica of one store (`sessiond admin keygen`); required with
    /// a Redis store, else keys are kept in the data dir
    #[arg(long, env = "SESSIOND_KEY_FILE")]
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// Redis: replicas each acknowledged registration or end waits for (WAIT); default 1
    /// when the primary has replicas, else 0
    #[arg(long, env = "SESSIOND_REDIS_WAIT")]
    #[serde(default)]
    pub redis_wait: Option<u32>,
    /// Serve plain HTTP instead of HTTPS (tests, or behind a TLS-terminating proxy)
    #[arg(long, env = "SESSIOND_PLAIN_HTTP", value_parser = clap::builder::BoolishValueParser::new())]
    #[serde(default)]
    pub plain_http: bool,
    /// PEM certificate chain (with --tls-key); default: a self-signed one in the data dir
    #[arg(long, env = "SESSIOND_TLS_CERT", requires = "tls_key")]
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert
    #[arg(long, env = "SESSIOND_TLS_KEY", requires = "tls_cert")]
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// Default idle timeout of registered sessions (e.g. 30m; 0 = none)
    #[arg(long, env = "SESSIOND_IDLE_TIMEOUT")]
    #[serde(default)]
    pub idle_timeout: Option<String>,
    /// Default absolute timeout of registered sessions (e.g. 24h; 0 = none)
    #[arg(long, env = "SESSIOND_ABSOLUTE_TIMEOUT")]
    #[serde(default)]
    pub absolute_timeout: Option<String>,
    /// How long ended sessions are kept as tombstones (e.g. 7d)
    #[arg(long, env = "SESSIOND_RETENTION")]
    #[serde(default)]
    pub retention: Option<String>,
    /// How long session events are kept for subscribers to resume (e.g. 7d)
    #[arg(long, env = "SESSIOND_EVENT_RETENTION")]
    #[serde(default)]
    pub event_retention: Option<String>,
    /// Let webhooks target loopback, link-local and private addresses (off: no SSRF into
    /// the operator's network)
    #[arg(long, env = "SESSIOND_WEBHOOKS_ALLOW_PRIVATE")]
    #[serde(default)]
    pub webhooks_allow_private: bool,
    /// First delay before a failed webhook delivery is retried; it doubles (with jitter) up
    /// to an hour (e.g. 5s, 200ms)
    #[arg(long, env = "SESSIOND_WEBHOOK_RETRY_BASE")]
    #[serde(default)]
    pub webhook_retry_base: Option<String>,
    /// How long a webhook may keep failing before it is disabled (e.g. 24h)
    #[arg(long, env = "SESSIOND_WEBHOOK_RETRY_WINDOW")]
    #[serde(default)]
    pub webhook_retry_window: Option<String>,
    /// The URL receivers reach this server at (the SSF issuer), e.g. https://sessiond.example;
    /// default: the scheme and Host of each request
    #[arg(long, env = "SESSIOND_PUBLIC_URL")]
    #[serde(default)]
    pub public_url: Option<String>,
    /// Largest accepted request body in bytes
    #[arg(long, env = "SESSIOND_BODY_LIMIT")]
    #[serde(default)]
    pub body_limit: Option<usize>,
    /// Requests served concurrently before new ones get 503 + Retry-After
    #[arg(long, env = "SESSIOND_MAX_IN_FLIGHT")]
    #[serde(default)]
    pub max_in_flight: Option<usize>,
    /// Proxies (IPs or CIDRs) whose Forwarded / X-Forwarded-For is believed; repeat the flag
    /// or separate with commas (without any, the socket peer is the client)
    #[arg(
        long,
        visible_alias = "trusted-proxy",
        env = "SESSIOND_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Seconds between sweeper passes (expiry and tombstone purge)
    #[arg(long, env = "SESSIOND_SWEEP_INTERVAL")]
    #[serde(default)]
    pub sweep_interval: Option<String>,
    /// A file holding the token /metrics then requires as `Authorization: Bearer` (default:
    /// /metrics is open)
    #[arg(long, env = "SESSIOND_METRICS_TOKEN_FILE")]
    #[serde(default)]
    pub metrics_token_file: Option<std::path::PathBuf>,
    /// Failed logins of one name before it backs off (default 5; every dialect's login)
    #[arg(long, env = "SESSIOND_LOGIN_FAILURES_PER_NAME")]
    #[serde(default)]
    pub login_failures_per_name: Option<u32>,
    /// Failed logins from one client address, whatever the names, before it backs off
    /// (default 20)
    #[arg(long, env = "SESSIOND_LOGIN_FAILURES_PER_ADDRESS")]
    #[serde(default)]
    pub login_failures_per_address: Option<u32>,
    /// A request unanswered after this gets its dialect's 503 (default 120s)
    #[arg(long, env = "SESSIOND_REQUEST_TIMEOUT")]
    #[serde(default)]
    pub request_timeout: Option<String>,
    /// Connections open at once; beyond this a new one is closed as it arrives (default 8192)
    #[arg(long, env = "SESSIOND_MAX_CONNECTIONS")]
    #[serde(default)]
    pub max_connections: Option<usize>,
    /// Disconnect a client that has not sent a whole request head within this (default 10s)
    #[arg(long, env = "SESSIOND_HEADER_READ_TIMEOUT")]
    #[serde(default)]
    pub header_read_timeout: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

impl ServeConfig {
    /// Fills whatever flags and environment left unset from the config file.
    pub fn merge_file(mut self, path: Option<&Path>) -> Result<ServeConfig, ConfigError> {
        let (path, required) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from("sessiond.toml"), false),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => return Ok(self),
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        let file: ServeConfig = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.clone(),
            message: e.to_string(),
        })?;
        self.listen = self.listen.or(file.listen);
        self.data_dir = self.data_dir.or(file.data_dir);
        self.store = self.store.or(file.store);
        self.key_file = self.key_file.or(file.key_file);
        self.redis_wait = self.redis_wait.or(file.redis_wait);
        self.plain_http |= file.plain_http;
        self.tls_cert = self.tls_cert.or(file.tls_cert);
        self.tls_key = self.tls_key.or(file.tls_key);
        self.idle_timeout = self.idle_timeout.or(file.idle_timeout);
        self.absolute_timeout = self.absolute_timeout.or(file.absolute_timeout);
        self.retention = self.retention.or(file.retention);
        self.event_retention = self.event_retention.or(file.event_retention);
        self.public_url = self.public_url.or(file.public_url);
        self.webhooks_allow_private |= file.webhooks_allow_private;
        self.webhook_retry_base = self.webhook_retry_base.or(file.webhook_retry_base);
        self.webhook_retry_window = self.webhook_retry_window.or(file.webhook_retry_window);
        self.body_limit = self.body_limit.or(file.body_limit);
        self.max_in_flight = self.max_in_flight.or(file.max_in_flight);
        if self.trusted_proxies.is_empty() {
            self.trusted_proxies = file.trusted_proxies;
        }
        self.sweep_interval = self.sweep_interval.or(file.sweep_interval);
        self.header_read_timeout = self.header_read_timeout.or(file.header_read_timeout);
        self.metrics_token_file = self.metrics_token_file.or(file.metrics_token_file);
        self.max_connections = self.max_connections.or(file.max_connections);
        self.request_timeout = self.request_timeout.or(file.request_timeout);
        self.login_failures_per_name = self
            .login_failures_per_name
            .or(file.login_failures_per_name);
        self.login_failures_per_address = self
            .login_failures_per_address
            .or(file.login_failures_per_address);
        Ok(self)
    }

    pub fn listen(&self) -> &str {
        self.listen.as_deref().unwrap_or("127.0.0.1:8000")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("sessiond-data"))
    }

    pub fn duration(
        field: &'static str,
        v: &Option<String>,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        match v {
            None => Ok(default),
            Some(s) => sessiond_core::HumanDuration::parse(s)
                .map(|d| d.0)
                .map_err(|e| ConfigError::Invalid {
                    field,
                    message: format!("{s:?}: {e}"),
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_env_override_the_file_which_fills_the_rest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sessiond.toml");
        std::fs::write(
            &path,
            "listen = \"0.0.0.0:9000\"\ndata_dir = \"/var/lib/sessiond\"\nidle_timeout = \"5m\"\ntrusted_proxies = [\"10.0.0.0/8\"]\n",
        )
        .expect("write");
        let from_flags = ServeConfig {
            listen: Some("127.0.0.1:0".into()),
            ..Default::default()
        };
        let cfg = from_flags.merge_file(Some(&path)).expect("merge");
        assert_eq!(cfg.listen(), "127.0.0.1:0");
        assert_eq!(cfg.data_dir(), PathBuf::from("/var/lib/sessiond"));
        assert_eq!(cfg.idle_timeout.as_deref(), Some("5m"));
        assert_eq!(cfg.trusted_proxies, vec!["10.0.0.0/8".to_string()]);
        assert_eq!(
            ServeConfig::duration("idle_timeout", &cfg.idle_timeout, Duration::ZERO).expect("dur"),
            Duration::from_secs(300)
        );
    }

    #[test]
    fn bad_files_are_clear_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "listen = 5\n").expect("write");
        let err = ServeConfig::default()
            .merge_file(Some(&path))
            .expect_err("must fail");
        assert!(err.to_string().contains("bad.toml"), "{err}");
        std::fs::write(&path, "colour = \"red\"\n").expect("write");
        assert!(
            ServeConfig::default().merge_file(Some(&path)).is_err(),
            "unknown keys are refused"
        );
        let missing = dir.path().join("missing.toml");
        assert!(
            ServeConfig::default().merge_file(Some(&missing)).is_err(),
            "a named file must exist"
        );
        assert!(ServeConfig::duration("x", &Some("soon".into()), Duration::ZERO).is_err());
    }
}
