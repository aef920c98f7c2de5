//! sessiond's scale-out store: `RedisStore`, the `Store` contract over Redis standalone or
//! Redis Cluster (DESIGN.md §6).
//!
//! Client: the `redis` crate (redis-rs) with `tokio-comp`, `connection-manager`,
//! `cluster-async` and `script` only. It is the reference Rust client, speaks Cluster
//! (MOVED/ASK, failover refresh) and reconnects by itself (`ConnectionManager`), has
//! per-command response timeouts, and `ScriptInvocation` does EVALSHA with a NOSCRIPT
//! fallback; `fred` offers the same but with a larger API and dependency tree and we
//! need nothing it adds. One code path serves both deployments through `conn::Conn`.
//!
//! Layout (keys.rs): sessions are spread over S shards (hash tags `{PREFIX.N}`, N = FNV-1a of
//! the id mod S), each with its own per-tenant sorted-set indexes, so every state change of
//! a session is one Lua script on one slot. Lists fan out to every shard concurrently and
//! merge by id (list.rs). Core's `SessionFilter::matches` decides every match: indexes only
//! narrow the candidates.
//!
//! External ids: a session registered with one lives in the shard of (tenant, service, node,
//! external_id). `accepts_id` refuses ids of other shards and core draws again (about S
//! draws, ids stay time-ordered), so the key naming the external id's live holder shares the
//! session's slot: the insert script checks and takes it, the end script frees it, each in
//! one atomic step with no window between them.
//!
//! Events (events.rs): each change's script appends its event to an outbox in its own slot;
//! a relay moves them, in order and each once, into one global stream that gives the ids.
//!
//! Statistics (stats.rs): live counts are the sizes of the live indexes by service; hourly
//! opened/ended counters are kept per shard by the insert and end scripts themselves.

mod conn;
mod directory;
mod events;
mod feed;
mod keys;
mod list;
mod options;
mod record;
mod scripts;
mod sessions;
mod sinks;
mod stats;

pub use options::RedisOptions;

use async_trait::async_trait;
use conn::Conn;
use keys::Layout;
use scripts::Scripts;
use sessiond_core::store::{Invalidation, Store};
use sessiond_core::{StoreError, StoreResult};
use std::sync::Arc;
use std::time::Duration;

/// The Redis `Store`. Cheap to share behind an `Arc`; several stores (sessiond replicas) may
/// use one Redis at once.
pub struct RedisStore {
    conn: Conn,
    layout: Layout,
    opts: RedisOptions,
    /// Replicas every insert and end waits for (resolved at connect when `auto`).
    wait_n: u32,
    cluster: bool,
    scripts: Scripts,
    /// Cache invalidations shared by every replica (pub/sub).
    feed: feed::Feed,
    /// The relay of events from the outboxes into the global stream, and the event signal.
    events: Arc<events::Relay>,
    /// Relays every outbox periodically; stops when the store is dropped.
    _background: events::Background,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("cluster", &self.cluster)
            .field("opts", &self.opts)
            .field("wait_n", &self.wait_n)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to `redis://host:port/db` or `redis+cluster://h1:p1,h2:p2,…`, resolves the
    /// replica count for `WAIT`, and creates the `default` tenant (id 1) when missing.
    pub async fn connect(url: &str, opts: RedisOptions) -> StoreResult<RedisStore> {
        options::check(&opts)?;
        let target = options::parse_url(url)?;
        let cluster = matches!(target, options::Target::Cluster(_));
        let conn = conn::connect(&target, &opts).await?;
        let nodes = match &target {
            options::Target::Single(url) => vec![url.clone()],
            options::Target::Cluster(nodes) => nodes.clone(),
        };
        let (signal, _) = tokio::sync::watch::channel(0);
        let events_channel = format!("{}:events", opts.prefix);
        let feed = feed::Feed::start(
            nodes,
            format!("{}:invalidations", opts.prefix),
            (events_channel.clone(), signal.clone()),
            opts.command_timeout,
        );
        let version = layout_version(&conn, &opts).await?;
        let layout = Layout::new(&opts.prefix, opts.shards, version);
        let wait_n = match opts.wait_replicas {
            Some(n) => n,
            None => u32::from(has_replicas(&conn, cluster, opts.command_timeout).await?),
        };
        let events = Arc::new(events::Relay::new(
            conn.clone(),
            layout.clone(),
            wait_n,
            opts.command_timeout,
            opts.wait_timeout,
            signal,
            events_channel,
        ));
        events.raise(events.last_id().await?);
        let store = RedisStore {
            feed,
            conn,
            layout,
            wait_n,
            cluster,
            scripts: Scripts::new(),
            opts,
            _background: events::Background::start(events.clone()),
            events,
        };
        store.ensure_default_tenant().await?;
        store.backfill_stats_pairs().await?;
        Ok(store)
    }

    /// Replicas every acknowledged insert or end reached (`WAIT`).
    pub fn wait_replicas(&self) -> u32 {
        self.wait_n
    }

    /// The shard (0..S) of a session id (a helper for tests).
    pub fn shard_of(&self, id: &sessiond_core::SessionId) -> u16 {
        self.layout.shard_of(id)
    }

