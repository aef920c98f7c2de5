//! Operator terminations: one session, explicit id lists in three modes, and filters worked
//! through in bounded chunks, with dry runs pinned by a `confirm` token.

use super::{canonical_filter, Caller, Registry};
use crate::domain::{Privilege, Session, SessionId, SessionState};
use crate::error::{CoreError, CoreResult};
use crate::filter::{ListQuery, SessionFilter};
use crate::rules::bulk::BulkMode;
use crate::store::{EndInfo, EndOutcome, EndScope};
use crate::wire::{ItemResult, TerminateRequest, TerminateResponse};

/// Per-item codes of a bulk terminate.
pub const ITEM_NOT_FOUND: &str = "session_not_found";
pub const ITEM_ENDED: &str = "session_ended";
pub const ITEM_NOT_ATTEMPTED: &str = "not_attempted";
/// The caller's own login session, when the dialect refuses it (vSphere: use Logout).
pub const ITEM_OWN_SESSION: &str = "own_session";

/// Outcome of a sequential terminate (vSphere semantics): how many ended before the stop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulkEnd {
    pub results: Vec<ItemResult>,
    pub terminated: u64,
}

fn item(id: &str, outcome: &EndOutcome) -> ItemResult {
    let error = match outcome {
        EndOutcome::Ended => None,
        EndOutcome::NotFound => Some(ITEM_NOT_FOUND.to_string()),
        EndOutcome::AlreadyEnded(_) => Some(ITEM_ENDED.to_string()),
    };
    ItemResult {
        id: id.to_string(),
        ok: error.is_none(),
        error,
    }
}

fn not_attempted(id: &str) -> ItemResult {
    ItemResult {
        id: id.to_string(),
        ok: false,
        error: Some(ITEM_NOT_ATTEMPTED.to_string()),
    }
}

const MAX_REASON: usize = 1024;

