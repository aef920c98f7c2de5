//! Events from the registry's side: the event each change reports (built here, written by
//! the store in the change's own atomic step), and what a subscriber may read of them.

use super::{Caller, Registry};
use crate::domain::{Principal, Privilege, Session};
use crate::error::CoreResult;
use crate::events::{
    principal_event, session_event, EventDraft, EventFilter, EventId, EventType, StoredEvent,
};
use crate::store::EndInfo;

/// What a subscriber asks for; [`Registry::event_filter`] checks it against the caller.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventsRequest {
    /// Empty: every type.
    pub types: Vec<EventType>,
    pub service: Option<String>,
    /// A tenant's name, or `*`; without it the caller's own tenant.
    pub tenant: Option<String>,
}

impl Registry {
    /// The `session.created` event of a session about to be inserted.
    pub(super) async fn created_event(&self, s: &Session) -> CoreResult<EventDraft> {
        let tenant = self.tenant_name(s.tenant_id).await?;
        Ok(session_event(
            EventType::SessionCreated,
            s.opened_at,
            &tenant,
            s,
        ))
    }

    /// One event per target of an end, showing the session as it reads after the end
    /// (the last activity includes touches not flushed yet, as `GET` shows it).
    pub(super) async fn end_events(
        &self,
        targets: &[Session],
        end: &EndInfo,
    ) -> CoreResult<Vec<EventDraft>> {
        let Some(kind) = EventType::for_end(end.state) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(targets.len());
        for s in targets {
            let mut after = s.clone();
            after.last_active_at = self.last_activity(s);
            after.state = end.state;
            after.ended_at = Some(end.at);
            after.ended_by = Some(end.by.clone());
            after.end_reason = end.reason.clone();
            let tenant = self.tenant_name(s.tenant_id).await?;
            out.push(session_event(kind, end.at, &tenant, &after));
        }
        Ok(out)
    }

    /// The `principal.disabled` event of `p` (as it is after the change).
    pub(super) async fn disabled_event(&self, p: &Principal) -> CoreResult<EventDraft> {
        let tenant = self.tenant_name(p.tenant_id).await?;
        Ok(principal_event(self.clock.now(), &tenant, p))
    }

    /// The filter of a subscriber: it needs Sessions.Read, and sees its own tenant, or the
    /// one it names (a tenant it cannot see is not found), or all (`*`, a global admin).
    pub async fn event_filter(
        &self,
        caller: &Caller,
        req: &EventsRequest,
    ) -> CoreResult<EventFilter> {
        caller.require(Privilege::SessionsRead)?;
        Ok(EventFilter {
            tenant: self.tenant_scope_for(caller, req.tenant.as_deref()).await?,
            types: req.types.clone(),
            service: req.service.clone(),
        })
    }

    /// The events after `after` that `filter` admits, reading at most `limit`; and the id
    /// to continue from (the last one read, admitted or not).
    pub async fn events_page(
        &self,
        filter: &EventFilter,
        after: EventId,
        limit: usize,
    ) -> CoreResult<(Vec<StoredEvent>, EventId)> {
        let read = self.store.events_after(after, limit.max(1)).await?;
        let next = read.last().map_or(after, |e| e.id);
        Ok((
            read.into_iter()
                .filter(|e| filter.matches(&e.event))
                .collect(),
            next,
        ))
    }

    /// The newest event id (a new subscriber without a cursor starts after it).
    pub async fn last_event_id(&self) -> CoreResult<EventId> {
        Ok(self.store.last_event_id().await?)
    }

    /// Wakes when newer events may exist.
    pub fn event_signal(&self) -> tokio::sync::watch::Receiver<EventId> {
        self.store.event_signal()
    }
}
