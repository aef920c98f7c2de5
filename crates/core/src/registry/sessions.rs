//! Registering, validating, updating, closing, reading and listing sessions.

use super::{Caller, Registry};
use crate::domain::{
    valid_service, Privilege, Role, Session, SessionId, SessionKind, SessionState,
};
use crate::error::{CoreError, CoreResult};
use crate::filter::{ListQuery, Page};
use crate::rules::timeouts;
use crate::store::{EndInfo, EndOutcome, StoreError};
use crate::token;
use crate::wire::{FilterParams, RegisterRequest, SessionPatch};
use std::collections::BTreeMap;

/// A list request in core's terms: the API has parsed the page size and the cursor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListRequest {
    pub filter: FilterParams,
    /// Page size; `None` = the default page. Out of range is an invalid-field error.
    pub limit: Option<usize>,
    /// Continue after this id (the previous page's `next`).
    pub after: Option<SessionId>,
}

const MAX_SHARES: usize = 256;
const MAX_ATTRIBUTES: usize = 64;
const MAX_TEXT: usize = 1024;

fn check_text(field: &'static str, v: &Option<String>) -> CoreResult<()> {
    match v {
        Some(s) if s.len() > MAX_TEXT || s.chars().any(char::is_control) => Err(
            CoreError::invalid(field, "at most 1024 characters, no control characters"),
        ),
        _ => Ok(()),
    }
}

fn check_shares(v: &[String]) -> CoreResult<()> {
    if v.len() > MAX_SHARES || v.iter().any(|s| s.is_empty() || s.len() > MAX_TEXT) {
        return Err(CoreError::invalid(
            "share_names",
            "at most 256 names of 1 to 1024 characters",
        ));
    }
    Ok(())
}

fn check_attributes(v: &BTreeMap<String, String>) -> CoreResult<()> {
    if v.len() > MAX_ATTRIBUTES
        || v.iter()
            .any(|(k, x)| k.is_empty() || k.len() > 128 || x.len() > MAX_TEXT)
    {
        return Err(CoreError::invalid(
            "attributes",
            "at most 64 entries, keys 1 to 128 characters, values up to 1024",
        ));
    }
    Ok(())
}

impl Registry {
    /// Registers a user session for a service; its token is returned once.
    pub async fn register(
        &self,
        caller: &Caller,
        req: RegisterRequest,
    ) -> CoreResult<(Session, token::Token)> {
        caller.require(Privilege::SessionsRegister)?;
        if !valid_service(&req.service) {
            return Err(CoreError::invalid("service", "must match [a-z0-9_-]{1,32}"));
        }
        for (field, v) in [
            ("node_id", &req.node_id),
            ("external_id", &req.external_id),
            ("originator", &req.originator),
            ("server_address", &req.server_address),
            ("user_agent", &req.user_agent),
            ("locale", &req.locale),
        ] {
            check_text(field, v)?;
        }
        check_shares(&req.share_names)?;
        check_attributes(&req.attributes)?;
        let tenant = self.resolve_tenant(caller, req.tenant.as_deref()).await?;
        let mut s = self.new_session(super::creating::NewSession {
            kind: SessionKind::Registered,
            owner: caller.principal.clone(),
            tenant_id: tenant.id,
            service: req.service,
            user: req.user,
            idle_timeout: req
                .idle_timeout
                .map_or(self.cfg.default_idle_timeout, |d| d.0),
            absolute_timeout: req
                .absolute_timeout
                .map_or(self.cfg.default_absolute_timeout, |d| d.0),
        })?;
        s.external_id = req.external_id;
        s.node_id = req.node_id;
        s.server_address = req.server_address;
        s.originator = req.originator;
        s.user_agent = req.user_agent;
        s.locale = req.locale;
        s.is_guest = req.is_guest;
        s.is_encrypted = req.is_encrypted;
        s.share_names = req.share_names;
        s.num_opens = req.num_opens;
        s.activity = req.activity;
        s.attributes = req.attributes;
        self.insert_new(s).await
    }

