//! Logins, token authentication and the caller context every other operation checks.

use super::EndScope;
use super::Registry;
use crate::domain::{
    Domain, Principal, Privilege, Role, Session, SessionId, SessionKind, SessionState, TenantId,
    User, DEFAULT_TENANT_ID,
};
use crate::error::{CoreError, CoreResult};
use crate::filter::TenantScope;
use crate::rules::timeouts;
use crate::store::{EndInfo, LoginFailures};
use crate::time::Timestamp;
use crate::{password, token};
use std::time::Duration;

/// Who is calling: the principal behind a login session's token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub principal: String,
    pub tenant_id: TenantId,
    pub role: Role,
    /// The login session the call came through; `None` for a signed request (access key).
    pub session_id: Option<SessionId>,
}

impl Caller {
    pub fn require(&self, p: Privilege) -> CoreResult<()> {
        if self.role.has(p) {
            Ok(())
        } else {
            Err(CoreError::Forbidden(p))
        }
    }
    /// Only an admin of the default tenant reaches across tenants (DESIGN.md §1).
    pub fn is_global(&self) -> bool {
        self.role == Role::Admin && self.tenant_id == DEFAULT_TENANT_ID
    }
    pub fn sees_tenant(&self, t: TenantId) -> bool {
        self.is_global() || self.tenant_id == t
    }
    /// The widest scope this caller may act on.
    pub fn scope(&self) -> TenantScope {
        if self.is_global() {
            TenantScope::All
        } else {
            TenantScope::One(self.tenant_id)
        }
    }
    /// Vendor dialects never cross tenants, whatever the role.
    pub fn own_tenant(&self) -> TenantScope {
        TenantScope::One(self.tenant_id)
    }
}

/// Details of a login the dialect knows about (service and where it came from).
#[derive(Clone, Debug, Default)]
pub struct LoginInfo {
    /// `sessiond` for native and Qumulo logins; `vsphere`, `commvault` for theirs.
    pub service: String,
    pub originator: Option<String>,
    pub user_agent: Option<String>,
    pub locale: Option<String>,
    /// The way in, for the audit trail: `native`, `console`, `qumulo`, `vsphere`,
    /// `commvault`, `dds` (empty: the service).
    pub via: &'static str,
}

impl LoginInfo {
    fn way_in(&self) -> String {
        if self.via.is_empty() {
            self.service.clone()
        } else {
            self.via.to_string()
        }
    }
}

/// Failed logins before the backoff doubles each time, capped at 2^8 s. The counters live in
/// the store, so every replica counts the same failures (guessing is as slow through N
/// replicas as through one).
/// Failures are forgotten an hour after the last one (Redis keys expire so; SQLite rows are
/// ignored, then purged by the sweeper): a spray of names does not grow the store for good,
/// and an hour of quiet starts a name or address afresh.
pub(crate) const LOGIN_FAILURE_MEMORY: Duration = Duration::from_secs(3600);

/// The throttle key of a client address.
fn address_key(addr: &str) -> String {
    format!("addr:{addr}")
}

/// A counter still remembered at `now`; an older one counts as none.
fn fresh(f: Option<LoginFailures>, now: Timestamp) -> Option<LoginFailures> {
    f.filter(|f| now.since(f.last) < LOGIN_FAILURE_MEMORY)
}

fn backoff_check(f: Option<LoginFailures>, now: Timestamp, free: u32) -> CoreResult<()> {
    if let Some(f) = f {
        if f.count >= free {
            let wait = Duration::from_secs(1u64 << (f.count - free).min(8));
            let until = f.last.plus(wait);
            if now < until {
                let secs = until.since(now).as_secs().max(1);
                return Err(CoreError::RateLimited {
                    retry_after_secs: secs,
                });
            }
        }
    }
    Ok(())
}

