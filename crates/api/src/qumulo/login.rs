//! `POST /v1/session/login`: a Qumulo API login is a session of service `sessiond` (an API
//! login is no SMB session), answered with Qumulo's `{bearer_token}`.

use super::dto::{LoginBody, LoginResponse};
use super::error::{QumuloError, QumuloResult};
use crate::client_addr::Origin;
use crate::extract::Json as Body;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use sessiond_core::{LoginInfo, SERVICE_SESSIOND};

/// No auth extractor here: a stale or invalid `Authorization` header sent along with a login
/// is ignored (qq sends its stored credentials with every request, login included).
pub async fn login(
    State(st): State<AppState>,
    origin: Origin,
    Body(body, _): Body<LoginBody, QumuloError>,
) -> QumuloResult<Json<LoginResponse>> {
    let info = LoginInfo {
        service: SERVICE_SESSIOND.to_string(),
        originator: origin.ip,
        user_agent: origin.user_agent,
        locale: None,
        via: "qumulo",
    };
    let (session, token) = st
        .registry
        .login(&body.username, &body.password, info)
        .await?;
    tracing::info!(principal = %session.owner, session = %session.id, "qumulo login");
    Ok(Json(LoginResponse {
        bearer_token: token.expose().to_string(),
    }))
}
