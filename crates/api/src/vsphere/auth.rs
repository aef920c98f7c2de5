//! `vmware-api-session-id` authentication: the session token a Login returned, sent back in
//! that header. Any valid sessiond API token is accepted (DESIGN.md §5).

use super::error::Fault;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sessiond_core::{Caller, CoreError, Session};

pub const SESSION_HEADER: &str = "vmware-api-session-id";

/// The token of a request, if it carries one.
pub fn session_token(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(SESSION_HEADER)?
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The authenticated caller; without a valid token the request fails with NotAuthenticated.
pub struct VimCaller(pub Caller);

impl FromRequestParts<AppState> for VimCaller {
    type Rejection = Fault;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Fault> {
        let token = session_token(parts).ok_or_else(Fault::not_authenticated)?;
        Ok(VimCaller(st.registry.authenticate(token).await?))
    }
}

/// The caller's own login session when it has a valid token, `None` when it has none or a
/// stale one (`currentSession` is readable anonymously and is then null).
pub struct MaybeSession(pub Option<Session>);

impl FromRequestParts<AppState> for MaybeSession {
    type Rejection = Fault;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Fault> {
        match session_token(parts) {
            Some(token) => Ok(MaybeSession(session_of(st, token).await?)),
            None => Ok(MaybeSession(None)),
        }
    }
}

/// The login session of `token` as `currentSession` shows it (in either encoding), `None`
/// for a stale or invalid token.
pub async fn session_of(st: &AppState, token: &str) -> Result<Option<Session>, CoreError> {
    match st.registry.authenticate_session(token).await {
        Ok((mut session, _)) => {
            // This very call is the session's latest activity; the stored value lags
            // behind until the touch buffer is flushed.
            let now = st.registry.clock().now();
            session.last_active_at = session.last_active_at.max(now);
            Ok(Some(session))
        }
        Err(CoreError::Unauthenticated) => Ok(None),
        Err(e) => Err(e),
    }
}