impl Registry {
    /// Checks a name and password; a login session is created and its token returned once.
    pub async fn login(
        &self,
        username: &str,
        password_text: &str,
        info: LoginInfo,
    ) -> CoreResult<(Session, token::Token)> {
        let checked = self
            .check_password(username, password_text, info.originator.as_deref())
            .await;
        let principal = match checked {
            Ok(p) => p,
            Err(e) => {
                let action = match e {
                    CoreError::InvalidCredentials => Some("login.failed"),
                    CoreError::RateLimited { .. } => Some("login.throttled"),
                    _ => None,
                };
                if let Some(action) = action {
                    self.audit_login(username, action, "", &info).await;
                }
                return Err(e);
            }
        };
        let (origin, via) = (info.originator.clone(), info.way_in());
        let mut session = self.new_session(super::creating::NewSession {
            kind: SessionKind::Login,
            owner: principal.name.clone(),
            tenant_id: principal.tenant_id,
            service: info.service,
            user: User {
                domain: Domain::Local,
                name: Some(principal.name.clone()),
                ..User::default()
            },
            idle_timeout: self.cfg.login_idle_timeout,
            absolute_timeout: self.cfg.login_absolute_timeout,
        })?;
        session.originator = info.originator;
        session.user_agent = info.user_agent;
        session.locale = info.locale;
        session.is_encrypted = true;
        let done = self.insert_new(session).await?;
        let rec = crate::domain::AuditRecord {
            at: self.clock.now(),
            actor: principal.name.clone(),
            tenant_id: principal.tenant_id,
            action: "login".into(),
            target: done.0.id.to_string(),
            origin,
            detail: Some(format!("via {via}")),
        };
        self.append_audit_record(rec).await;
        Ok(done)
    }

    /// A refused login in the audit trail: who it claimed to be (a name a principal could
    /// have; anything else is not repeated), from where, through which way in. Its tenant is
    /// the named principal's, else the default one.
    async fn audit_login(&self, username: &str, action: &str, target: &str, info: &LoginInfo) {
        let (actor, tenant_id) = if crate::domain::valid_principal_name(username) {
            let tenant = match self.store.get_principal(username).await {
                Ok(Some(p)) => p.tenant_id,
                _ => crate::domain::DEFAULT_TENANT_ID,
            };
            (username.to_string(), tenant)
        } else {
            (
                "(not a principal name)".to_string(),
                crate::domain::DEFAULT_TENANT_ID,
            )
        };
        let rec = crate::domain::AuditRecord {
            at: self.clock.now(),
            actor,
            tenant_id,
            action: action.into(),
            target: target.into(),
            origin: info.originator.clone(),
            detail: Some(format!("via {}", info.way_in())),
        };
        self.append_audit_record(rec).await;
    }

    /// Verifies a password with backoff on repeated failures, throttling both the name and
    /// the client address it came from (every dialect's login passes it): failures count
    /// per name and per address, both in the store, so every replica sees them; either one
    /// over its bound answers 429. Unknown names cost the same argon2 work as known ones.
    pub async fn check_password(
        &self,
        username: &str,
        password_text: &str,
        from: Option<&str>,
    ) -> CoreResult<Principal> {
        let now = self.clock.now();
        // Only names a principal could have are counted by name: they never hold ':', so
        // a typed name cannot count against an address's key.
        let name_key = crate::domain::valid_principal_name(username).then_some(username);
        let addr_key = from.map(address_key);
        let failures = match name_key {
            Some(n) => fresh(self.store.login_failures(n).await?, now),
            None => None,
        };
        backoff_check(failures, now, self.cfg.login_failures_before_backoff)?;
        let addr_failures = self.address_failures(from).await?;
        let principal = self.store.get_principal(username).await?;
        let (hash, usable) = match &principal {
            Some(p) => (p.password_hash.clone(), !p.disabled),
            None => (password::dummy_hash().to_string(), false),
        };
        let pw = password_text.to_string();
        // argon2 takes tens of milliseconds: keep it off the async workers.
        let ok = tokio::task::spawn_blocking(move || password::verify(&pw, &hash))
            .await
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        match principal {
            Some(p) if ok && usable => {
                if failures.is_some() {
                    self.store.clear_login_failures(username).await?;
                }
                if let (Some(k), Some(_)) = (&addr_key, addr_failures) {
                    self.store.clear_login_failures(k).await?;
                }
                Ok(p)
            }
            _ => {
                // An unknown (but possible) name is counted too, so probing names costs the
                // same as guessing passwords; the address counts whatever the name.
                if let Some(n) = name_key {
                    self.count_failure(n, now).await?;
                }
                if let Some(k) = &addr_key {
                    self.count_failure(k, now).await?;
                }
                Err(CoreError::InvalidCredentials)
            }
        }
    }

    /// The failed credentials counted against a client address, once it may try again
    /// (else `RateLimited`): passwords (`check_password`) and signatures
    /// (`signature_failed`) count alike.
    pub async fn address_failures(&self, from: Option<&str>) -> CoreResult<Option<LoginFailures>> {
        let Some(a) = from else { return Ok(None) };
        let now = self.clock.now();
        let failures = fresh(self.store.login_failures(&address_key(a)).await?, now);
        backoff_check(failures, now, self.cfg.login_failures_per_address)?;
        Ok(failures)
    }

