//! Operator terminations: one session, explicit id lists in three modes, and filters worked
//! through in bounded chunks, with dry runs pinned by a `confirm` token. Every end goes
//! through the funnel in `ending.rs`.

use super::ending::AuditOf;
use super::{canonical_filter, Caller, EndScope, EndedSession, Registry};
use crate::domain::{Privilege, Session, SessionId, SessionState};
use crate::error::{CoreError, CoreResult};
use crate::filter::{ListQuery, SessionFilter};
use crate::rules::bulk::BulkMode;
use crate::store::{EndInfo, EndOutcome};
use crate::wire::TerminateRequest;

/// What happened to one listed id of a bulk terminate; each dialect renders it its own way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemOutcome {
    Ended,
    /// Unknown, malformed, or outside the call's scope: all alike.
    NotFound,
    AlreadyEnded(SessionState),
    /// Not tried: after a stop in `stop_on_error`, or in an `all_or_nothing` that failed.
    NotAttempted,
    /// The caller's own login session, when the dialect refuses it (vSphere: use Logout).
    OwnSession,
}

impl ItemOutcome {
    pub fn is_ok(self) -> bool {
        self == ItemOutcome::Ended
    }
}

impl From<&EndOutcome> for ItemOutcome {
    fn from(o: &EndOutcome) -> Self {
        match o {
            EndOutcome::Ended => ItemOutcome::Ended,
            EndOutcome::NotFound => ItemOutcome::NotFound,
            EndOutcome::AlreadyEnded(s) => ItemOutcome::AlreadyEnded(*s),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulkItem {
    /// The id as the caller wrote it.
    pub id: String,
    pub outcome: ItemOutcome,
}

/// Outcome of a terminate of explicit ids: one item per listed id, in order, and the
/// sessions ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BulkEnd {
    pub items: Vec<BulkItem>,
    pub terminated: u64,
    pub ended: Vec<EndedSession>,
    /// The request's audit record was appended with the ends (see `end_admitted_audited`).
    pub(crate) audited: bool,
}

impl BulkEnd {
    /// The first item that did not end (what a stop-on-error dialect reports).
    pub fn first_failure(&self) -> Option<&BulkItem> {
        self.items.iter().find(|i| !i.outcome.is_ok())
    }
}

/// What `POST /sessions/terminate` did, in core's terms; the native API renders it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BulkTerminate {
    DryRun {
        would_terminate: u64,
        items: Vec<Session>,
        confirm: String,
    },
    Ids(BulkEnd),
    Filter {
        terminated: u64,
        remaining: Option<u64>,
        next: Option<SessionId>,
    },
}

fn bulk_item(id: &str, outcome: ItemOutcome) -> BulkItem {
    BulkItem {
        id: id.to_string(),
        outcome,
    }
}

const MAX_REASON: usize = 1024;

impl Registry {
    pub(super) fn end_info(&self, caller: &Caller, reason: Option<String>) -> CoreResult<EndInfo> {
        if reason.as_ref().is_some_and(|r| r.len() > MAX_REASON) {
            return Err(CoreError::invalid("reason", "at most 1024 characters"));
        }
        Ok(EndInfo {
            state: SessionState::Terminated,
            at: self.clock.now(),
            by: caller.principal.clone(),
            reason,
        })
    }

    /// Terminates one session by id (`DELETE /sessions/{id}`).
    pub async fn terminate_one(
        &self,
        caller: &Caller,
        id: &SessionId,
        reason: Option<String>,
        scope: EndScope,
    ) -> CoreResult<Session> {
        caller.require(Privilege::SessionsTerminate)?;
        let end = self.end_info(caller, reason)?;
        let report = self
            .end_ids(std::slice::from_ref(id), &scope, &end, false, None)
            .await?;
        match report.outcomes.first() {
            Some(EndOutcome::Ended) => {
                self.audit(caller, "session.terminate", id.as_str(), end.reason.clone())
                    .await;
                self.store
                    .get_session(id)
                    .await?
                    .ok_or(CoreError::NotFound("session"))
            }
            Some(EndOutcome::AlreadyEnded(st)) => Err(CoreError::SessionEnded(st.as_str())),
            _ => Err(CoreError::NotFound("session")),
        }
    }

