//! `SinkStore`: event sinks (webhooks, SSF streams) under the directory's hash tag — few
//! records, one slot, so each compare-and-set is one script.
//!
//! ```text
//! {P.dir}:sinks           hash id → JSON (kind, tenant, creator, config, sealed secret, status)
//! {P.dir}:sinkstate       hash id → "cursor|attempts|failing_since|next_attempt_at" (the
//!                         compare-and-set compares this text)
//! {P.dir}:sinklog:<id>    list of attempt JSON, newest first, capped
//! {P.dir}:sinklease:<id>  the delivering replica's name, with a TTL
//! ```

use crate::{internal, RedisStore};
use async_trait::async_trait;
use base64::Engine;
use redis::Script;
use serde::{Deserialize, Serialize};
use sessiond_core::filter::TenantScope;
use sessiond_core::sinks::{
    DeliveryAttempt, DeliveryState, Sink, SinkKind, SinkStatus, MAX_LOGGED_ATTEMPTS,
};
use sessiond_core::store::SinkStore;
use sessiond_core::{StoreError, StoreResult, Timestamp};

/// A sink's record (its delivery state is kept apart, in `sinkstate`).
#[derive(Serialize, Deserialize)]
struct Record {
    kind: String,
    tenant: u32,
    by: String,
    /// Nanoseconds as text: the status update decodes and re-encodes the record with cjson,
    /// which would round a number this large.
    created: String,
    config: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

fn record_of(s: &Sink) -> Record {
    Record {
        kind: s.kind.as_str().into(),
        tenant: s.tenant_id,
        by: s.created_by.clone(),
        created: s.created_at.nanos().to_string(),
        config: s.config.clone(),
        secret: s
            .sealed_secret
            .as_ref()
            .map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
        status: s.status.as_str().into(),
        reason: s.status_reason.clone(),
    }
}

fn opt(t: Option<Timestamp>) -> String {
    t.map(|t| t.nanos().to_string()).unwrap_or_default()
}

/// The compare-and-set text of a delivery state.
fn state_text(d: &DeliveryState) -> String {
    format!(
        "{}|{}|{}|{}",
        d.cursor,
        d.attempts,
        opt(d.failing_since),
        opt(d.next_attempt_at)
    )
}

fn state_of(text: &str) -> StoreResult<DeliveryState> {
    let bad = || internal(format!("sink state {text:?}"));
    let parts: Vec<&str> = text.split('|').collect();
    let [cursor, attempts, since, next] = parts[..] else {
        return Err(bad());
    };
    let time = |s: &str| -> StoreResult<Option<Timestamp>> {
        if s.is_empty() {
            Ok(None)
        } else {
            s.parse().map(|n| Some(Timestamp(n))).map_err(|_| bad())
        }
    };
    Ok(DeliveryState {
        cursor: cursor.parse().map_err(|_| bad())?,
        attempts: attempts.parse().map_err(|_| bad())?,
        failing_since: time(since)?,
        next_attempt_at: time(next)?,
    })
}

fn sink_of(id: &str, json: &str, state: Option<&str>) -> StoreResult<Sink> {
    let r: Record = serde_json::from_str(json).map_err(|e| internal(format!("sink {id}: {e}")))?;
    let sealed = match r.secret {
        Some(b) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(b)
                .map_err(|e| internal(format!("sink {id}: {e}")))?,
        ),
        None => None,
    };
    Ok(Sink {
        id: id.to_string(),
        kind: SinkKind::parse(&r.kind).ok_or_else(|| internal(format!("sink {id} kind")))?,
        tenant_id: r.tenant,
        created_by: r.by,
        created_at: Timestamp(
            r.created
                .parse()
                .map_err(|_| internal(format!("sink {id} created {:?}", r.created)))?,
        ),
        config: r.config,
        sealed_secret: sealed,
        status: SinkStatus::parse(&r.status)
            .ok_or_else(|| internal(format!("sink {id} status")))?,
        status_reason: r.reason,
        delivery: match state {
            Some(t) => state_of(t)?,
            None => DeliveryState::default(),
        },
    })
}

pub(crate) struct SinkScripts {
    create: Script,
    update: Script,
    delete: Script,
    advance: Script,
    lease: Script,
}

impl SinkScripts {
    pub(crate) fn new() -> SinkScripts {
        SinkScripts {
            // KEYS: sinks, sinkstate. ARGV: id, record, state. → 0 when the id exists.
            create: Script::new(
                "if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end \
                 redis.call('HSET', KEYS[2], ARGV[1], ARGV[3]) return 1",
            ),
            // KEYS: sinks. ARGV: id, record. → 0 when absent.
            update: Script::new(
                "if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end \
                 redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return 1",
            ),
            // KEYS: sinks, sinkstate, log, lease. ARGV: id. → 1 when it existed.
            delete: Script::new(
                "local n = redis.call('HDEL', KEYS[1], ARGV[1]) \
                 redis.call('HDEL', KEYS[2], ARGV[1]) redis.call('DEL', KEYS[3], KEYS[4]) \
                 return n",
            ),
            // KEYS: sinks, sinkstate, log. ARGV: id, expected, next, status ('' = keep),
            // reason, keep, attempts… → 1 when applied. The record's status is rewritten
            // with cjson; every number in it stays a string or a small integer.
            advance: Script::new(
                "local rec = redis.call('HGET', KEYS[1], ARGV[1]) \
                 if not rec then return 0 end \
                 if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end \
                 redis.call('HSET', KEYS[2], ARGV[1], ARGV[3]) \
                 if ARGV[4] ~= '' then \
                   local r = cjson.decode(rec) r.status = ARGV[4] \
                   if ARGV[5] == '' then r.reason = nil else r.reason = ARGV[5] end \
                   redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(r)) end \
                 for i = 7, #ARGV do redis.call('LPUSH', KEYS[3], ARGV[i]) end \
                 if #ARGV >= 7 then redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[6]) - 1) end \
                 return 1",
            ),
            // KEYS: lease. ARGV: holder, now, until (padded times: they compare as text),
            // ttl ms (only to clean the key up). → 1 when the holder has it.
            lease: Script::new(
                "local h = redis.call('HMGET', KEYS[1], 'h', 'u') \
                 if h[1] and h[1] ~= ARGV[1] and h[2] and h[2] > ARGV[2] then return 0 end \
                 redis.call('HSET', KEYS[1], 'h', ARGV[1], 'u', ARGV[3]) \
                 redis.call('PEXPIRE', KEYS[1], ARGV[4]) return 1",
            ),
        }
    }
}