impl Registry {
    fn end_info(&self, caller: &Caller, reason: Option<String>) -> CoreResult<EndInfo> {
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
        let batch = self
            .store
            .end_sessions(std::slice::from_ref(id), &scope, &end, false)
            .await?;
        match batch.outcomes.first() {
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
    /// (`own_session`) at its place in the list, as vSphere's TerminateSession requires.
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
        let parsed: Vec<Option<SessionId>> = raw_ids.iter().map(|s| SessionId::parse(s)).collect();
        let own = |id: &Option<SessionId>| {
            refuse_own && caller.session_id.is_some() && *id == caller.session_id
        };
        if parsed.iter().any(own) && mode != BulkMode::StopOnError {
            // Without sequential semantics there is no "before" to keep: refuse the request
            // as a whole, ending nothing.
            let results = raw_ids
                .iter()
                .zip(&parsed)
                .map(|(r, p)| {
                    if own(p) {
                        ItemResult {
                            id: r.clone(),
                            ok: false,
                            error: Some(ITEM_OWN_SESSION.into()),
                        }
                    } else {
                        not_attempted(r)
                    }
                })
                .collect();
            return Ok(BulkEnd {
                results,
                terminated: 0,
            });
        }
        let mut results = Vec::with_capacity(raw_ids.len());
        let mut terminated = 0u64;
        match mode {
            BulkMode::StopOnError => {
                for (i, id) in parsed.iter().enumerate() {
                    if own(id) {
                        results.push(ItemResult {
                            id: raw_ids[i].clone(),
                            ok: false,
                            error: Some(ITEM_OWN_SESSION.into()),
                        });
                        results.extend(raw_ids[i + 1..].iter().map(|r| not_attempted(r)));
                        break;
                    }
                    let outcome = match id {
                        None => EndOutcome::NotFound,
                        Some(id) => {
                            let b = self
                                .store
                                .end_sessions(std::slice::from_ref(id), scope, &end, false)
                                .await?;
                            b.outcomes
                                .into_iter()
                                .next()
                                .unwrap_or(EndOutcome::NotFound)
                        }
                    };
                    let ok = outcome == EndOutcome::Ended;
                    results.push(item(&raw_ids[i], &outcome));
                    if ok {
                        terminated += 1;
                    } else {
                        results.extend(raw_ids[i + 1..].iter().map(|r| not_attempted(r)));
                        break;
                    }
                }
            }
            BulkMode::AllOrNothing => {
                if parsed.iter().any(Option::is_none) {
                    results = raw_ids
                        .iter()
                        .zip(&parsed)
                        .map(|(r, p)| {
                            if p.is_none() {
                                item(r, &EndOutcome::NotFound)
                            } else {
                                not_attempted(r)
                            }
                        })
                        .collect();
                } else {
                    // A repeated id would meet itself already ended inside the one
                    // transaction and roll everything back; ending it once is what was asked,
                    // so the store sees each id once and repeats share its outcome.
                    let mut unique: Vec<SessionId> = Vec::with_capacity(parsed.len());
                    let mut seen = std::collections::HashSet::with_capacity(parsed.len());
                    for id in parsed.iter().flatten() {
                        if seen.insert(id) {
                            unique.push(id.clone());
                        }
                    }
                    let b = self.end_sessions(&unique, scope, &end, true).await?;
                    let outcome: std::collections::HashMap<&SessionId, &EndOutcome> =
                        unique.iter().zip(&b.outcomes).collect();
                    for (r, id) in raw_ids.iter().zip(parsed.iter().flatten()) {
                        let o = outcome.get(id).copied().unwrap_or(&EndOutcome::NotFound);
                        results.push(if b.committed || *o != EndOutcome::Ended {
                            item(r, o)
                        } else {
                            not_attempted(r)
                        });
                    }
                    if b.committed {
                        terminated = unique.len() as u64;
                    }
                }
            }
            BulkMode::BestEffort => {
                let mut i = 0;
                while i < raw_ids.len() {
                    let j = (i + self.cfg.end_chunk).min(raw_ids.len());
                    let ids: Vec<SessionId> = parsed[i..j].iter().flatten().cloned().collect();
                    let b = self.end_sessions(&ids, scope, &end, false).await?;
                    let mut outcomes = b.outcomes.into_iter();
                    for k in i..j {
                        let o = if parsed[k].is_some() {
                            outcomes.next().unwrap_or(EndOutcome::NotFound)
                        } else {
                            EndOutcome::NotFound
                        };
                        if o == EndOutcome::Ended {
                            terminated += 1;
                        }
                        results.push(item(&raw_ids[k], &o));
                    }
                    i = j;
                }
            }
        }
        if terminated > 0 {
            self.audit(
                caller,
                "sessions.terminate",
                &format!("{terminated} of {} ids", raw_ids.len()),
                end.reason.clone(),
            )
            .await;
        }
        Ok(BulkEnd {
            results,
            terminated,
        })
    }

    /// `POST /sessions/terminate` of the native API.
    pub async fn terminate_bulk(
        &self,
        caller: &Caller,
        req: TerminateRequest,
    ) -> CoreResult<TerminateResponse> {
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
                Ok(TerminateResponse::Ids {
                    terminated: r.terminated,
                    results: r.results,
                })
            }
            (None, Some(fp)) => {
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
                    return Ok(TerminateResponse::DryRun {
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
                            return Ok(TerminateResponse::Filter {
                                terminated: 0,
                                remaining: Some(0),
                                next: None,
                            })
                        }
                        Err(_) => return Err(CoreError::ConfirmMismatch),
                    }
                }
                let after =
                    match &req.after {
                        None => None,
                        Some(a) => Some(SessionId::parse(a).ok_or_else(|| {
                            CoreError::BadRequest("after: malformed cursor".into())
                        })?),
                    };
                self.terminate_filter(caller, filter, req.mode, req.reason, req.limit, after)
                    .await
            }
        }
    }

    async fn preview_ids(
        &self,
        caller: &Caller,
        ids: &[String],
        canonical: &str,
    ) -> CoreResult<TerminateResponse> {
        if ids.len() > self.cfg.max_bulk_ids {
            return Err(CoreError::invalid(
                "ids",
                format!("at most {} ids per request", self.cfg.max_bulk_ids),
            ));
        }
        let mut n = 0u64;
        let mut items = Vec::new();
        let mut max: Option<SessionId> = None;
        for id in ids.iter().filter_map(|s| SessionId::parse(s)) {
            if let Some(s) = self.store.get_session(&id).await? {
                if s.state.is_live() && caller.sees_tenant(s.tenant_id) {
                    n += 1;
                    if max.as_ref().is_none_or(|m| s.id > *m) {
                        max = Some(s.id.clone());
                    }
                    if items.len() < self.cfg.default_page {
                        items.push(s);
                    }
                }
            }
        }
        Ok(TerminateResponse::DryRun {
            would_terminate: n,
            items,
            confirm: self.confirm_key.issue(canonical, max.as_ref()),
        })
    }

    /// Works through a filter in chunks of `end_chunk`: list a chunk of ids, end it in one
    /// transaction, continue after the last id. Memory stays bounded whatever the match count.
    async fn terminate_filter(
        &self,
        caller: &Caller,
        filter: SessionFilter,
        mode: BulkMode,
        reason: Option<String>,
        limit: Option<u64>,
        mut after: Option<SessionId>,
    ) -> CoreResult<TerminateResponse> {
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
            let ids: Vec<SessionId> = page.items.iter().map(|s| s.id.clone()).collect();
            if let Some(last) = ids.last() {
                after = Some(last.clone());
            } else {
                after = page.next.clone();
            }
            if !ids.is_empty() {
                let b = self.end_sessions(&ids, &scope, &end, false).await?;
                let ended = b
                    .outcomes
                    .iter()
                    .filter(|o| **o == EndOutcome::Ended)
                    .count() as u64;
                terminated += ended;
                if mode == BulkMode::StopOnError && ended < ids.len() as u64 {
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
        if limit.is_some() || stopped {
            let remaining = self.store.count_sessions(&filter).await?;
            let next = if remaining > 0 {
                after.map(|a| a.to_string())
            } else {
                None
            };
            Ok(TerminateResponse::Filter {
                terminated,
                remaining: Some(remaining),
                next,
            })
        } else {
            Ok(TerminateResponse::Filter {
                terminated,
                remaining: None,
                next: None,
            })
        }
    }
}