    /// The hot path: token → live session, touched. Unknown, malformed, ended, expired and
    /// other-tenant tokens are all the same `session_not_found`.
    pub async fn validate(&self, caller: &Caller, presented: &str) -> CoreResult<Session> {
        caller.require(Privilege::SessionsRegister)?;
        let (id, hash) = token::parse(presented).ok_or(CoreError::NotFound("session"))?;
        let (mut s, stored) = self
            .store
            .get_session_auth(&id)
            .await?
            .ok_or(CoreError::NotFound("session"))?;
        if !token::hashes_equal(&hash, &stored)
            || s.kind != SessionKind::Registered
            || s.state != SessionState::Active
            || !caller.sees_tenant(s.tenant_id)
        {
            return Err(CoreError::NotFound("session"));
        }
        let now = self.clock.now();
        if timeouts::expired_at(&s, self.last_activity(&s), now).is_some() {
            return Err(CoreError::NotFound("session"));
        }
        let deadline = timeouts::deadline_with(&s, now).map(|(t, _)| t);
        self.touches.record(&s.id, now, 0, deadline);
        s.last_active_at = now;
        Ok(s)
    }

    /// A session the caller may modify as a registering service: live, in scope, and for a
    /// `service` principal one it owns.
    async fn own_live(&self, caller: &Caller, id: &SessionId) -> CoreResult<Session> {
        caller.require(Privilege::SessionsRegister)?;
        let s = self.visible(caller, id).await?;
        if caller.role == Role::Service && s.owner != caller.principal {
            return Err(CoreError::NotFound("session"));
        }
        if s.state != SessionState::Active {
            return Err(CoreError::SessionEnded(s.state.as_str()));
        }
        Ok(s)
    }

    /// Reads a session the caller's tenant scope covers; anything else is not found.
    async fn visible(&self, caller: &Caller, id: &SessionId) -> CoreResult<Session> {
        match self.store.get_session(id).await? {
            Some(s) if caller.sees_tenant(s.tenant_id) => Ok(s),
            _ => Err(CoreError::NotFound("session")),
        }
    }

    /// `PATCH`: changes fields without counting as activity; `touch` also marks activity.
    pub async fn update(
        &self,
        caller: &Caller,
        id: &SessionId,
        patch: SessionPatch,
        is_touch: bool,
    ) -> CoreResult<Session> {
        let mut s = self.own_live(caller, id).await?;
        let now = self.clock.now();
        let last = self.last_activity(&s);
        if timeouts::expired_at(&s, last, now).is_some() {
            return Err(CoreError::SessionEnded("expired"));
        }
        check_text("user_agent", &patch.user_agent)?;
        check_text("locale", &patch.locale)?;
        if let Some(a) = patch.activity {
            s.activity = a;
        }
        if let Some(n) = patch.num_opens {
            s.num_opens = n;
        }
        if let Some(v) = patch.share_names {
            check_shares(&v)?;
            s.share_names = v;
        }
        if let Some(v) = patch.attributes {
            check_attributes(&v)?;
            s.attributes = v;
        }
        if patch.user_agent.is_some() {
            s.user_agent = patch.user_agent;
        }
        if patch.locale.is_some() {
            s.locale = patch.locale;
        }
        if let Some(d) = patch.idle_timeout {
            s.idle_timeout = d;
        }
        if let Some(d) = patch.absolute_timeout {
            s.absolute_timeout = d;
        }
        s.last_active_at = if is_touch { now } else { last };
        let deadline = timeouts::deadline(&s).map(|(t, _)| t);
        match self.store.update_live(&s, deadline).await {
            Ok(()) => {}
            Err(StoreError::NotFound) => return Err(CoreError::NotFound("session")),
            Err(StoreError::Conflict(_)) => return Err(CoreError::SessionEnded("ended")),
            Err(e) => return Err(e.into()),
        }
        if is_touch {
            self.touches.record(&s.id, now, 0, deadline);
        }
        Ok(s)
    }

    /// The owner ends its session (state `closed`).
    pub async fn close(&self, caller: &Caller, id: &SessionId) -> CoreResult<Session> {
        let s = self.own_live(caller, id).await?;
        let end = EndInfo {
            state: SessionState::Closed,
            at: self.clock.now(),
            by: caller.principal.clone(),
            reason: Some("closed by owner".into()),
        };
        let report = self
            .end_admitted(std::slice::from_ref(&s), &end, false)
            .await?;
        match report.outcomes.first() {
            Some(EndOutcome::Ended) => self.visible(caller, id).await,
            Some(EndOutcome::AlreadyEnded(st)) => Err(CoreError::SessionEnded(st.as_str())),
            _ => Err(CoreError::NotFound("session")),
        }
    }

