//! Session statistics (`SessionStore::session_stats`): live sessions per (tenant, service)
//! from the live indexes, and hourly opened/ended counters kept by the scripts that open and
//! end sessions. One read script per shard, shards concurrently, summed by core's
//! `StatsBuilder`.
//!
//! Why counters for the hours, not a scan: nothing here indexes sessions by opening time,
//! and the ended-at index holds ids only, so counting from the records would read every
//! session of the window (a million HMGETs at a million sessions) for each overview. The
//! counters (lua/counters.lua) cost an insert a SADD (which changes nothing but for the
//! first session of its tenant and service) and a HINCRBY; an end script a HINCRBY and a
//! ZCARD per (tenant, service) it ended sessions of, not per session, so a bulk end of
//! thousands adds a handful of commands. The first count of a (tenant, service) in an hour
//! also sets the hash's TTL and lists the hour (a TTL read and a ZADD).
//!
//! Why no counter for live sessions: the per-tenant live index by service
//! (`i:<tenant>:l:svc:<service>`) is already exact, so its ZCARD is the count; a second
//! number would be one more thing to keep in step. `st:pairs` only says which of those
//! indexes exist: insert.lua adds a session's pair, end.lua removes a pair whose index it
//! emptied. A stale pair would only cost a ZCARD of 0, which is not reported.
//!
//! Exactness: the counters and the pair set change only in the branch of a script that
//! changes a session (an insert of an id not taken; the compare-and-set end of an active
//! session), inside that script, so they move atomically with the change, and a replayed
//! or retried script (the id is taken, the session has ended) counts nothing. Every end —
//! close, terminate, the sweeper's expiry, bulk ends, the commit of an atomic end — is
//! end.lua. Counters count events, not records: a purged tombstone stays counted (the
//! SQLite store counts its rows, and forgets a tombstone's end once it is purged).
//!
//! Data written before these keys existed: at connect, each shard whose `st:ready` is not
//! set has the pairs of its live sessions added from its live index (lua/stats_pairs.lua,
//! a batch at a time; adding a pair twice changes nothing, so replicas starting together
//! may both do it), then `st:ready` is set. Live counts are then exact; hourly counts
//! start at the upgrade (ends from then on, openings from then on). While replicas of an
//! older version still run, the sessions they open and end are not counted by the hour,
//! and a pair only they registered may be missing from the live counts.

use crate::{internal, RedisStore};
use futures_util::future::try_join_all;
use sessiond_core::filter::TenantScope;
use sessiond_core::stats::{SessionStats, StatsBuilder};
use sessiond_core::{StoreError, StoreResult, TenantId};

/// Live ids read per call of the pair backfill.
const BACKFILL_BATCH: usize = 1000;

pub(crate) async fn session_stats(
    store: &RedisStore,
    scope: &TenantScope,
    since_hour: i64,
) -> StoreResult<SessionStats> {
    let tenant = match scope {
        TenantScope::One(t) => t.to_string(),
        TenantScope::All => String::new(),
    };
    let tenant = &tenant;
    let per_shard = try_join_all((0..store.layout.shards).map(|shard| async move {
        let mut inv = store.scripts.stats.key(store.layout.stats(shard, "pairs"));
        inv.key(store.layout.stats(shard, "hours"))
            .arg(store.layout.base(shard))
            .arg(since_hour)
            .arg(tenant);
        store.conn.script::<Vec<Vec<String>>>(store.t(), &inv).await
    }))
    .await?;
    let mut b = StatsBuilder::default();
    for answer in per_shard {
        let [live, hourly] = answer.as_slice() else {
            return Err(internal("stats script answered the wrong shape"));
        };
        for c in live.chunks_exact(2) {
            let (t, svc) = pair(&c[0])?;
            b.live(t, svc, number(&c[1])?);
        }
        for c in hourly.chunks_exact(3) {
            let hour: i64 = c[0]
                .parse()
                .map_err(|_| internal(format!("bad stats hour {:?}", c[0])))?;
            let n = number(&c[2])?;
            match c[1].split_once(':') {
                Some(("o", p)) => {
                    let (t, svc) = pair(p)?;
                    b.opened(t, svc, hour, n);
                }
                Some(("e", p)) => {
                    let (t, svc) = pair(p)?;
                    b.ended(t, svc, hour, n);
                }
                _ => return Err(internal(format!("bad stats field {:?}", c[1]))),
            }
        }
    }
    Ok(b.build(since_hour))
}

/// `<tenant>:<service>` (a tenant id has no `:`; whatever follows the first is the service).
fn pair(s: &str) -> StoreResult<(TenantId, &str)> {
    s.split_once(':')
        .and_then(|(t, svc)| Some((t.parse().ok()?, svc)))
        .ok_or_else(|| internal(format!("bad stats pair {s:?}")))
}

fn number(s: &str) -> StoreResult<u64> {
    // A counter below zero cannot happen (only ever incremented); read it as 0 if it did.
    match s.parse::<i64>() {
        Ok(n) => Ok(u64::try_from(n).unwrap_or(0)),
        Err(_) => Err(internal(format!("bad stats count {s:?}"))),
    }
}

impl RedisStore {
    /// Adds the pairs of live sessions written before `st:pairs` existed, on every shard
    /// not marked ready (see the module documentation); a few commands on a data set that
    /// is already marked.
    pub(crate) async fn backfill_stats_pairs(&self) -> StoreResult<()> {
        try_join_all((0..self.layout.shards).map(|shard| async move {
            let ready_key = self.layout.stats(shard, "ready");
            let ready: Option<String> = self
                .conn
                .query(self.t(), redis::cmd("GET").arg(&ready_key))
                .await?;
            if ready.is_some() {
                return Ok::<(), StoreError>(());
            }
            let all = self.layout.index(shard, None, false, "all");
            let mut min = "-".to_string();
            loop {
                let mut inv = self.scripts.stats_pairs.key(&all);
                inv.arg(self.layout.base(shard))
                    .arg(&min)
                    .arg(BACKFILL_BATCH);
                let last: String = self.conn.script(self.t(), &inv).await?;
                if last.is_empty() {
                    break;
                }
                min = format!("({last}");
            }
            let _: () = self
                .conn
                .query(self.t(), redis::cmd("SET").arg(&ready_key).arg("1"))
                .await?;
            Ok(())
        }))
        .await?;
        Ok(())
    }
}
