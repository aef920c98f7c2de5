//! The one funnel every end of a session goes through — close, logout, terminate (one, ids,
//! filter, every mode and dialect), DDS kill, expiry, principal disable — and the visibility
//! rule that decides which sessions a call may end. Events, metrics, audit and caches hook
//! here, so each end is seen exactly once whatever caused it.

use super::Registry;
use crate::domain::{AuditRecord, Session, SessionId, SessionKind, SessionState, TenantId, User};
use crate::error::{CoreError, CoreResult};
use crate::filter::TenantScope;
use crate::rules::state::can_transition;
use crate::store::{EndEffects, EndInfo, EndOutcome, Invalidation};
use crate::time::Timestamp;

/// Which sessions a call may end: a session outside it is reported as not found, exactly
/// like one that does not exist. Core decides it; stores never see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndScope {
    pub tenant: TenantScope,
    pub owner: Option<String>,
    pub service: Option<String>,
    pub kind: Option<SessionKind>,
}

impl EndScope {
    pub fn tenant(tenant: TenantScope) -> Self {
        EndScope {
            tenant,
            owner: None,
            service: None,
            kind: None,
        }
    }
    /// A vendor dialect's scope: the caller's own tenant and the dialect's service.
    pub fn service(tenant: TenantScope, service: &str) -> Self {
        EndScope {
            service: Some(service.to_string()),
            ..EndScope::tenant(tenant)
        }
    }
    pub fn admits(&self, s: &Session) -> bool {
        self.tenant.contains(s.tenant_id)
            && self.owner.as_ref().is_none_or(|o| *o == s.owner)
            && self.service.as_ref().is_none_or(|v| *v == s.service)
            && self.kind.is_none_or(|k| k == s.kind)
    }
}

/// One session this registry ended: what events, metrics and audit need to know of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndedSession {
    pub id: SessionId,
    pub tenant_id: TenantId,
    pub service: String,
    pub owner: String,
    pub kind: SessionKind,
    pub user: User,
    pub state: SessionState,
    pub ended_by: String,
    pub reason: Option<String>,
    pub ended_at: Timestamp,
}

impl EndedSession {
    fn new(s: &Session, end: &EndInfo) -> Self {
        EndedSession {
            id: s.id.clone(),
            tenant_id: s.tenant_id,
            service: s.service.clone(),
            owner: s.owner.clone(),
            kind: s.kind,
            user: s.user.clone(),
            state: end.state,
            ended_by: end.by.clone(),
            reason: end.reason.clone(),
            ended_at: end.at,
        }
    }
}

/// The result of ending a list of ids: one outcome per input id (in order), and the sessions
/// this call ended. With `atomic`, `committed` is false when any id could not be ended, and
/// then nothing was (outcomes of the ids that could have been are `Ended`, uncommitted).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndReport {
    pub committed: bool,
    pub outcomes: Vec<EndOutcome>,
    pub ended: Vec<EndedSession>,
    /// The call's audit record was appended with the ends, in the same durable step.
    pub audited: bool,
}

/// Builds a call's audit record for the number of sessions it ended (the funnel asks for the
/// number it expects, so the store can append the record in the ends' own transaction).
pub(crate) type AuditOf<'a> = &'a (dyn Fn(u64) -> AuditRecord + Send + Sync);

impl EndReport {
    pub fn ended_count(&self) -> u64 {
        self.ended.len() as u64
    }
}

impl Registry {
    /// **The funnel.** Ends sessions core has already admitted (read, in scope): the store
    /// compare-and-sets each from `active`, and whatever it reports is returned in order.
    pub(crate) async fn end_admitted(
        &self,
        targets: &[Session],
        end: &EndInfo,
        atomic: bool,
    ) -> CoreResult<EndReport> {
        self.end_admitted_audited(targets, end, atomic, None).await
    }

