//! Tenants and principals: creation, listing, updates, and the bootstrap admin.

use super::EndScope;
use super::{Caller, Registry};
use crate::domain::{
    valid_principal_name, valid_tenant_name, Principal, Privilege, Role, SessionKind, SessionState,
    Tenant, DEFAULT_TENANT_ID,
};
use crate::error::{CoreError, CoreResult};
use crate::filter::{ListQuery, SessionFilter, TenantScope};
use crate::password;
use crate::store::{EndInfo, Invalidation, StoreError};
use crate::wire::{CreatePrincipal, PrincipalView, UpdatePrincipal};

const MIN_PASSWORD: usize = 8;
const MAX_PASSWORD: usize = 1024;

fn check_password(p: &str) -> CoreResult<()> {
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&p.chars().count()) {
        return Err(CoreError::invalid(
            "password",
            "must be 8 to 1024 characters",
        ));
    }
    Ok(())
}

async fn hash_blocking(p: String) -> CoreResult<String> {
    tokio::task::spawn_blocking(move || password::hash(&p))
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))?
        .map_err(|e| CoreError::Internal(e.to_string()))
}

impl Registry {
    /// Creates the bootstrap admin when the store has no principal yet. Returns the password
    /// when one was generated (the caller prints it once).
    pub async fn bootstrap(&self, admin_password: Option<String>) -> CoreResult<Option<String>> {
        if self.store.count_principals().await? > 0 {
            return Ok(None);
        }
        let (pw, generated) = match admin_password {
            Some(p) if !p.is_empty() => (p, false),
            _ => (
                password::generate().map_err(|e| CoreError::Internal(e.to_string()))?,
                true,
            ),
        };
        let p = Principal {
            name: "admin".into(),
            tenant_id: DEFAULT_TENANT_ID,
            role: Role::Admin,
            password_hash: hash_blocking(pw.clone()).await?,
            disabled: false,
            created_at: self.clock.now(),
        };
        match self.store.create_principal(&p).await {
            Ok(()) => Ok(generated.then_some(pw)),
            // Another replica bootstrapped first.
            Err(StoreError::Conflict(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn create_tenant(&self, caller: &Caller, name: &str) -> CoreResult<Tenant> {
        caller.require(Privilege::SystemAdmin)?;
        if !caller.is_global() {
            return Err(CoreError::Forbidden(Privilege::SystemAdmin));
        }
        if !valid_tenant_name(name) {
            return Err(CoreError::invalid(
                "name",
                "must match [a-z0-9][a-z0-9_-]{0,63}",
            ));
        }
        let t = match self.store.create_tenant(name).await {
            Ok(t) => t,
            Err(StoreError::Conflict(_)) => {
                return Err(CoreError::Conflict(format!("tenant {name} already exists")))
            }
            Err(e) => return Err(e.into()),
        };
        self.audit(caller, "tenant.create", name, None).await;
        Ok(t)
    }

    pub async fn list_tenants(&self, caller: &Caller) -> CoreResult<Vec<Tenant>> {
        caller.require(Privilege::SystemAdmin)?;
        let all = self.store.list_tenants().await?;
        Ok(all
            .into_iter()
            .filter(|t| caller.sees_tenant(t.id))
            .collect())
    }

    async fn view(&self, p: &Principal) -> CoreResult<PrincipalView> {
        Ok(PrincipalView {
            name: p.name.clone(),
            role: p.role,
            tenant: self.tenant_name(p.tenant_id).await?,
            disabled: p.disabled,
        })
    }

    pub async fn create_principal(
        &self,
        caller: &Caller,
        req: CreatePrincipal,
    ) -> CoreResult<PrincipalView> {
        caller.require(Privilege::SystemAdmin)?;
        if !valid_principal_name(&req.name) {
            return Err(CoreError::invalid(
                "name",
                "1 to 64 characters of A-Z a-z 0-9 . _ @ -",
            ));
        }
        check_password(&req.password)?;
        let tenant = self.resolve_tenant(caller, req.tenant.as_deref()).await?;
        let p = Principal {
            name: req.name.clone(),
            tenant_id: tenant.id,
            role: req.role,
            password_hash: hash_blocking(req.password).await?,
            disabled: false,
            created_at: self.clock.now(),
        };
        match self.store.create_principal(&p).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(CoreError::Conflict(format!(
                    "principal {} already exists",
                    req.name
                )))
            }
            Err(e) => return Err(e.into()),
        }
        self.audit(caller, "principal.create", &p.name, None).await;
        self.view(&p).await
    }

    pub(super) async fn visible_principal(
        &self,
        caller: &Caller,
        name: &str,
    ) -> CoreResult<Principal> {
        caller.require(Privilege::SystemAdmin)?;
        match self.store.get_principal(name).await? {
            Some(p) if caller.sees_tenant(p.tenant_id) => Ok(p),
            _ => Err(CoreError::NotFound("principal")),
        }
    }

    pub async fn get_principal(&self, caller: &Caller, name: &str) -> CoreResult<PrincipalView> {
        let p = self.visible_principal(caller, name).await?;
        self.view(&p).await
    }

    pub async fn list_principals(&self, caller: &Caller) -> CoreResult<Vec<PrincipalView>> {
        caller.require(Privilege::SystemAdmin)?;
        let mut out = Vec::new();
        for p in self.store.list_principals(&caller.scope()).await? {
            out.push(self.view(&p).await?);
        }
        Ok(out)
    }

    /// Changes a principal. Disabling one ends all its login sessions at once.
    pub async fn update_principal(
        &self,
        caller: &Caller,
        name: &str,
        req: UpdatePrincipal,
    ) -> CoreResult<PrincipalView> {
        let mut p = self.visible_principal(caller, name).await?;
        if let Some(pw) = req.password {
            check_password(&pw)?;
            p.password_hash = hash_blocking(pw).await?;
        }
        if let Some(r) = req.role {
            p.role = r;
        }
        let disabling = req.disabled == Some(true) && !p.disabled;
        if let Some(d) = req.disabled {
            p.disabled = d;
        }
        let event = match disabling {
            true => Some(self.disabled_event(&p).await?),
            false => None,
        };
        self.store.update_principal(&p, event.as_ref()).await?;
        self.invalidate(vec![Invalidation::Principal(p.name.clone())])
            .await;
        if disabling {
            self.end_logins_of(
                &p.name,
                p.tenant_id,
                &caller.principal,
                "principal disabled",
            )
            .await?;
            // Disabling revokes the principal's access keys too (DESIGN.md §1).
            self.store.delete_access_keys_of(&p.name).await?;
        }
        self.audit(caller, "principal.update", &p.name, None).await;
        self.view(&p).await
    }

    /// Ends every live login session of a principal, in bounded chunks.
    pub async fn end_logins_of(
        &self,
        name: &str,
        tenant: u32,
        by: &str,
        why: &str,
    ) -> CoreResult<u64> {
        let filter = SessionFilter {
            tenant: Some(TenantScope::One(tenant)),
            kind: Some(SessionKind::Login),
            owner: Some(name.to_string()),
            ..SessionFilter::default()
        };
        let end = EndInfo {
            state: SessionState::Terminated,
            at: self.clock.now(),
            by: by.to_string(),
            reason: Some(why.to_string()),
        };
        let scope = EndScope::tenant(TenantScope::One(tenant));
        let mut total = 0;
        let mut after = None;
        // Follow `next`: a store may answer with short pages that still carry a cursor.
        loop {
            let page = self
                .store
                .list_sessions(&ListQuery {
                    filter: filter.clone(),
                    after,
                    limit: self.cfg.end_chunk,
                })
                .await?;
            let targets: Vec<_> = page.items.into_iter().filter(|s| scope.admits(s)).collect();
            total += self
                .end_admitted(&targets, &end, false)
                .await?
                .ended_count();
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        Ok(total)
    }

    /// Offline password reset (`sessiond admin reset-password`): no caller, direct to store.
    pub async fn reset_password(&self, name: &str, new_password: &str) -> CoreResult<()> {
        check_password(new_password)?;
        let mut p = self
            .store
            .get_principal(name)
            .await?
            .ok_or(CoreError::NotFound("principal"))?;
        p.password_hash = hash_blocking(new_password.to_string()).await?;
        p.disabled = false;
        self.store.update_principal(&p, None).await?;
        self.invalidate(vec![Invalidation::Principal(p.name.clone())])
            .await;
        Ok(())
    }
}