    /// Ends explicit ids in the given mode. `scope` limits what may be ended (tenant and, for
    /// vendor dialects, service); anything outside it counts as not found. Malformed ids are
    /// not found too. With `refuse_own`, the caller's own login session is an item failure
    /// (`OwnSession`) at its place in the list, as vSphere's TerminateSession requires.
    pub async fn terminate_ids(
        &self,
        caller: &Caller,
        raw_ids: &[String],
        mode: BulkMode,
        reason: Option<String>,
        scope: &EndScope,
        refuse_own: bool,
    ) -> CoreResult<BulkEnd> {
        caller.require(Privilege::SessionsTerminate)?;
        if raw_ids.len() > self.cfg.max_bulk_ids {
            return Err(CoreError::invalid(
                "ids",
                format!("at most {} ids per request", self.cfg.max_bulk_ids),
            ));
        }
        let end = self.end_info(caller, reason)?;
        let m = raw_ids.len();
        let record_for = |n: u64| {
            self.audit_record(
                caller,
                "sessions.terminate",
                &format!("{n} of {m} ids"),
                end.reason.clone(),
            )
        };
        let parsed: Vec<Option<SessionId>> = raw_ids.iter().map(|s| SessionId::parse(s)).collect();
        // The caller's own login session, when this dialect refuses it.
        let own_id = caller.session_id.as_ref().filter(|_| refuse_own);
        let own = |id: &Option<SessionId>| own_id.is_some() && id.as_ref() == own_id;
        let done = if parsed.iter().any(own) && mode != BulkMode::StopOnError {
            // Without sequential semantics there is no "before" to keep: refuse the request
            // as a whole, ending nothing.
            let items = raw_ids
                .iter()
                .zip(&parsed)
                .map(|(r, p)| {
                    let o = if own(p) {
                        ItemOutcome::OwnSession
                    } else {
                        ItemOutcome::NotAttempted
                    };
                    bulk_item(r, o)
                })
                .collect();
            BulkEnd {
                items,
                ..BulkEnd::default()
            }
        } else {
            match mode {
                BulkMode::StopOnError => {
                    self.end_sequential(raw_ids, &parsed, scope, &end, own_id)
                        .await?
                }
                BulkMode::AllOrNothing => {
                    self.end_all_or_nothing(raw_ids, &parsed, scope, &end)
                        .await?
                }
                BulkMode::BestEffort => {
                    self.end_best_effort(raw_ids, &parsed, scope, &end, &record_for)
                        .await?
                }
            }
        };
        if done.terminated > 0 && !done.audited {
            self.append_audit_record(record_for(done.terminated)).await;
        }
        Ok(done)
    }

    /// vSphere semantics: in list order, each end its own durable step; stop at the first
    /// failure, earlier ones stay ended, later ones are not attempted.
    async fn end_sequential(
        &self,
        raw_ids: &[String],
        parsed: &[Option<SessionId>],
        scope: &EndScope,
        end: &EndInfo,
        own: Option<&SessionId>,
    ) -> CoreResult<BulkEnd> {
        let mut done = BulkEnd::default();
        for (i, id) in parsed.iter().enumerate() {
            let outcome = if own.is_some() && id.as_ref() == own {
                ItemOutcome::OwnSession
            } else if let Some(id) = id {
                let mut r = self
                    .end_ids(std::slice::from_ref(id), scope, end, false, None)
                    .await?;
                done.ended.append(&mut r.ended);
                r.outcomes
                    .first()
                    .map(ItemOutcome::from)
                    .unwrap_or(ItemOutcome::NotFound)
            } else {
                ItemOutcome::NotFound
            };
            done.items.push(bulk_item(&raw_ids[i], outcome));
            if !outcome.is_ok() {
                done.items.extend(
                    raw_ids[i + 1..]
                        .iter()
                        .map(|r| bulk_item(r, ItemOutcome::NotAttempted)),
                );
                break;
            }
            done.terminated += 1;
        }
        Ok(done)
    }

    /// Check every id, then end all or none (see the store contract for the cross-shard
    /// window). Each distinct id is ended once; repeats share its outcome.
    async fn end_all_or_nothing(
        &self,
        raw_ids: &[String],
        parsed: &[Option<SessionId>],
        scope: &EndScope,
        end: &EndInfo,
    ) -> CoreResult<BulkEnd> {
        if parsed.iter().any(Option::is_none) {
            let items = raw_ids
                .iter()
                .zip(parsed)
                .map(|(r, p)| {
                    let o = if p.is_none() {
                        ItemOutcome::NotFound
                    } else {
                        ItemOutcome::NotAttempted
                    };
                    bulk_item(r, o)
                })
                .collect();
            return Ok(BulkEnd {
                items,
                ..BulkEnd::default()
            });
        }
        let mut unique: Vec<SessionId> = Vec::with_capacity(parsed.len());
        let mut seen = std::collections::HashSet::with_capacity(parsed.len());
        for id in parsed.iter().flatten() {
            if seen.insert(id) {
                unique.push(id.clone());
            }
        }
        let r = self.end_ids(&unique, scope, end, true, None).await?;
        let outcome: std::collections::HashMap<&SessionId, &EndOutcome> =
            unique.iter().zip(&r.outcomes).collect();
        let items = raw_ids
            .iter()
            .zip(parsed.iter().flatten())
            .map(|(raw, id)| {
                let o = outcome.get(id).copied().unwrap_or(&EndOutcome::NotFound);
                let o = if r.committed || *o != EndOutcome::Ended {
                    ItemOutcome::from(o)
                } else {
                    ItemOutcome::NotAttempted
                };
                bulk_item(raw, o)
            })
            .collect();
        Ok(BulkEnd {
            items,
            terminated: r.ended_count(),
            ended: r.ended,
            audited: false,
        })
    }

