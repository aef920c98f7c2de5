//! Killing the running operations of explicit sessions on one node, all or nothing: MongoDB's
//! `killOp` as DDS exposes it, where an idle connection has no operation to kill.

use super::{Caller, EndScope, Registry};
use crate::domain::{Privilege, SessionId, SessionState};
use crate::error::{CoreError, CoreResult};
use crate::store::EndOutcome;
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
    /// All ids are checked before anything is ended, and the checked sessions are ended in
    /// one all-or-nothing step through the funnel. A session that goes idle between the
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
        // named, and ended once.
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
        let end = self.end_info(caller, reason)?;
        let mut targets = Vec::with_capacity(distinct.len());
        for (raw, s) in first_raw
            .iter()
            .zip(self.store.get_sessions(&distinct).await?)
        {
            match s {
                Some(s) if scope.admits(&s) && s.node_id.as_deref() == Some(node_id) => {
                    if s.state != SessionState::Active || s.activity.is_none() {
                        return Ok(Err(KillRefusal::Inactive((*raw).clone())));
                    }
                    targets.push(s);
                }
                _ => return Ok(Err(KillRefusal::NotFound((*raw).clone()))),
            }
        }
        // Every session was read and checked above: end exactly those, all or none.
        let r = self.end_admitted(&targets, &end, true).await?;
        let ended = r.ended_count();
        if ended > 0 {
            self.audit(
                caller,
                "sessions.terminate",
                &format!("{ended} of {} ids", raw_ids.len()),
                end.reason.clone(),
            )
            .await;
        }
        if ended == targets.len() as u64 {
            return Ok(Ok(ended));
        }
        // Only a change between the check and the end gets here: name the first item that
        // was no longer active.
        let failed = first_raw
            .iter()
            .zip(&r.outcomes)
            .find(|(_, o)| **o != EndOutcome::Ended);
        Ok(Err(match failed {
            Some((raw, EndOutcome::NotFound)) => KillRefusal::NotFound((*raw).clone()),
            Some((raw, _)) => KillRefusal::Inactive((*raw).clone()),
            None => KillRefusal::Inactive(raw_ids.first().cloned().unwrap_or_default()),
        }))
    }
}