    /// The raw key of a session's hash (a helper for tests).
    pub fn session_key(&self, id: &sessiond_core::SessionId) -> String {
        self.layout.session(id)
    }

    /// `{tag}`, the key prefix of shard N (a helper for tests: its slot is the shard's).
    pub fn shard_base(&self, shard: u16) -> String {
        self.layout.base(shard)
    }

    /// Makes every event relay of this store fail, as when the `{P.events}` slot cannot be
    /// reached (a helper for tests): changes still succeed and their events wait in their
    /// outboxes for another replica's, or this one's once cleared, background relay.
    #[doc(hidden)]
    pub fn set_event_relay_failing(&self, failing: bool) {
        self.events.set_failing(failing);
    }

    /// One background relay pass over every outbox, now, moving every entry waiting there
    /// however recent (a helper for tests).
    #[doc(hidden)]
    pub async fn relay_events_now(&self) -> StoreResult<()> {
        let passes = self
            .layout
            .outboxes()
            .into_iter()
            .map(|o| self.events.pass(o, u64::MAX));
        futures_util::future::try_join_all(passes).await?;
        Ok(())
    }

    fn t(&self) -> Duration {
        self.opts.command_timeout
    }

    /// Bound for a command that may WAIT.
    fn tw(&self) -> Duration {
        self.opts.command_timeout + self.opts.wait_timeout
    }
}

async fn has_replicas(conn: &Conn, cluster: bool, t: Duration) -> StoreResult<bool> {
    if cluster {
        let nodes: String = conn.query(t, redis::cmd("CLUSTER").arg("NODES")).await?;
        Ok(nodes.lines().any(|l| l.contains("slave")))
    } else {
        let info: String = conn.query(t, redis::cmd("INFO").arg("replication")).await?;
        Ok(info.lines().any(|l| {
            l.trim()
                .strip_prefix("connected_slaves:")
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| n > 0)
        }))
    }
}

fn internal(what: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(what.to_string())
}

#[async_trait]
impl Store for RedisStore {
    fn backend(&self) -> &'static str {
        if self.cluster {
            "redis-cluster"
        } else {
            "redis"
        }
    }

    async fn ping(&self) -> StoreResult<()> {
        let pong: String = self.conn.query(self.t(), &redis::cmd("PING")).await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(internal(format!("PING answered {pong:?}")))
        }
    }

    async fn publish(&self, items: &[Invalidation]) -> StoreResult<()> {
        for msg in items.iter().filter_map(feed::encode) {
            let _: i64 = self
                .conn
                .query(
                    self.t(),
                    redis::cmd("PUBLISH").arg(&self.feed.channel).arg(msg),
                )
                .await?;
        }
        Ok(())
    }

    fn invalidations(&self) -> Option<tokio::sync::broadcast::Receiver<Invalidation>> {
        Some(self.feed.subscribe())
    }

    fn invalidations_live(&self) -> bool {
        self.feed.live()
    }
}

/// The layout of the data set under this prefix (keys.rs, [`keys::LAYOUT_V2`]): the one
/// recorded by the first replica, else 1 for a data set written before the record existed
/// (its directory is there), else 2 for a new one. A shard count other than the recorded one
/// would read every session from the wrong key: refused.
async fn layout_version(conn: &conn::Conn, opts: &RedisOptions) -> StoreResult<u32> {
    let probe = Layout::new(&opts.prefix, 1, keys::LAYOUT_V1);
    let key = probe.dir("layout");
    let t = opts.command_timeout;
    let mut recorded: Option<String> = conn.query(t, redis::cmd("GET").arg(&key)).await?;
    if recorded.is_none() {
        let old: bool = conn
            .query(t, redis::cmd("EXISTS").arg(probe.dir("tseq")))
            .await?;
        let version = if old {
            keys::LAYOUT_V1
        } else {
            keys::LAYOUT_V2
        };
        let mine = format!("{version}:{}", opts.shards);
        // NX: of replicas starting together on a new data set, the first one decides.
        let _: Option<String> = conn
            .query(t, redis::cmd("SET").arg(&key).arg(&mine).arg("NX"))
            .await?;
        recorded = conn.query(t, redis::cmd("GET").arg(&key)).await?;
    }
    let recorded = recorded.unwrap_or_default();
    let parsed = recorded
        .split_once(':')
        .and_then(|(v, s)| Some((v.parse::<u32>().ok()?, s.parse::<u16>().ok()?)));
    match parsed {
        Some((v, shards))
            if shards == opts.shards && (keys::LAYOUT_V1..=keys::LAYOUT_V2).contains(&v) =>
        {
            Ok(v)
        }
        Some((v, shards)) if v <= keys::LAYOUT_V2 => Err(StoreError::Internal(format!(
            "the data under prefix {:?} is laid out in {shards} shards, not {}",
            opts.prefix, opts.shards
        ))),
        _ => Err(StoreError::Internal(format!(
            "unknown layout {recorded:?} under prefix {:?} (written by a newer sessiond?)",
            opts.prefix
        ))),
    }
}
