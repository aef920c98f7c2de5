//! Login, logout and whoami: an API login is itself a session of service `sessiond`.

use super::error::ApiResult;
use super::Authed;
use crate::client_addr::Origin;
use crate::extract::Json as Body;
use crate::AppState;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::Json;
#[allow(unused_imports)]
use sessiond_core::wire::ErrorBody;
use sessiond_core::wire::{LoginRequest, LoginResponse, WhoAmI};
use sessiond_core::{LoginInfo, Privilege, SERVICE_SESSIOND};

use super::ApiError;

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest, responses((status = 200, body = LoginResponse), (status = 401, description = "invalid credentials", body = ErrorBody), (status = 429, description = "too many failed logins", body = ErrorBody)))]
pub async fn login(
    State(st): State<AppState>,
    origin: Origin,
    req: Request,
) -> ApiResult<Json<LoginResponse>> {
    // Any Authorization header sent along with a login is ignored (DESIGN.md §5).
    let Body(body, _) = Body::<LoginRequest, ApiError>::from_request(req, &st).await?;
    let info = LoginInfo {
        service: SERVICE_SESSIOND.to_string(),
        originator: origin.ip,
        user_agent: origin.user_agent,
        locale: None,
        via: "native",
    };
    let (session, token) = st
        .registry
        .login(&body.username, &body.password, info)
        .await?;
    tracing::info!(principal = %session.owner, session = %session.id, "login");
    Ok(Json(LoginResponse {
        token: token.expose().to_string(),
        session_id: session.id.to_string(),
        expires_at: session.expires_at(),
    }))
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204, description = "the caller's login session is closed"), (status = 401, description = "unauthenticated", body = ErrorBody)), security(("bearer" = [])))]
pub async fn logout(State(st): State<AppState>, Authed(caller): Authed) -> ApiResult<StatusCode> {
    st.registry.logout(&caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/auth/whoami", tag = "auth", responses((status = 200, body = WhoAmI), (status = 401, description = "unauthenticated", body = ErrorBody)), security(("bearer" = [])))]
pub async fn whoami(State(st): State<AppState>, Authed(caller): Authed) -> ApiResult<Json<WhoAmI>> {
    let privileges = [
        Privilege::SessionsRead,
        Privilege::SessionsRegister,
        Privilege::SessionsTerminate,
        Privilege::SystemAdmin,
    ]
    .into_iter()
    .filter(|p| caller.role.has(*p))
    .map(|p| p.as_str().to_string())
    .collect();
    Ok(Json(WhoAmI {
        name: caller.principal.clone(),
        role: caller.role,
        tenant: st.registry.tenant_name(caller.tenant_id).await?,
        tenant_id: caller.tenant_id,
        session_id: caller
            .session_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        privileges,
    }))
}
