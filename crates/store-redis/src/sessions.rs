//! `SessionStore`: point reads, the per-session scripts (insert, update, touches, ends,
//! deadlines) and purge. Lists are in list.rs, statistics in stats.rs.

use crate::events::{items, Entry};
use crate::keys::{fixed_entries, mutable_entries, pad, Outbox};
use crate::record::{deadline_arg, decode, fixed_json, mutable_json, read, Row};
use crate::{internal, RedisStore};
use async_trait::async_trait;
use futures_util::future::try_join_all;
use sessiond_core::events::EventDraft;
use sessiond_core::filter::{ListQuery, Page, SessionFilter, TenantScope};
use sessiond_core::stats::{hour_of, SessionStats};
use sessiond_core::store::{
    EndBatch, EndEffects, EndInfo, EndOutcome, SessionStore, TokenHash, Touch,
};
use sessiond_core::{Session, SessionId, SessionState, StoreError, StoreResult, Timestamp};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Calls of due.lua per shard in one `due_for_expiry` while early entries use up its budget:
/// up to 8 × (4 × limit + 100) entries moved before the sweep gives up until its next tick.
const DUE_ROUNDS: usize = 8;

fn json_list(v: &[String]) -> StoreResult<String> {
    serde_json::to_string(v).map_err(internal)
}

impl RedisStore {
    /// Positions of `ids` grouped by shard (input order kept inside each group).
    pub(crate) fn by_shard(&self, ids: &[SessionId]) -> BTreeMap<u16, Vec<usize>> {
        let mut m: BTreeMap<u16, Vec<usize>> = BTreeMap::new();
        for (i, id) in ids.iter().enumerate() {
            m.entry(self.layout.shard_of(id)).or_default().push(i);
        }
        m
    }

