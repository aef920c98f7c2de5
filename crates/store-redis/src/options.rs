//! Connection options and the two URL forms (`redis://host:port/db`,
//! `redis+cluster://h1:p1,h2:p2,…`).

use sessiond_core::{StoreError, StoreResult};
use std::time::Duration;

/// How a [`crate::RedisStore`] lays out and guards its data.
#[derive(Clone, Debug)]
pub struct RedisOptions {
    /// Shards (hash tags) sessions are spread over (1 to 1,024); fixed for the life of a
    /// data set.
    pub shards: u16,
    /// How long a tombstone lives (its key TTL, counted from the end).
    pub retention: Duration,
    /// Replicas a write must reach (`WAIT`) before an insert or end is acknowledged.
    /// `None` = auto: 1 when the deployment has replicas at connect time, else 0.
    pub wait_replicas: Option<u32>,
    /// How long `WAIT` may block.
    pub wait_timeout: Duration,
    /// Key namespace, so several stores (tests) can share one server. `[A-Za-z0-9_.-]`.
    pub prefix: String,
    /// Bound on every command (connect, response); an operation never hangs longer than a
    /// few of these.
    pub command_timeout: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            shards: 16,
            retention: Duration::from_secs(7 * 24 * 3600),
            wait_replicas: None,
            wait_timeout: Duration::from_millis(1000),
            prefix: "sessiond".into(),
            command_timeout: Duration::from_secs(3),
        }
    }
}

/// The most shards a store may have: a session with an external id must draw an id in its
/// external id's shard (about S draws), and core gives up after 65,536 (DESIGN.md §6).
pub(crate) const MAX_SHARDS: u16 = 1024;

/// Where to connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A `redis://` URL, passed to the client as is.
    Single(String),
    /// Seed nodes of a Cluster, as `redis://host:port` URLs.
    Cluster(Vec<String>),
}

pub(crate) fn parse_url(url: &str) -> StoreResult<Target> {
    if let Some(rest) = url.strip_prefix("redis+cluster://") {
        let nodes: Vec<String> = rest
            .trim_end_matches('/')
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|hp| format!("redis://{hp}"))
            .collect();
        if nodes.is_empty() {
            return Err(bad(url));
        }
        return Ok(Target::Cluster(nodes));
    }
    if url.starts_with("redis://") {
        return Ok(Target::Single(url.to_string()));
    }
    Err(bad(url))
}

fn bad(url: &str) -> StoreError {
    StoreError::Internal(format!(
        "invalid Redis URL {url:?} (expected redis://host:port/db or \
         redis+cluster://host:port[,host:port…])"
    ))
}

pub(crate) fn check(opts: &RedisOptions) -> StoreResult<()> {
    let ok = !opts.prefix.is_empty()
        && opts
            .prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if !ok {
        return Err(StoreError::Internal(format!(
            "invalid Redis key prefix {:?}: use [A-Za-z0-9_.-]",
            opts.prefix
        )));
    }
    if opts.shards == 0 || opts.shards > MAX_SHARDS {
        return Err(StoreError::Internal(format!(
            "shards must be 1 to {MAX_SHARDS}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        assert_eq!(
            parse_url("redis://127.0.0.1:6379/0").ok(),
            Some(Target::Single("redis://127.0.0.1:6379/0".into()))
        );
        assert_eq!(
            parse_url("redis+cluster://a:1,b:2").ok(),
            Some(Target::Cluster(vec![
                "redis://a:1".into(),
                "redis://b:2".into()
            ]))
        );
        assert!(parse_url("redis+cluster://").is_err());
        assert!(parse_url("http://x").is_err());
    }
}
