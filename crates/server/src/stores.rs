//! Choosing and opening the store named by `--store`: the embedded SQLite file (default), or
//! Redis standalone / Cluster shared by several replicas.

use crate::config::{ConfigError, ServeConfig};
use crate::datadir::DataDir;
use crate::serve::ServeError;
use sessiond_core::registry::RegistryConfig;
use sessiond_core::Store;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A parsed `--store` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreSpec {
    /// `sqlite` (the data dir's file) or `sqlite:PATH`.
    Sqlite(Option<PathBuf>),
    /// `redis://host:port/db` or `redis+cluster://h1:p1,h2:p2,…`, as given.
    Redis(String),
}

impl StoreSpec {
    pub fn parse(spec: Option<&str>) -> Result<StoreSpec, ServeError> {
        match spec.map(str::trim) {
            None | Some("") | Some("sqlite") => Ok(StoreSpec::Sqlite(None)),
            Some(s) if s.starts_with("sqlite:") => Ok(StoreSpec::Sqlite(Some(PathBuf::from(
                &s["sqlite:".len()..],
            )))),
            Some(s) if s.starts_with("redis://") || s.starts_with("redis+cluster://") => {
                Ok(StoreSpec::Redis(s.to_string()))
            }
            Some(other) => Err(ServeError::Store(format!(
                "unsupported store {:?} (expected sqlite, sqlite:PATH, redis://HOST:PORT/DB \
                 or redis+cluster://HOST:PORT,…)",
                redact(other)
            ))),
        }
    }

    /// Whether several replicas may share it (then they must share a key file too).
    pub fn is_shared(&self) -> bool {
        matches!(self, StoreSpec::Redis(_))
    }

    /// The spec without any password, for messages and logs.
    pub fn redacted(&self) -> String {
        match self {
            StoreSpec::Sqlite(None) => "sqlite".into(),
            StoreSpec::Sqlite(Some(p)) => format!("sqlite:{}", p.display()),
            StoreSpec::Redis(u) => redact(u),
        }
    }
}

/// `scheme://user:secret@host` → `scheme://user:***@host`.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..s + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// Store tunables from the configuration.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// How long tombstones are kept (Redis: their key TTL).
    pub retention: Duration,
    /// Redis: replicas each acknowledged write waits for (`WAIT`); `None` = 1 when the
    /// primary has replicas, else 0.
    pub redis_wait: Option<u32>,
}

impl StoreOptions {
    pub fn from_config(
        cfg: &ServeConfig,
        reg: &RegistryConfig,
    ) -> Result<StoreOptions, ConfigError> {
        Ok(StoreOptions {
            retention: reg.retention,
            redis_wait: cfg.redis_wait,
        })
    }
}

pub async fn open(
    spec: &StoreSpec,
    data: &DataDir,
    opts: &StoreOptions,
) -> Result<Arc<dyn Store>, ServeError> {
    match spec {
        StoreSpec::Sqlite(path) => {
            let path = path.clone().unwrap_or_else(|| data.db_path());
            let s = sessiond_store_sqlite::SqliteStore::open(&path)
                .map_err(|e| ServeError::Store(e.to_string()))?;
            Ok(Arc::new(s))
        }
        StoreSpec::Redis(url) => open_redis(url, opts).await,
    }
}

async fn open_redis(url: &str, opts: &StoreOptions) -> Result<Arc<dyn Store>, ServeError> {
    let o = sessiond_store_redis::RedisOptions {
        retention: opts.retention,
        wait_replicas: opts.redis_wait,
        ..sessiond_store_redis::RedisOptions::default()
    };
    let s = sessiond_store_redis::RedisStore::connect(url, o)
        .await
        .map_err(|e| ServeError::Store(format!("{}: {e}", redact(url))))?;
    tracing::info!(
        store = s.backend(),
        wait_replicas = s.wait_replicas(),
        "connected to redis"
    );
    Ok(Arc::new(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_never_show_passwords() {
        assert_eq!(
            StoreSpec::parse(None).expect("default"),
            StoreSpec::Sqlite(None)
        );
        assert_eq!(
            StoreSpec::parse(Some("sqlite:/tmp/x.db")).expect("path"),
            StoreSpec::Sqlite(Some("/tmp/x.db".into()))
        );
        let r = StoreSpec::parse(Some("redis://:hunter2@10.0.0.1:6379/0")).expect("redis");
        assert!(r.is_shared());
        assert_eq!(r.redacted(), "redis://:***@10.0.0.1:6379/0");
        let e = StoreSpec::parse(Some("postgres://u:pw@h/db")).expect_err("unsupported");
        assert!(!e.to_string().contains("pw@"), "{e}");
        assert!(StoreSpec::parse(Some("redis+cluster://a:1,b:2"))
            .expect("cluster")
            .is_shared());
    }
}