    /// One session, live or tombstone.
    pub async fn get(&self, caller: &Caller, id: &SessionId) -> CoreResult<Session> {
        caller.require(Privilege::SessionsRead)?;
        let mut s = self.visible(caller, id).await?;
        s.last_active_at = self.last_activity(&s);
        Ok(s)
    }

    /// One session, live or tombstone, as a vendor dialect sees it: outside `scope` (another
    /// tenant, another service…) it does not exist, whatever the caller's role.
    pub async fn get_scoped(
        &self,
        caller: &Caller,
        id: &SessionId,
        scope: &super::EndScope,
    ) -> CoreResult<Session> {
        let s = self.get(caller, id).await?;
        if scope.admits(&s) {
            Ok(s)
        } else {
            Err(CoreError::NotFound("session"))
        }
    }

    /// A keyset page of sessions matching the filters.
    pub async fn list(&self, caller: &Caller, p: &ListRequest) -> CoreResult<Page> {
        caller.require(Privilege::SessionsRead)?;
        let filter = self.filter_for(caller, &p.filter).await?;
        let limit = match p.limit {
            None => self.cfg.default_page,
            Some(n) if (1..=self.cfg.max_page).contains(&n) => n,
            Some(_) => {
                return Err(CoreError::invalid(
                    "limit",
                    format!("must be 1 to {}", self.cfg.max_page),
                ))
            }
        };
        let mut page = self
            .store
            .list_sessions(&ListQuery {
                filter,
                after: p.after.clone(),
                limit,
            })
            .await?;
        for s in &mut page.items {
            s.last_active_at = self.last_activity(s);
        }
        Ok(page)
    }

    /// Offset paging for dialects that page that way (DDS): the total count of matches and
    /// the `limit` sessions after skipping `offset`, in id order. The walk follows keyset
    /// pages (and their `next`, as pages may be short), so memory stays bounded by `limit`;
    /// the cost grows with `offset`, which such APIs keep small.
    pub async fn list_offset(
        &self,
        caller: &Caller,
        p: &FilterParams,
        offset: usize,
        limit: usize,
    ) -> CoreResult<(u64, Vec<Session>)> {
        caller.require(Privilege::SessionsRead)?;
        let filter = self.filter_for(caller, p).await?;
        let total = self.store.count_sessions(&filter).await?;
        let mut skip = offset;
        let mut out = Vec::with_capacity(limit.min(self.cfg.max_page));
        let mut after = None;
        while out.len() < limit {
            let want = (skip + limit - out.len()).clamp(1, self.cfg.max_page);
            let page = self
                .store
                .list_sessions(&ListQuery {
                    filter: filter.clone(),
                    after,
                    limit: want,
                })
                .await?;
            for mut s in page.items {
                if skip > 0 {
                    skip -= 1;
                } else if out.len() < limit {
                    s.last_active_at = self.last_activity(&s);
                    out.push(s);
                }
            }
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        Ok((total, out))
    }

    /// Whether a session is live right now: active and not past its deadline, counting
    /// activity not yet flushed, even if the sweeper has not ended it yet. Listings that
    /// must show live sessions only (vSphere, Commvault) filter with this.
    pub fn is_live_now(&self, s: &Session) -> bool {
        s.state == SessionState::Active
            && timeouts::expired_at(s, self.last_activity(s), self.clock.now()).is_none()
    }

    /// Every live session of `service` in the caller's own tenant (vendor lists that have no
    /// paging, such as vSphere's sessionList and Commvault's GET Sessions), dropping sessions
    /// already past their deadline.
    pub async fn all_live_of_service(
        &self,
        caller: &Caller,
        service: &str,
    ) -> CoreResult<Vec<Session>> {
        let filter = FilterParams {
            service: Some(service.to_string()),
            ..Default::default()
        };
        let mut out = self.all_matching(caller, filter).await?;
        out.retain(|s| self.is_live_now(s));
        Ok(out)
    }

    /// Every session `filter` matches in the caller's scope, in id order: the list walked page
    /// by page, following `next` (pages may be short).
    pub async fn all_matching(
        &self,
        caller: &Caller,
        filter: FilterParams,
    ) -> CoreResult<Vec<Session>> {
        let mut params = ListRequest {
            filter,
            limit: Some(self.cfg.max_page),
            after: None,
        };
        let mut out = Vec::new();
        loop {
            let page = self.list(caller, &params).await?;
            out.extend(page.items);
            match page.next {
                Some(next) => params.after = Some(next),
                None => return Ok(out),
            }
        }
    }
}
