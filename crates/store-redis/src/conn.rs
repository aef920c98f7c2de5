//! One connection type over both deployments (a reconnecting `ConnectionManager` or a
//! Cluster connection), every command bounded by a timeout, Redis errors mapped to
//! `StoreError`, and `WAIT` on the primary that owns a key.

use crate::options::{RedisOptions, Target};
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{
    Cmd, ErrorKind, FromRedisValue, Pipeline, RedisError, RedisFuture, ServerErrorKind, Value,
};
use sessiond_core::{StoreError, StoreResult};
use std::future::Future;
use std::time::Duration;

/// A cheap-to-clone handle; both variants reconnect by themselves after a failure.
#[derive(Clone)]
pub(crate) enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }
    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }
    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

pub(crate) async fn connect(target: &Target, opts: &RedisOptions) -> StoreResult<Conn> {
    let t = opts.command_timeout;
    // The response timeout must outlast a WAIT, which blocks for up to wait_timeout.
    let response = t + opts.wait_timeout;
    let fut = async {
        match target {
            Target::Single(url) => {
                let client = redis::Client::open(url.as_str()).map_err(map_err)?;
                let cfg = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(t))
                    .set_response_timeout(Some(response))
                    .set_number_of_retries(2)
                    .set_max_delay(Duration::from_millis(500));
                ConnectionManager::new_with_config(client, cfg)
                    .await
                    .map(Conn::Single)
                    .map_err(map_err)
            }
            Target::Cluster(nodes) => {
                let client = redis::cluster::ClusterClient::builder(nodes.clone())
                    .connection_timeout(t)
                    .response_timeout(response)
                    .retries(3)
                    .min_retry_wait(50)
                    .max_retry_wait(500)
                    .build()
                    .map_err(map_err)?;
                client
                    .get_async_connection()
                    .await
                    .map(Conn::Cluster)
                    .map_err(map_err)
            }
        }
    };
    bounded(t * 3, fut).await
}

/// Runs `fut` for at most `limit`; a timeout is `Unavailable` (Redis slow or unreachable).
pub(crate) async fn bounded<T>(
    limit: Duration,
    fut: impl Future<Output = StoreResult<T>>,
) -> StoreResult<T> {
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => r,
        Err(_) => Err(StoreError::Unavailable(format!(
            "Redis did not answer within {limit:?}"
        ))),
    }
}

/// Connection trouble, failover and loading are `Unavailable` (callers answer 503 and may
/// retry); anything else is a bug or corrupt data (`Internal`).
pub(crate) fn map_err(e: RedisError) -> StoreError {
    let transient = e.is_io_error()
        || e.is_timeout()
        || e.is_connection_refusal()
        || e.is_connection_dropped()
        || matches!(
            e.kind(),
            ErrorKind::Io
                | ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Server(
                    ServerErrorKind::ClusterDown
                        | ServerErrorKind::TryAgain
                        | ServerErrorKind::BusyLoading
                        | ServerErrorKind::MasterDown
                        | ServerErrorKind::ReadOnly
                        | ServerErrorKind::Moved
                        | ServerErrorKind::Ask
                )
        );
    if transient {
        StoreError::Unavailable(e.to_string())
    } else {
        StoreError::Internal(format!("redis: {e}"))
    }
}

/// An error reply to `WAIT`. Right after a failover the slot map may still name the old
/// primary, now a replica, which refuses WAIT with a plain `ERR`: that is the same transient
/// state as a MOVED (the client refreshes its map), so it is `Unavailable` too and the
/// caller may retry. Any other reply is classified like every other command's.
fn wait_error(e: RedisError) -> StoreError {
    let on_replica = e.kind() == ErrorKind::Server(ServerErrorKind::ResponseError)
        && e.detail().is_some_and(|d| d.contains("replica"));
    if on_replica {
        StoreError::Unavailable(format!("WAIT: {e}"))
    } else {
        map_err(e)
    }
}

impl Conn {
    /// One command, bounded.
    pub(crate) async fn query<T: FromRedisValue>(
        &self,
        limit: Duration,
        cmd: &Cmd,
    ) -> StoreResult<T> {
        let mut c = self.clone();
        bounded(limit, async move {
            cmd.query_async(&mut c).await.map_err(map_err)
        })
        .await
    }

    /// One pipeline (its keys in one slot), bounded.
    pub(crate) async fn pipe<T: FromRedisValue>(
        &self,
        limit: Duration,
        p: &Pipeline,
    ) -> StoreResult<T> {
        let mut c = self.clone();
        bounded(limit, async move {
            p.query_async(&mut c).await.map_err(map_err)
        })
        .await
    }

    /// A script on the slot of its first key, bounded.
    pub(crate) async fn script<T: FromRedisValue>(
        &self,
        limit: Duration,
        inv: &redis::ScriptInvocation<'_>,
    ) -> StoreResult<T> {
        let mut c = self.clone();
        bounded(limit, async move {
            inv.invoke_async(&mut c).await.map_err(map_err)
        })
        .await
    }

    /// `WAIT n timeout` on the primary that owns `key` (the one just written); fewer
    /// acknowledgements than `n` is `Unavailable`: the write may not survive a failover.
    pub(crate) async fn wait(
        &self,
        limit: Duration,
        key: &str,
        n: u32,
        timeout: Duration,
    ) -> StoreResult<()> {
        if n == 0 {
            return Ok(());
        }
        let mut cmd = redis::cmd("WAIT");
        cmd.arg(n).arg(timeout.as_millis() as u64);
        let got: i64 = match self {
            Conn::Single(_) => self.query(limit, &cmd).await?,
            Conn::Cluster(c) => {
                let mut c = c.clone();
                let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(
                    Route::with_key(key.as_bytes(), SlotAddr::Master),
                ));
                let v = bounded(limit, async move {
                    c.route_command(cmd, route).await.map_err(map_err)
                })
                .await?;
                // A routed command returns the node's error reply as a value.
                let v = v.extract_error().map_err(wait_error)?;
                redis::from_redis_value(v)
                    .map_err(|e| StoreError::Internal(format!("WAIT: {e}")))?
            }
        };
        if got < i64::from(n) {
            return Err(StoreError::Unavailable(format!(
                "WAIT: {got} of {n} replicas acknowledged the write within {timeout:?}"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply_error(resp: &[u8]) -> RedisError {
        let v = redis::parse_redis_value(resp).expect("resp");
        v.extract_error().expect_err("an error reply")
    }

    #[test]
    fn wait_refused_by_a_former_primary_is_unavailable_other_errors_are_not() {
        // Redis 7's reply when WAIT reaches a node that has become a replica.
        let replica = reply_error(
            b"-ERR WAIT cannot be used with replica instances. Please also note that since \
              Redis 4.0 if a replica is configured to be writable (which is not the default) \
              writes to replicas are just local and are not propagated.\r\n",
        );
        assert!(matches!(wait_error(replica), StoreError::Unavailable(_)));
        let syntax = reply_error(b"-ERR wrong number of arguments for 'wait' command\r\n");
        assert!(matches!(wait_error(syntax), StoreError::Internal(_)));
        let moved = reply_error(b"-MOVED 3999 127.0.0.1:6381\r\n");
        assert!(matches!(wait_error(moved), StoreError::Unavailable(_)));
    }
}