    /// Counts one failure for `key`, starting afresh when its last one is forgotten.
    async fn count_failure(&self, key: &str, now: Timestamp) -> CoreResult<()> {
        if let Some(f) = self.store.login_failures(key).await? {
            if fresh(Some(f), now).is_none() {
                self.store.clear_login_failures(key).await?;
            }
        }
        self.store.record_login_failure(key, now).await?;
        Ok(())
    }

    /// A signed request (DDS AK/SK) from `from` named an unknown key or did not verify: it
    /// counts against the address like a failed password, so guessing secret keys backs off
    /// too.
    pub async fn signature_failed(&self, from: Option<&str>, access_key: &str) -> CoreResult<()> {
        if let Some(a) = from {
            self.count_failure(&address_key(a), self.clock.now())
                .await?;
        }
        let info = LoginInfo {
            service: "dds".into(),
            originator: from.map(str::to_string),
            via: "dds",
            ..LoginInfo::default()
        };
        // The access key's id only (never a secret); bounded, it came from the request.
        let key: String = access_key.chars().take(64).collect();
        self.audit_login("", "signature.failed", &key, &info).await;
        Ok(())
    }

    /// Resolves a presented API token to its caller. Only live, unexpired `login` sessions of
    /// enabled principals authenticate; everything else is `Unauthenticated`.
    pub async fn authenticate(&self, presented: &str) -> CoreResult<Caller> {
        let (session, principal) = self.authenticate_session(presented).await?;
        Ok(Caller {
            principal: principal.name,
            tenant_id: principal.tenant_id,
            role: principal.role,
            session_id: Some(session.id),
        })
    }

    /// Like [`authenticate`](Self::authenticate), also returning the login session.
    pub async fn authenticate_session(&self, presented: &str) -> CoreResult<(Session, Principal)> {
        let (id, hash) = token::parse(presented).ok_or(CoreError::Unauthenticated)?;
        // A cached login session may only say yes: whatever it would refuse is asked of the
        // store again (another replica may have touched it, or ended it an instant ago).
        if let Some((session, stored)) = self.caches.login(&id) {
            if let Ok(found) = self.check_login(session, &stored, &hash).await {
                return Ok(found);
            }
        }
        let (session, stored) = self
            .store
            .get_session_auth(&id)
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        let found = self.check_login(session, &stored, &hash).await?;
        self.caches.put_login(&found.0, &stored);
        Ok(found)
    }

    /// The rules of an API login: the verifier matches, a live unexpired login session, an
    /// enabled principal of the session's tenant. Records the call as activity.
    async fn check_login(
        &self,
        session: Session,
        stored: &crate::store::TokenHash,
        hash: &crate::store::TokenHash,
    ) -> CoreResult<(Session, Principal)> {
        if !token::hashes_equal(hash, stored)
            || session.kind != SessionKind::Login
            || session.state != SessionState::Active
        {
            return Err(CoreError::Unauthenticated);
        }
        let now = self.clock.now();
        let last = self.last_activity(&session);
        if timeouts::expired_at(&session, last, now).is_some() {
            return Err(CoreError::Unauthenticated);
        }
        let principal = self
            .principal_cached(&session.owner)
            .await?
            .filter(|p| !p.disabled && p.tenant_id == session.tenant_id)
            .ok_or(CoreError::Unauthenticated)?;
        let deadline = timeouts::deadline_with(&session, now).map(|(t, _)| t);
        self.touches.record(&session.id, now, 1, deadline);
        Ok((session, principal))
    }

    /// Ends the caller's own login session (state `closed`).
    pub async fn logout(&self, caller: &Caller) -> CoreResult<()> {
        let Some(own) = &caller.session_id else {
            return Err(CoreError::invalid(
                "session",
                "a signed request has no login session to end",
            ));
        };
        let end = EndInfo {
            state: SessionState::Closed,
            at: self.clock.now(),
            by: caller.principal.clone(),
            reason: Some("logout".into()),
        };
        let scope = EndScope::tenant(TenantScope::One(caller.tenant_id));
        self.end_ids(std::slice::from_ref(own), &scope, &end, false, None)
            .await?;
        Ok(())
    }

    async fn principal_cached(&self, name: &str) -> CoreResult<Option<Principal>> {
        if let Some(p) = self.caches.principal(name) {
            return Ok(Some(p));
        }
        let p = self.store.get_principal(name).await?;
        if let Some(p) = &p {
            self.caches.put_principal(p);
        }
        Ok(p)
    }

    /// The last activity including touches not flushed yet.
    pub(super) fn last_activity(&self, s: &Session) -> Timestamp {
        match self.touches.pending(&s.id) {
            Some((t, _)) if t > s.last_active_at => t,
            _ => s.last_active_at,
        }
    }
}