#[async_trait]
impl SinkStore for RedisStore {
    async fn create_sink(&self, s: &Sink) -> StoreResult<()> {
        let rec = serde_json::to_string(&record_of(s)).map_err(|e| internal(e.to_string()))?;
        let mut inv = self.scripts.sinks.create.key(self.layout.dir("sinks"));
        inv.key(self.layout.dir("sinkstate"))
            .arg(&s.id)
            .arg(rec)
            .arg(state_text(&s.delivery));
        let created: i64 = self.conn.script(self.t(), &inv).await?;
        if created == 0 {
            return Err(StoreError::Conflict(format!("sink {} exists", s.id)));
        }
        self.dir_wait().await
    }

    async fn get_sink(&self, id: &str) -> StoreResult<Option<Sink>> {
        let Some(json) = self.hget(self.layout.dir("sinks"), id).await? else {
            return Ok(None);
        };
        let state = self.hget(self.layout.dir("sinkstate"), id).await?;
        sink_of(id, &json, state.as_deref()).map(Some)
    }

    async fn list_sinks(
        &self,
        kind: Option<SinkKind>,
        scope: &TenantScope,
    ) -> StoreResult<Vec<Sink>> {
        let records = self.hgetall(self.layout.dir("sinks")).await?;
        let states = self.hgetall(self.layout.dir("sinkstate")).await?;
        let mut out = Vec::new();
        for (id, json) in &records {
            let s = sink_of(id, json, states.get(id).map(String::as_str))?;
            if kind.is_none_or(|k| k == s.kind) && scope.contains(s.tenant_id) {
                out.push(s);
            }
        }
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(out)
    }

    async fn update_sink(&self, s: &Sink) -> StoreResult<()> {
        let rec = serde_json::to_string(&record_of(s)).map_err(|e| internal(e.to_string()))?;
        let mut inv = self.scripts.sinks.update.key(self.layout.dir("sinks"));
        inv.arg(&s.id).arg(rec);
        let n: i64 = self.conn.script(self.t(), &inv).await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        self.dir_wait().await
    }

    async fn delete_sink(&self, id: &str) -> StoreResult<bool> {
        let mut inv = self.scripts.sinks.delete.key(self.layout.dir("sinks"));
        inv.key(self.layout.dir("sinkstate"))
            .key(self.layout.dir(&format!("sinklog:{id}")))
            .key(self.layout.dir(&format!("sinklease:{id}")))
            .arg(id);
        let n: i64 = self.conn.script(self.t(), &inv).await?;
        self.dir_wait().await?;
        Ok(n > 0)
    }

    async fn advance_sink(
        &self,
        id: &str,
        expected: &DeliveryState,
        next: &DeliveryState,
        status: Option<(SinkStatus, Option<String>)>,
        attempts: &[DeliveryAttempt],
    ) -> StoreResult<bool> {
        let mut inv = self.scripts.sinks.advance.key(self.layout.dir("sinks"));
        inv.key(self.layout.dir("sinkstate"))
            .key(self.layout.dir(&format!("sinklog:{id}")))
            .arg(id)
            .arg(state_text(expected))
            .arg(state_text(next));
        match &status {
            Some((s, reason)) => inv.arg(s.as_str()).arg(reason.clone().unwrap_or_default()),
            None => inv.arg("").arg(""),
        };
        inv.arg(MAX_LOGGED_ATTEMPTS);
        for a in attempts {
            inv.arg(serde_json::to_string(a).map_err(|e| internal(e.to_string()))?);
        }
        let n: i64 = self.conn.script(self.t(), &inv).await?;
        Ok(n > 0)
    }

    async fn list_attempts(&self, id: &str, limit: usize) -> StoreResult<Vec<DeliveryAttempt>> {
        let mut c = redis::cmd("LRANGE");
        c.arg(self.layout.dir(&format!("sinklog:{id}")))
            .arg(0)
            .arg(limit.saturating_sub(1).min(i64::MAX as usize) as i64);
        let items: Vec<String> = self.conn.query(self.t(), &c).await?;
        items
            .iter()
            .map(|s| serde_json::from_str(s).map_err(|e| internal(format!("sink {id} log: {e}"))))
            .collect()
    }

    async fn lease_sink(
        &self,
        id: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> StoreResult<bool> {
        // The lease's instants are core's (a manual clock in tests); the key's own TTL only
        // cleans up after a sink whose holders are all gone.
        let ms = until.since(now).as_millis().min(u128::from(u32::MAX)) as u64 + 60_000;
        let mut inv = self
            .scripts
            .sinks
            .lease
            .key(self.layout.dir(&format!("sinklease:{id}")));
        inv.arg(holder)
            .arg(crate::keys::pad(now))
            .arg(crate::keys::pad(until))
            .arg(ms);
        let n: i64 = self.conn.script(self.t(), &inv).await?;
        Ok(n > 0)
    }
}
