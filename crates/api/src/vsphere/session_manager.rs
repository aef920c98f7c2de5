//! SessionManager methods and properties: Login, Logout, currentSession, sessionList,
//! SessionIsActive and TerminateSession (seed 002), each a translation to one `Registry` call.

use super::auth::{MaybeSession, VimCaller, SESSION_HEADER};
use super::dto::{
    user_name, valid_locale, LoginRequest, SessionIsActiveRequest, TerminateSessionRequest,
    UserSession,
};
use super::error::{Fault, VimResult};
use super::route::{SessionManager, Target};
use super::SERVICE;
use crate::client_addr::Origin;
use crate::extract::JsonOrUntyped as Body;
use crate::AppState;
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sessiond_core::identity::fold;
use sessiond_core::registry::EndScope;
use sessiond_core::registry::ItemOutcome;
use sessiond_core::rules::bulk::BulkMode;
use sessiond_core::{CoreError, LoginInfo, Privilege, SessionId};

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
    let locale = body.locale.filter(|l| !l.is_empty());
    if locale.as_deref().is_some_and(|l| !valid_locale(l)) {
        return Err(Fault::InvalidLocale);
    }
    let info = LoginInfo {
        service: SERVICE.to_string(),
        originator: origin.ip,
        user_agent: origin.user_agent,
        locale,
    };
    let (session, token) = st
        .registry
        .login(&body.user_name, &body.password, info)
        .await?;
    tracing::info!(principal = %session.owner, session = %session.id, "vsphere login");
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
    st.registry.logout(&caller).await?;
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
    caller.require(Privilege::SessionsTerminate)?;
    // The caller's own tenant only, also for an admin of the default tenant (vendor
    // dialects never cross tenants).
    let out: Vec<UserSession> = st
        .registry
        .all_live_of_service(&caller, SERVICE)
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
    caller.require(Privilege::SessionsRead)?;
    let Some(id) = SessionId::parse(&body.session_id) else {
        return Ok(Json(false));
    };
    // This dialect never crosses tenants or services, whatever the caller's role.
    let scope = EndScope::service(caller.own_tenant(), SERVICE);
    let s = match st.registry.get_scoped(&caller, &id, &scope).await {
        Ok(s) => s,
        Err(CoreError::NotFound(_)) => return Ok(Json(false)),
        Err(e) => return Err(e.into()),
    };
    let active = st.registry.is_live_now(&s) && fold(&user_name(&s.user)) == fold(&body.user_name);
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
    let scope = EndScope::service(caller.own_tenant(), SERVICE);
    let done = st
        .registry
        .terminate_ids(
            &caller,
            &body.session_id,
            BulkMode::StopOnError,
            None,
            &scope,
            true,
        )
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
        None => Ok(StatusCode::NO_CONTENT),
        Some(r) if r.outcome == ItemOutcome::OwnSession => Err(Fault::InvalidArgument {
            property: "sessionId",
            message: "sessionId names the current session; use Logout to end it".into(),
        }),
        // Unknown, malformed, already ended, another tenant's or another service's: all
        // "not a valid logged-on session", with the same answer apart from the id.
        Some(r) => Err(Fault::not_found(&r.id)),
    }
}
