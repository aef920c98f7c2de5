//! SessionManager methods and properties over VI/JSON: Login, Logout, currentSession,
//! sessionList, SessionIsActive and TerminateSession (seed 002). Each decodes its request and
//! encodes the answer around the operation in `ops.rs`, which the SOAP encoding shares.

use super::auth::{MaybeSession, VimCaller, SESSION_HEADER};
use super::dto::{LoginRequest, SessionIsActiveRequest, TerminateSessionRequest, UserSession};
use super::error::{Fault, VimResult};
use super::ops;
use super::route::{SessionManager, Target};
use crate::client_addr::Origin;
use crate::extract::JsonOrUntyped as Body;
use crate::AppState;
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sessiond_core::CoreError;

type In<T> = Body<T, Fault>;

/// `POST Login {userName, password, locale?}` → UserSession, the token in the
/// `vmware-api-session-id` response header. The login is a session of service `vsphere`.
pub async fn login(
    State(st): State<AppState>,
    _at: Target<SessionManager>,
    origin: Origin,
    req: Request,
) -> VimResult<Response> {
    // No session extractor here: a stale or invalid `vmware-api-session-id` sent along with
    // a Login is ignored (DESIGN.md §5), and a valid one does not stop a new login.
    let Body(body, _) = In::<LoginRequest>::from_request(req, &st).await?;
    let (session, token) =
        ops::login(&st, &body.user_name, &body.password, body.locale, origin).await?;
    let value = HeaderValue::from_str(token.expose())
        .map_err(|_| CoreError::Internal("token is not a valid header value".into()))?;
    Ok((
        [(HeaderName::from_static(SESSION_HEADER), value)],
        Json(UserSession::from_session(&session)),
    )
        .into_response())
}

/// `POST Logout` → 204; the caller's session becomes `closed`.
pub async fn logout(
    State(st): State<AppState>,
    _at: Target<SessionManager>,
    VimCaller(caller): VimCaller,
) -> VimResult<StatusCode> {
    ops::logout(&st, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET currentSession` (System.Anonymous): the caller's UserSession, or an unset value when
/// not logged in. VI/JSON renders an unset result as a 200 with an empty body (the schema is
/// a nullable UserSession; VI/JSON clients such as vim_rs read an empty 2xx body as unset).
pub async fn current_session(
    _at: Target<SessionManager>,
    MaybeSession(session): MaybeSession,
) -> Response {
    match session {
        Some(s) => Json(UserSession::from_session(&s)).into_response(),
        None => (StatusCode::OK, [(header::CONTENT_LENGTH, "0")]).into_response(),
    }
}

/// `GET sessionList` (Sessions.TerminateSession, as in vSphere): every live `vsphere`
/// session of the caller's own tenant, whatever the caller's role.
pub async fn session_list(
    State(st): State<AppState>,
    _at: Target<SessionManager>,
    VimCaller(caller): VimCaller,
) -> VimResult<Json<Vec<UserSession>>> {
    let out: Vec<UserSession> = ops::session_list(&st, &caller)
        .await?
        .iter()
        .map(UserSession::from_session)
        .collect();
    Ok(Json(out))
}

/// `POST SessionIsActive {sessionID, userName}` → JSON boolean. vSphere requires
/// Sessions.ValidateSession, which lets a caller check a session's liveness without
/// managing it; sessiond's nearest privilege is Sessions.Read (every role holds it).
/// False for a malformed or unknown id, a wrong userName, another tenant's session, an
/// ended or expired one, and one of another service.
pub async fn session_is_active(
    State(st): State<AppState>,
    _at: Target<SessionManager>,
    VimCaller(caller): VimCaller,
    req: Request,
) -> VimResult<Json<bool>> {
    let Body(body, _) = In::<SessionIsActiveRequest>::from_request(req, &st).await?;
    let active = ops::session_is_active(&st, &caller, &body.session_id, &body.user_name).await?;
    Ok(Json(active))
}

/// `POST TerminateSession {sessionId:[…]}` → 204. Seed 002: sequential in list order, each id
/// its own transaction, the first failure aborts with a fault and leaves earlier ones
/// terminated and later ones untouched (core's `StopOnError` with `refuse_own`).
pub async fn terminate_session(
    State(st): State<AppState>,
    _at: Target<SessionManager>,
    VimCaller(caller): VimCaller,
    req: Request,
) -> VimResult<StatusCode> {
    let Body(body, _) = In::<TerminateSessionRequest>::from_request(req, &st).await?;
    ops::terminate(&st, &caller, &body.session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