    /// Every id tried, in chunks of `end_chunk` (bounded memory and transaction size). A
    /// request of one chunk (a Qumulo close of 100) hands its audit record to the funnel, so
    /// the ends and the record are one durable step.
    async fn end_best_effort(
        &self,
        raw_ids: &[String],
        parsed: &[Option<SessionId>],
        scope: &EndScope,
        end: &EndInfo,
        record_for: AuditOf<'_>,
    ) -> CoreResult<BulkEnd> {
        let mut done = BulkEnd::default();
        let one_chunk = raw_ids.len() <= self.cfg.end_chunk;
        for (raws, chunk) in raw_ids
            .chunks(self.cfg.end_chunk)
            .zip(parsed.chunks(self.cfg.end_chunk))
        {
            let ids: Vec<SessionId> = chunk.iter().flatten().cloned().collect();
            let audit = one_chunk.then_some(record_for);
            let mut r = self.end_ids(&ids, scope, end, false, audit).await?;
            done.audited = r.audited;
            let mut outcomes = r.outcomes.iter();
            for (raw, p) in raws.iter().zip(chunk) {
                let o = match p {
                    Some(_) => outcomes
                        .next()
                        .map(ItemOutcome::from)
                        .unwrap_or(ItemOutcome::NotFound),
                    None => ItemOutcome::NotFound,
                };
                done.items.push(bulk_item(raw, o));
            }
            done.terminated += r.ended_count();
            done.ended.append(&mut r.ended);
        }
        Ok(done)
    }

    /// `POST /sessions/terminate` of the native API.
    pub async fn terminate_bulk(
        &self,
        caller: &Caller,
        req: TerminateRequest,
    ) -> CoreResult<BulkTerminate> {
        caller.require(Privilege::SessionsTerminate)?;
        match (&req.ids, &req.filter) {
            (Some(_), Some(_)) | (None, None) => Err(CoreError::invalid(
                "ids",
                "give exactly one of ids or filter",
            )),
            (Some(ids), None) => {
                if req.limit.is_some() || req.after.is_some() {
                    return Err(CoreError::invalid(
                        "limit",
                        "limit and after apply to filters only",
                    ));
                }
                let canonical = format!("ids:{}", ids.join(","));
                if req.dry_run {
                    return self.preview_ids(caller, ids, &canonical).await;
                }
                if let Some(c) = &req.confirm {
                    self.confirm_key
                        .check(&canonical, c)
                        .map_err(|_| CoreError::ConfirmMismatch)?;
                }
                let scope = EndScope::tenant(caller.scope());
                let r = self
                    .terminate_ids(caller, ids, req.mode, req.reason, &scope, false)
                    .await?;
                Ok(BulkTerminate::Ids(r))
            }
            (None, Some(fp)) => {
                let fp = fp.clone();
                self.terminate_by_filter(caller, &fp, req).await
            }
        }
    }

