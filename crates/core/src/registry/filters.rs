//! Turns the native API's filter parameters into a store filter: parses and validates each
//! value, resolves the tenant, and converts durations into instants against the clock.

use super::{Caller, Registry};
use crate::domain::{valid_service, SessionKind};
use crate::error::{CoreError, CoreResult};
use crate::filter::{OriginatorFilter, SessionFilter, StateFilter, TenantScope};
use crate::identity::parse_identity;
use crate::time::{HumanDuration, Timestamp};
use crate::wire::FilterParams;

fn duration(field: &'static str, v: &str) -> CoreResult<HumanDuration> {
    HumanDuration::parse(v).map_err(|e| CoreError::invalid(field, format!("{v:?}: {e}")))
}

fn nonempty(field: &'static str, v: &str) -> CoreResult<String> {
    if v.is_empty() || v.len() > 1024 {
        Err(CoreError::invalid(field, "must be 1 to 1024 characters"))
    } else {
        Ok(v.to_string())
    }
}

/// Builds the store filter for `p` as seen by `caller`, relative to `now`. The tenant is
/// resolved separately (it needs the store): see [`Registry::filter_for`].
pub fn build_filter(p: &FilterParams, now: Timestamp) -> CoreResult<SessionFilter> {
    let mut f = SessionFilter::default();
    if let Some(s) = &p.service {
        if !valid_service(s) {
            return Err(CoreError::invalid("service", "must match [a-z0-9_-]{1,32}"));
        }
        f.service = Some(s.clone());
    }
    f.node_id = p
        .node_id
        .as_deref()
        .map(|v| nonempty("node_id", v))
        .transpose()?;
    if let Some(id) = &p.identity {
        f.identity =
            Some(parse_identity(id).map_err(|e| CoreError::BadRequest(format!("identity: {e}")))?);
    }
    if let Some(o) = &p.originator {
        f.originator = Some(OriginatorFilter::parse(o).ok_or_else(|| {
            CoreError::invalid(
                "originator",
                format!("{o:?} is not an IP address, CIDR or host"),
            )
        })?);
    }
    f.share = p
        .share
        .as_deref()
        .map(|v| nonempty("share", v))
        .transpose()?;
    if let Some(s) = &p.state {
        f.state = StateFilter::parse(s)
            .ok_or_else(|| CoreError::invalid("state", "must be active, ended or all"))?;
    }
    if let Some(d) = &p.idle_gt {
        f.last_active_before = Some(now.minus(duration("idle_gt", d)?.0));
    }
    if let Some(d) = &p.idle_lt {
        f.last_active_after = Some(now.minus(duration("idle_lt", d)?.0));
    }
    if let Some(d) = &p.age_gt {
        f.opened_before = Some(now.minus(duration("age_gt", d)?.0));
    }
    if let Some(g) = &p.is_guest {
        f.is_guest = Some(match g.as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(CoreError::invalid("is_guest", "must be true or false")),
        });
    }
    f.external_id = p
        .external_id
        .as_deref()
        .map(|v| nonempty("external_id", v))
        .transpose()?;
    if let Some(k) = &p.kind {
        f.kind = Some(
            SessionKind::parse(k)
                .ok_or_else(|| CoreError::invalid("kind", "must be login or registered"))?,
        );
    }
    if let Some(a) = &p.op_active {
        f.has_activity = Some(match a.as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(CoreError::invalid("op_active", "must be true or false")),
        });
    }
    f.activity_type = p
        .op_type
        .as_deref()
        .map(|v| nonempty("op_type", v))
        .transpose()?;
    f.activity_namespace = p
        .op_namespace
        .as_deref()
        .map(|v| nonempty("op_namespace", v))
        .transpose()?;
    f.activity_plan_summary = p
        .op_plan_summary
        .as_deref()
        .map(|v| nonempty("op_plan_summary", v))
        .transpose()?;
    if let Some(d) = &p.op_running_gt {
        f.activity_started_before = Some(now.minus(duration("op_running_gt", d)?.0));
    }
    Ok(f)
}

/// A stable text form of a filter request, for the confirm MAC: the same parameters give
/// the same text whatever order or encoding they arrived in.
pub fn canonical_filter(p: &FilterParams) -> String {
    // serde_json writes struct fields in declaration order, which is fixed.
    serde_json::to_string(p).unwrap_or_default()
}

impl Registry {
    /// The filter for a caller: parameters plus tenant scope. Without `tenant` a list shows
    /// the caller's own tenant; `*` means all tenants and only a global admin may ask.
    pub async fn filter_for(&self, caller: &Caller, p: &FilterParams) -> CoreResult<SessionFilter> {
        let mut f = build_filter(p, self.clock.now())?;
        f.tenant = Some(self.tenant_scope_for(caller, p.tenant.as_deref()).await?);
        Ok(f)
    }

    /// The tenants a `tenant=` parameter names for a caller: its own without one, every
    /// tenant for `*` (a global admin only), else the named one if the caller sees it.
    pub(crate) async fn tenant_scope_for(
        &self,
        caller: &Caller,
        tenant: Option<&str>,
    ) -> CoreResult<TenantScope> {
        Ok(match tenant {
            None => TenantScope::One(caller.tenant_id),
            Some("*") if caller.is_global() => TenantScope::All,
            Some("*") => return Err(CoreError::NotFound("tenant")),
            Some(name) => TenantScope::One(self.resolve_tenant(caller, Some(name)).await?.id),
        })
    }
}
