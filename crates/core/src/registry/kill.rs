//! Killing the running operations of explicit sessions on one node, all or nothing: MongoDB's
//! `killOp` as DDS exposes it, where an idle connection has no operation to kill.

use super::{Caller, EndScope, ItemOutcome, Registry};
use crate::domain::{Privilege, SessionId, SessionState};
use crate::error::{CoreError, CoreResult};
use crate::rules::bulk::BulkMode;
use std::collections::HashSet;

/// Why [`Registry::kill_running`] refused a request; nothing was ended. Each names the first
/// offending id in list order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KillRefusal {
    /// No session with this id in scope on this node: unknown, malformed, another tenant's,
    /// another service's or another node's, all alike.
    NotFound(String),
    /// The session is idle (no operation in progress) or has already ended.
    Inactive(String),
}

impl Registry {
    /// Ends the given sessions in one step if every one is a live session admitted by
    /// `scope`, on `node_id`, with an operation in progress; otherwise refuses the request
    /// and ends nothing. Returns how many were ended.
    ///
    /// All ids are checked before anything is ended. A session that goes idle between the
    /// check and the end is still ended (the store guards liveness, not activity), the same
    /// race a `killOp` has with an operation finishing on its own; one that ends meanwhile
    /// makes the request fail and is reported as inactive.
    pub async fn kill_running(
        &self,
        caller: &Caller,
        scope: &EndScope,
        node_id: &str,
        raw_ids: &[String],
        reason: Option<String>,
    ) -> CoreResult<Result<u64, KillRefusal>> {
        caller.require(Privilege::SessionsTerminate)?;
        if raw_ids.len() > self.cfg.max_bulk_ids {
            return Err(CoreError::invalid(
                "sessions",
                format!("at most {} ids per request", self.cfg.max_bulk_ids),
            ));
        }
        // Each session is checked once however often (or in whatever letter case) it is
        // named; `terminate_ids` ends a repeated id once too.
        let mut distinct: Vec<SessionId> = Vec::with_capacity(raw_ids.len());
        let mut seen = HashSet::with_capacity(raw_ids.len());
        let mut first_raw = Vec::with_capacity(raw_ids.len());
        for raw in raw_ids {
            let Some(id) = SessionId::parse(raw) else {
                return Ok(Err(KillRefusal::NotFound(raw.clone())));
            };
            if seen.insert(id.clone()) {
                distinct.push(id);
                first_raw.push(raw);
            }
        }
        let found = self.store.get_sessions(&distinct).await?;
        for (raw, s) in first_raw.iter().zip(found) {
            match s {
                Some(s) if scope.admits(&s) && s.node_id.as_deref() == Some(node_id) => {
                    if s.state != SessionState::Active || s.activity.is_none() {
                        return Ok(Err(KillRefusal::Inactive((*raw).clone())));
                    }
                }
                _ => return Ok(Err(KillRefusal::NotFound((*raw).clone()))),
            }
        }
        let r = self
            .terminate_ids(
                caller,
                raw_ids,
                BulkMode::AllOrNothing,
                reason,
                scope,
                false,
            )
            .await?;
        if r.terminated == distinct.len() as u64 {
            return Ok(Ok(r.terminated));
        }
        // Only a change between the check and the end gets here: name the item that failed
        // (the others are `NotAttempted`).
        let failed = r
            .items
            .iter()
            .find(|i| !i.outcome.is_ok() && i.outcome != ItemOutcome::NotAttempted);
        Ok(Err(match failed {
            Some(i) if i.outcome == ItemOutcome::NotFound => KillRefusal::NotFound(i.id.clone()),
            Some(i) => KillRefusal::Inactive(i.id.clone()),
            None => KillRefusal::Inactive(raw_ids.first().cloned().unwrap_or_default()),
        }))
    }
}
