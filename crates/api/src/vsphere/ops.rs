//! The SessionManager operations with no encoding: the one `Registry` call (and the one
//! outcome mapping) behind each method, shared by the VI/JSON handlers (`session_manager.rs`)
//! and the SOAP ones (`soap/methods.rs`, `soap/fetch.rs`), so that both encodings answer the
//! same request with the same end states and the same fault.

use super::dto::{user_name, valid_locale};
use super::error::{Fault, VimResult};
use super::SERVICE;
use crate::client_addr::Origin;
use crate::AppState;
use sessiond_core::identity::fold;
use sessiond_core::registry::{EndScope, ItemOutcome};
use sessiond_core::rules::bulk::BulkMode;
use sessiond_core::token::Token;
use sessiond_core::{Caller, CoreError, LoginInfo, Privilege, Session, SessionId};

/// Login as a session of service `vsphere`; an empty locale is no locale.
pub async fn login(
    st: &AppState,
    user: &str,
    password: &str,
    locale: Option<String>,
    origin: Origin,
) -> VimResult<(Session, Token)> {
    let locale = locale.filter(|l| !l.is_empty());
    if locale.as_deref().is_some_and(|l| !valid_locale(l)) {
        return Err(Fault::InvalidLocale);
    }
    let info = LoginInfo {
        service: SERVICE.to_string(),
        originator: origin.ip,
        user_agent: origin.user_agent,
        locale,
        via: "vsphere",
    };
    let (session, token) = st.registry.login(user, password, info).await?;
    tracing::info!(principal = %session.owner, session = %session.id, "vsphere login");
    Ok((session, token))
}

/// The caller's own session becomes `closed`.
pub async fn logout(st: &AppState, caller: &Caller) -> VimResult<()> {
    Ok(st.registry.logout(caller).await?)
}

/// Every live `vsphere` session of the caller's own tenant (Sessions.TerminateSession, as in
/// vSphere), whatever the caller's role: vendor dialects never cross tenants.
pub async fn session_list(st: &AppState, caller: &Caller) -> VimResult<Vec<Session>> {
    caller.require(Privilege::SessionsTerminate)?;
    Ok(st.registry.all_live_of_service(caller, SERVICE).await?)
}

/// Whether `id` is a live `vsphere` session of the caller's tenant whose user is `user` (as
/// UserSession shows it). vSphere requires Sessions.ValidateSession; sessiond's nearest
/// privilege is Sessions.Read (every role holds it). False for a malformed or unknown id, a
/// wrong userName, another tenant's or service's session, an ended or expired one.
pub async fn session_is_active(
    st: &AppState,
    caller: &Caller,
    id: &str,
    user: &str,
) -> VimResult<bool> {
    caller.require(Privilege::SessionsRead)?;
    let Some(id) = SessionId::parse(id) else {
        return Ok(false);
    };
    let scope = EndScope::service(caller.own_tenant(), SERVICE);
    let s = match st.registry.get_scoped(caller, &id, &scope).await {
        Ok(s) => s,
        Err(CoreError::NotFound(_)) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    Ok(st.registry.is_live_now(&s) && fold(&user_name(&s.user)) == fold(user))
}

/// Seed 002's TerminateSession: sequential in list order, the first failure aborts with a
/// fault, earlier ids stay terminated and later ones untouched (`StopOnError`, `refuse_own`).
pub async fn terminate(st: &AppState, caller: &Caller, ids: &[String]) -> VimResult<()> {
    let scope = EndScope::service(caller.own_tenant(), SERVICE);
    let done = st
        .registry
        .terminate_ids(caller, ids, BulkMode::StopOnError, None, &scope, true)
        .await
        .map_err(|e| match e {
            // Core names the list `ids`; here it is the `sessionId` argument.
            CoreError::Invalid { message, .. } => Fault::InvalidArgument {
                property: "sessionId",
                message,
            },
            e => e.into(),
        })?;
    match done.first_failure() {
        None => Ok(()),
        Some(r) if r.outcome == ItemOutcome::OwnSession => Err(Fault::InvalidArgument {
            property: "sessionId",
            message: "sessionId names the current session; use Logout to end it".into(),
        }),
        // Unknown, malformed, already ended, another tenant's or another service's: all
        // "not a valid logged-on session", with the same answer apart from the id.
        Some(r) => Err(Fault::not_found(&r.id)),
    }
}