    async fn terminate_by_filter(
        &self,
        caller: &Caller,
        fp: &crate::wire::FilterParams,
        req: TerminateRequest,
    ) -> CoreResult<BulkTerminate> {
        if req.mode == BulkMode::AllOrNothing {
            return Err(CoreError::invalid(
                "mode",
                "all_or_nothing applies to explicit ids; a filter is worked in chunks",
            ));
        }
        let mut filter = self.filter_for(caller, fp).await?;
        if filter.state != crate::filter::StateFilter::Active {
            return Err(CoreError::invalid(
                "filter.state",
                "only active sessions can be terminated",
            ));
        }
        let canonical = format!("filter:{}", canonical_filter(fp));
        if req.dry_run {
            let max = self.store.max_matching_id(&filter).await?;
            filter.max_id = max.clone();
            let n = if max.is_some() {
                self.store.count_sessions(&filter).await?
            } else {
                0
            };
            let page = self
                .store
                .list_sessions(&ListQuery {
                    filter,
                    after: None,
                    limit: self.cfg.default_page,
                })
                .await?;
            return Ok(BulkTerminate::DryRun {
                would_terminate: n,
                items: page.items,
                confirm: self.confirm_key.issue(&canonical, max.as_ref()),
            });
        }
        if let Some(c) = &req.confirm {
            match self.confirm_key.check(&canonical, c) {
                Ok(Some(max)) => filter.max_id = Some(max),
                // The preview matched nothing, so nothing may be ended now.
                Ok(None) => {
                    return Ok(BulkTerminate::Filter {
                        terminated: 0,
                        remaining: Some(0),
                        next: None,
                    })
                }
                Err(_) => return Err(CoreError::ConfirmMismatch),
            }
        }
        let after = match &req.after {
            None => None,
            Some(a) => Some(
                SessionId::parse(a)
                    .ok_or_else(|| CoreError::BadRequest("after: malformed cursor".into()))?,
            ),
        };
        self.terminate_filter(caller, filter, req.mode, req.reason, req.limit, after)
            .await
    }

    async fn preview_ids(
        &self,
        caller: &Caller,
        ids: &[String],
        canonical: &str,
    ) -> CoreResult<BulkTerminate> {
        if ids.len() > self.cfg.max_bulk_ids {
            return Err(CoreError::invalid(
                "ids",
                format!("at most {} ids per request", self.cfg.max_bulk_ids),
            ));
        }
        let parsed: Vec<SessionId> = ids.iter().filter_map(|s| SessionId::parse(s)).collect();
        let scope = EndScope::tenant(caller.scope());
        let mut n = 0u64;
        let mut items = Vec::new();
        let mut max: Option<SessionId> = None;
        for s in self
            .store
            .get_sessions(&parsed)
            .await?
            .into_iter()
            .flatten()
        {
            if s.state.is_live() && scope.admits(&s) {
                n += 1;
                if max.as_ref().is_none_or(|m| s.id > *m) {
                    max = Some(s.id.clone());
                }
                if items.len() < self.cfg.default_page {
                    items.push(s);
                }
            }
        }
        Ok(BulkTerminate::DryRun {
            would_terminate: n,
            items,
            confirm: self.confirm_key.issue(canonical, max.as_ref()),
        })
    }

    /// Works through a filter in chunks of `end_chunk`: list a chunk, end it through the
    /// funnel, continue after the last id. Memory stays bounded whatever the match count.
    async fn terminate_filter(
        &self,
        caller: &Caller,
        filter: SessionFilter,
        mode: BulkMode,
        reason: Option<String>,
        limit: Option<u64>,
        mut after: Option<SessionId>,
    ) -> CoreResult<BulkTerminate> {
        let end = self.end_info(caller, reason)?;
        let scope = EndScope::tenant(caller.scope());
        let mut terminated = 0u64;
        let mut stopped = false;
        loop {
            let want = match limit {
                Some(l) if terminated >= l => break,
                Some(l) => ((l - terminated) as usize).min(self.cfg.end_chunk),
                None => self.cfg.end_chunk,
            };
            let page = self
                .store
                .list_sessions(&ListQuery {
                    filter: filter.clone(),
                    after: after.clone(),
                    limit: want,
                })
                .await?;
            if page.items.is_empty() && page.next.is_none() {
                break;
            }
            after = page
                .items
                .last()
                .map(|s| s.id.clone())
                .or(page.next.clone());
            let targets: Vec<Session> =
                page.items.into_iter().filter(|s| scope.admits(s)).collect();
            if !targets.is_empty() {
                let r = self.end_admitted(&targets, &end, false).await?;
                terminated += r.ended_count();
                if mode == BulkMode::StopOnError && r.ended_count() < targets.len() as u64 {
                    stopped = true;
                    break;
                }
            }
            if page.next.is_none() {
                after = None;
                break;
            }
        }
        if terminated > 0 {
            self.audit(
                caller,
                "sessions.terminate_filter",
                &format!("{terminated} sessions"),
                end.reason.clone(),
            )
            .await;
        }
        if limit.is_none() && !stopped {
            return Ok(BulkTerminate::Filter {
                terminated,
                remaining: None,
                next: None,
            });
        }
        let remaining = self.store.count_sessions(&filter).await?;
        Ok(BulkTerminate::Filter {
            terminated,
            remaining: Some(remaining),
            next: if remaining > 0 { after } else { None },
        })
    }
}