    /// The funnel, given the call's audit record: the store appends it with the ends when
    /// they are exactly the sessions read as live (one durable step instead of two: a
    /// Qumulo close of 100 is one fsync). Otherwise `audited` is false and the caller
    /// appends the record for what did end.
    pub(crate) async fn end_admitted_audited(
        &self,
        targets: &[Session],
        end: &EndInfo,
        atomic: bool,
        audit: Option<AuditOf<'_>>,
    ) -> CoreResult<EndReport> {
        if !can_transition(SessionState::Active, end.state) {
            return Err(CoreError::Internal(format!(
                "a session cannot end as {}",
                end.state.as_str()
            )));
        }
        if targets.is_empty() {
            return Ok(EndReport {
                committed: true,
                ..EndReport::default()
            });
        }
        let ids: Vec<SessionId> = targets.iter().map(|s| s.id.clone()).collect();
        // Each target's event, as the session will read after this end; the store writes
        // those of the ids it ends with the ends themselves.
        let events = self.end_events(targets, end).await?;
        let record = audit.map(|record_for| {
            // A repeated id ends once.
            let expected = ids.iter().collect::<std::collections::HashSet<_>>().len();
            (record_for(expected as u64), expected)
        });
        let effects = EndEffects {
            audit: record.as_ref().map(|(r, n)| (r, *n)),
            events: &events,
        };
        let (batch, audited) = self.store.end_sessions(&ids, end, atomic, &effects).await?;
        let ended: Vec<EndedSession> = if batch.committed {
            targets
                .iter()
                .zip(&batch.outcomes)
                .filter(|(_, o)| **o == EndOutcome::Ended)
                .map(|(s, _)| EndedSession::new(s, end))
                .collect()
        } else {
            Vec::new()
        };
        if !ended.is_empty() {
            metrics::counter!("sessiond_sessions_ended_total", "state" => end.state.as_str())
                .increment(ended.len() as u64);
            // Ended logins must stop authenticating on every replica now.
            let logins: Vec<Invalidation> = ended
                .iter()
                .filter(|e| e.kind == SessionKind::Login)
                .map(|e| Invalidation::Session(e.id.clone()))
                .collect();
            self.invalidate(logins).await;
        }
        Ok(EndReport {
            committed: batch.committed,
            outcomes: batch.outcomes,
            ended,
            audited,
        })
    }

    /// Ends explicit ids: reads them, applies the visibility rule (outside `scope` = not
    /// found) and the state rule (only `active` ends), then ends the rest through the funnel.
    /// A repeated id is ended once; its repeats report what the store found then.
    pub(crate) async fn end_ids(
        &self,
        ids: &[SessionId],
        scope: &EndScope,
        end: &EndInfo,
        atomic: bool,
        audit: Option<AuditOf<'_>>,
    ) -> CoreResult<EndReport> {
        let found = self.store.get_sessions(ids).await?;
        let mut outcomes: Vec<Option<EndOutcome>> = Vec::with_capacity(ids.len());
        let mut targets = Vec::new();
        for s in found {
            match s {
                Some(s) if scope.admits(&s) => {
                    if can_transition(s.state, end.state) {
                        outcomes.push(None);
                        targets.push(s);
                    } else {
                        outcomes.push(Some(EndOutcome::AlreadyEnded(s.state)));
                    }
                }
                _ => outcomes.push(Some(EndOutcome::NotFound)),
            }
        }
        if atomic && outcomes.iter().any(Option::is_some) {
            return Ok(EndReport {
                committed: false,
                outcomes: outcomes
                    .into_iter()
                    .map(|o| o.unwrap_or(EndOutcome::Ended))
                    .collect(),
                ended: Vec::new(),
                audited: false,
            });
        }
        let report = self
            .end_admitted_audited(&targets, end, atomic, audit)
            .await?;
        let mut cas = report.outcomes.into_iter();
        let outcomes = outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| cas.next().unwrap_or(EndOutcome::NotFound)))
            .collect();
        Ok(EndReport {
            committed: report.committed,
            outcomes,
            ended: report.ended,
            audited: report.audited,
        })
    }
}