    /// The fields of several sessions: one pipeline per shard, shards concurrently.
    pub(crate) async fn fetch(
        &self,
        ids: &[SessionId],
    ) -> StoreResult<Vec<Option<(Session, TokenHash)>>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let groups = self.by_shard(ids);
        let per_shard = try_join_all(groups.values().map(|pos| async move {
            let mut p = redis::pipe();
            for &i in pos {
                p.add_command(read(self.layout.session(&ids[i])));
            }
            let rows: Vec<Row> = self.conn.pipe(self.t(), &p).await?;
            Ok::<_, StoreError>((pos, rows))
        }))
        .await?;
        let mut out: Vec<Option<(Session, TokenHash)>> = vec![None; ids.len()];
        for (pos, rows) in per_shard {
            for (&i, row) in pos.iter().zip(rows) {
                out[i] = decode(&ids[i], &row)?;
            }
        }
        Ok(out)
    }

    /// Ends `ids` (compare-and-set; each end frees its external id and appends its event,
    /// from `events` by session id, in the same script), one script per shard, shards
    /// concurrently; then WAITs on every shard written, and relays the events written.
    async fn end_now(
        &self,
        ids: &[SessionId],
        end: &EndInfo,
        events: &[EventDraft],
    ) -> StoreResult<Vec<EndOutcome>> {
        let groups = self.by_shard(ids);
        let ttl = self.opts.retention.as_secs().max(1);
        let by_id: HashMap<&str, Vec<String>> = events
            .iter()
            .filter_map(|e| Some((e.session_id.as_ref()?.as_str(), items(e))))
            .collect();
        let by_id = &by_id;
        let results = try_join_all(groups.iter().map(|(&shard, pos)| async move {
            let mut inv = self.scripts.end.prepare_invoke();
            inv.arg(self.layout.base(shard))
                .arg(end.state.as_str())
                .arg(pad(end.at))
                .arg(&end.by)
                .arg(end.reason.as_deref().unwrap_or(""))
                .arg(if end.reason.is_some() { "1" } else { "0" })
                .arg(ttl)
                .arg(hour_of(end.at));
            for &i in pos {
                let ev = by_id.get(ids[i].as_str()).map_or(&[][..], Vec::as_slice);
                inv.key(self.layout.session(&ids[i]))
                    .arg(ids[i].as_str())
                    .arg(ev.len());
                for item in ev {
                    inv.arg(item);
                }
            }
            let out: Vec<String> = self.conn.script(self.t(), &inv).await?;
            Ok::<_, StoreError>((shard, pos, out))
        }))
        .await?;
        let mut outcomes = vec![EndOutcome::NotFound; ids.len()];
        let mut written = Vec::new();
        // The events written, by the position of their id in `ids`: they get their event
        // ids in that order.
        let mut own: Vec<(usize, Entry)> = Vec::new();
        for (shard, pos, out) in results {
            if out.len() != pos.len() {
                return Err(internal("end script answered the wrong number of items"));
            }
            for (&i, o) in pos.iter().zip(out) {
                outcomes[i] = match o.as_str() {
                    "N" => EndOutcome::NotFound,
                    "E" => EndOutcome::Ended,
                    other => match other.strip_prefix("E:") {
                        Some(p) => {
                            let p = p
                                .parse()
                                .map_err(|_| internal(format!("bad outbox position {p:?}")))?;
                            let ev = by_id.get(ids[i].as_str()).cloned().unwrap_or_default();
                            own.push((i, (Outbox::Shard(shard), p, ev)));
                            EndOutcome::Ended
                        }
                        None => EndOutcome::AlreadyEnded(
                            SessionState::parse(other)
                                .ok_or_else(|| internal(format!("bad state {other:?}")))?,
                        ),
                    },
                };
                if outcomes[i] == EndOutcome::Ended && written.last() != Some(&shard) {
                    written.push(shard);
                }
            }
        }
        try_join_all(written.iter().map(|&shard| {
            let key = self.layout.ended(shard);
            async move {
                self.conn
                    .wait(self.tw(), &key, self.wait_n, self.opts.wait_timeout)
                    .await
            }
        }))
        .await?;
        own.sort_by_key(|(i, _)| *i);
        let own: Vec<Entry> = own.into_iter().map(|(_, e)| e).collect();
        self.events.after_change(&own).await;
        Ok(outcomes)
    }

    /// The check of an atomic end: what each id would get if the batch ran now, in order
    /// (a repeated id finds the first occurrence's end).
    async fn check_ends(&self, ids: &[SessionId], end: &EndInfo) -> StoreResult<Vec<EndOutcome>> {
        let groups = self.by_shard(ids);
        let results = try_join_all(groups.values().map(|pos| async move {
            let mut inv = self.scripts.states.prepare_invoke();
            for &i in pos {
                inv.key(self.layout.session(&ids[i]));
            }
            let out: Vec<String> = self.conn.script(self.t(), &inv).await?;
            Ok::<_, StoreError>((pos, out))
        }))
        .await?;
        let mut states = vec![String::new(); ids.len()];
        for (pos, out) in results {
            for (&i, st) in pos.iter().zip(out) {
                states[i] = st;
            }
        }
        let mut seen = HashSet::new();
        ids.iter()
            .zip(states)
            .map(|(id, st)| {
                Ok(match st.as_str() {
                    "" => EndOutcome::NotFound,
                    "active" if seen.insert(id) => EndOutcome::Ended,
                    "active" => EndOutcome::AlreadyEnded(end.state),
                    other => EndOutcome::AlreadyEnded(
                        SessionState::parse(other)
                            .ok_or_else(|| internal(format!("bad state {other:?}")))?,
                    ),
                })
            })
            .collect()
    }
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn insert_session(
        &self,
        s: &Session,
        token_hash: &TokenHash,
        expires_at: Option<Timestamp>,
        event: Option<&EventDraft>,
    ) -> StoreResult<()> {
        if s.state != SessionState::Active {
            return Err(internal("insert_session takes live sessions only"));
        }
        // Core draws ids until this holds; an id that breaks it would put the external id's
        // key and the session in different slots, and uniqueness could no longer be checked.
        if !self.accepts_id(&s.id, s) {
            return Err(internal("id not in the external id's shard"));
        }
        let shard = self.layout.shard_of(&s.id);
        let key = self.layout.session(&s.id);
        let mut inv = self.scripts.insert.key(&key);
        if let Some(xk) = self.layout.external(s) {
            inv.key(xk);
        }
        inv.arg(self.layout.base(shard))
            .arg(s.id.as_str())
            .arg(s.tenant_id)
            .arg(fixed_json(s)?)
            .arg(mutable_json(s)?)
            .arg(pad(s.last_active_at))
            .arg(s.call_count.min(i64::MAX as u64))
            .arg(&token_hash[..])
            .arg(deadline_arg(expires_at))
            .arg(json_list(&fixed_entries(s))?)
            .arg(json_list(&mutable_entries(s))?)
            .arg(&s.service)
            .arg(hour_of(s.opened_at));
        let ev = event.map(items).unwrap_or_default();
        inv.arg(ev.len());
        for item in &ev {
            inv.arg(item);
        }
        let r: Vec<String> = self.conn.script(self.t(), &inv).await?;
        let position = match r.first().map(String::as_str) {
            Some("ok") => r
                .get(1)
                .and_then(|p| p.parse::<u64>().ok())
                .ok_or_else(|| internal(format!("insert answered {r:?}")))?,
            Some("conflict") => {
                return Err(StoreError::Conflict(
                    "a live session already has this external_id".into(),
                ))
            }
            _ => return Err(StoreError::Conflict(format!("session id {} exists", s.id))),
        };
        // The external id's key and the outbox are in the same slot: one WAIT covers all.
        self.conn
            .wait(self.tw(), &key, self.wait_n, self.opts.wait_timeout)
            .await?;
        if position > 0 {
            self.events
                .after_change(&[(Outbox::Shard(shard), position, ev)])
                .await;
        }
        Ok(())
    }

    /// A session with an external id must live in that id's shard (keys.rs).
    fn accepts_id(&self, id: &SessionId, s: &Session) -> bool {
        self.layout
            .external_shard(s)
            .is_none_or(|x| x == self.layout.shard_of(id))
    }

    async fn get_session(&self, id: &SessionId) -> StoreResult<Option<Session>> {
        Ok(self.get_session_auth(id).await?.map(|(s, _)| s))
    }

    async fn get_sessions(&self, ids: &[SessionId]) -> StoreResult<Vec<Option<Session>>> {
        Ok(self
            .fetch(ids)
            .await?
            .into_iter()
            .map(|o| o.map(|(s, _)| s))
            .collect())
    }

    /// One HMGET: the session and its token hash live in one hash.
    async fn get_session_auth(&self, id: &SessionId) -> StoreResult<Option<(Session, TokenHash)>> {
        let row: Row = self
            .conn
            .query(self.t(), &read(self.layout.session(id)))
            .await?;
        decode(id, &row)
    }

    async fn update_live(&self, s: &Session, expires_at: Option<Timestamp>) -> StoreResult<()> {
        let shard = self.layout.shard_of(&s.id);
        let mut inv = self.scripts.update_live.key(self.layout.session(&s.id));
        inv.arg(self.layout.base(shard))
            .arg(s.id.as_str())
            .arg(mutable_json(s)?)
            .arg(deadline_arg(expires_at))
            .arg(json_list(&mutable_entries(s))?);
        let r: String = self.conn.script(self.t(), &inv).await?;
        match r.as_str() {
            "ok" => Ok(()),
            "missing" => Err(StoreError::NotFound),
            _ => Err(StoreError::Conflict("session has ended".into())),
        }
    }

    async fn apply_touches(&self, touches: &[Touch]) -> StoreResult<()> {
        if touches.is_empty() {
            return Ok(());
        }
        let ids: Vec<SessionId> = touches.iter().map(|t| t.id.clone()).collect();
        let groups = self.by_shard(&ids);
        try_join_all(groups.iter().map(|(&shard, pos)| async move {
            let mut inv = self.scripts.touch.prepare_invoke();
            inv.arg(self.layout.base(shard));
            for &i in pos {
                let t = &touches[i];
                inv.key(self.layout.session(&t.id))
                    .arg(t.id.as_str())
                    .arg(pad(t.at))
                    .arg(t.calls.min(i64::MAX as u64))
                    .arg(deadline_arg(t.expires_at));
            }
            self.conn.script::<String>(self.t(), &inv).await
        }))
        .await?;
        Ok(())
    }

    async fn list_sessions(&self, q: &ListQuery) -> StoreResult<Page> {
        crate::list::list(self, q).await
    }

    async fn count_sessions(&self, f: &SessionFilter) -> StoreResult<u64> {
        crate::list::count(self, f).await
    }

    async fn max_matching_id(&self, f: &SessionFilter) -> StoreResult<Option<SessionId>> {
        crate::list::max_id(self, f).await
    }

    /// Never appends the audit record (the `bool` is always false): the audit log is a
    /// directory key and the sessions live on their shards (different slots in a Cluster),
    /// so no script could write both at once; core appends it after the ends. Each event
    /// is appended by its shard's end script, only for the ids that script ended.
    async fn end_sessions(
        &self,
        ids: &[SessionId],
        end: &EndInfo,
        atomic: bool,
        effects: &EndEffects<'_>,
    ) -> StoreResult<(EndBatch, bool)> {
        if end.state == SessionState::Active {
            return Err(internal("a session cannot end as active"));
        }
        if ids.is_empty() {
            let none = EndBatch {
                committed: true,
                outcomes: vec![],
            };
            return Ok((none, false));
        }
        if atomic {
            let check = self.check_ends(ids, end).await?;
            if check.iter().any(|o| *o != EndOutcome::Ended) {
                let refused = EndBatch {
                    committed: false,
                    outcomes: check,
                };
                return Ok((refused, false));
            }
        }
        let ended = EndBatch {
            committed: true,
            outcomes: self.end_now(ids, end, effects.events).await?,
        };
        Ok((ended, false))
    }

    async fn due_for_expiry(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<Session>> {
        if limit == 0 {
            return Ok(vec![]);
        }
        let max = match now.nanos().checked_add(1) {
            Some(n) => format!("({}", pad(Timestamp(n))),
            None => "+".to_string(),
        };
        // due.lua moves entries the lazy index left early (touch.lua) and answers only due
        // ones. The budget bounds what one script call examines (Redis runs nothing else
        // meanwhile); while it runs out, the shard is asked again, up to DUE_ROUNDS times.
        let budget = limit.saturating_mul(4).saturating_add(100);
        let per_shard = try_join_all((0..self.layout.shards).map(|shard| {
            let max = max.clone();
            async move {
                let mut found: Vec<String> = Vec::new();
                for _ in 0..DUE_ROUNDS {
                    let mut inv = self.scripts.due.key(self.layout.due(shard));
                    inv.arg(self.layout.base(shard))
                        .arg(&max)
                        .arg(limit)
                        .arg(budget);
                    let mut got: Vec<String> = self.conn.script(self.t(), &inv).await?;
                    let more = !got.is_empty() && got.remove(0) == "1";
                    // Each call answers from the start of the index: the latest is complete.
                    found = got;
                    if !more {
                        break;
                    }
                }
                Ok::<_, StoreError>(found)
            }
        }))
        .await?;
        let mut members: Vec<String> = per_shard.into_iter().flatten().collect();
        members.sort();
        members.truncate(limit);
        let ids: Vec<SessionId> = members
            .iter()
            .filter_map(|m| m.get(21..).and_then(SessionId::parse))
            .collect();
        Ok(self
            .get_sessions(&ids)
            .await?
            .into_iter()
            .flatten()
            .filter(|s| s.state.is_live())
            .collect())
    }

    async fn set_deadline(&self, id: &SessionId, expires_at: Option<Timestamp>) -> StoreResult<()> {
        let mut inv = self.scripts.set_deadline.key(self.layout.session(id));
        inv.arg(self.layout.base(self.layout.shard_of(id)))
            .arg(id.as_str())
            .arg(deadline_arg(expires_at));
        self.conn.script::<i64>(self.t(), &inv).await?;
        Ok(())
    }

    /// See stats.rs.
    async fn session_stats(
        &self,
        scope: &TenantScope,
        since_hour: i64,
    ) -> StoreResult<SessionStats> {
        crate::stats::session_stats(self, scope, since_hour).await
    }

    /// Tombstone keys also expire by themselves (TTL = retention); this deletes the ones
    /// ended before `before` early, oldest first across shards, and cleans the index
    /// entries of expired ones.
    async fn purge_ended(&self, before: Timestamp, limit: usize) -> StoreResult<u64> {
        if limit == 0 {
            return Ok(0);
        }
        let max = format!("({}", pad(before));
        let per_shard = try_join_all((0..self.layout.shards).map(|shard| {
            let max = max.clone();
            async move {
                let mut c = redis::cmd("ZRANGEBYLEX");
                c.arg(self.layout.ended(shard))
                    .arg("-")
                    .arg(max)
                    .arg("LIMIT")
                    .arg(0)
                    .arg(limit);
                let m: Vec<String> = self.conn.query(self.t(), &c).await?;
                Ok::<_, StoreError>(m.into_iter().map(move |m| (m, shard)))
            }
        }))
        .await?;
        let mut members: Vec<(String, u16)> = per_shard.into_iter().flatten().collect();
        members.sort();
        members.truncate(limit);
        let mut groups: BTreeMap<u16, Vec<String>> = BTreeMap::new();
        for (m, shard) in members {
            groups.entry(shard).or_default().push(m);
        }
        let counts = try_join_all(groups.into_iter().map(|(shard, ms)| async move {
            let mut inv = self.scripts.purge.key(self.layout.ended(shard));
            inv.arg(self.layout.base(shard));
            for m in &ms {
                inv.arg(m);
            }
            self.conn.script::<u64>(self.t(), &inv).await
        }))
        .await?;
        Ok(counts.into_iter().sum())
    }
}
