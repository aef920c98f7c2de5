//! The bare API root, `POST Login`, `POST Logout` and `POST RenewLoginToken`: a Commvault
//! login is a session of service `commvault`, its token `QSDK <split token>`.

use super::auth::{presented, strip_qsdk, CvCaller, QSDK_PREFIX};
use super::dto::{
    user_guid, user_id, ErrEntry, LoginRequest, LoginResponse, Organization, RenewRequest,
    RenewResponse, WhoAmIResponse, WhoAmIUser,
};
use super::error::{CvResult, ErrorBody, ERR_ACCESS_DENIED};
use super::format::{Doc, Format};
use super::SERVICE;
use crate::client_addr::Origin;
use crate::extract::parse_json;
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use sessiond_core::{CoreError, LoginInfo};

/// The body of a successful `Logout`, Commvault's own words.
pub const LOGGED_OUT: &str = "User logged out";

/// Standard base64 (what cvpysdk's `b64encode` writes), padding optional.
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A success answer with no data of its own: Commvault's generic response with code 0.
fn generic_ok(format: Format, message: &str) -> Response {
    let body = ErrorBody {
        error_code: 0,
        error_message: message.to_string(),
    };
    format.render(StatusCode::OK, &body, || body.to_xml())
}

/// `GET …/` (with or without the trailing slash): cvpysdk's `Commcell()` checks that the
/// web service answers 200 before it logs in. No authentication.
pub async fn root(format: Format) -> Response {
    generic_ok(format, "sessiond: Commvault Sessions API")
}

/// The password a Login carries: base64 of its UTF-8 bytes. `None` when it is not.
fn decode_password(b64: &str) -> Option<String> {
    let bytes = B64.decode(b64.trim()).ok()?;
    String::from_utf8(bytes).ok()
}

fn bad_login(message: &str) -> LoginResponse {
    LoginResponse::failed(
        ErrEntry {
            error_code: ERR_ACCESS_DENIED,
            err_log_message: message.to_string(),
        },
        None,
    )
}

/// `POST Login`. No `Authtoken` extractor: a stale token sent along is ignored (DESIGN.md §5).
/// Every failure of the credentials themselves (wrong name or password, a password that is
/// not base64, a directory domain, the login backoff) is a 200 with `errList`, as Commvault
/// answers and cvpysdk expects; only an unreadable body is an HTTP error.
pub async fn login(
    State(st): State<AppState>,
    format: Format,
    origin: Origin,
    doc: Doc,
) -> CvResult<Response> {
    let req = match doc {
        Doc::Json(bytes) => parse_json::<LoginRequest>(&bytes)?,
        Doc::Xml(el) => LoginRequest::from_xml(&el)?,
    };
    let answer = |r: LoginResponse| format.render(StatusCode::OK, &r, || r.to_xml());
    if req.domain.as_deref().is_some_and(|d| !d.trim().is_empty()) {
        return Ok(answer(bad_login(
            "Login failed: directory domains are not supported here; sessiond principals \
             log in with an empty domain",
        )));
    }
    let Some(password) = decode_password(&req.password) else {
        return Ok(answer(bad_login(
            "Login failed: the password must be the base64 encoding of the UTF-8 password",
        )));
    };
    let info = LoginInfo {
        service: SERVICE.to_string(),
        originator: origin.ip,
        user_agent: origin.user_agent,
        locale: None,
        via: "commvault",
    };
    match st.registry.login(&req.username, &password, info).await {
        Ok((session, token)) => {
            tracing::info!(principal = %session.owner, session = %session.id, "commvault login");
            let tenant = st.registry.tenant_name(session.tenant_id).await?;
            Ok(answer(LoginResponse {
                token: Some(format!("{QSDK_PREFIX}{}", token.expose())),
                user_guid: Some(user_guid(&session.owner)),
                user_name: Some(session.owner),
                owner_organization: Some(Organization {
                    provider_id: session.tenant_id,
                    provider_domain_name: tenant,
                }),
                is_account_locked: false,
                remaining_lock_time: 0,
                force_password_change: false,
                err_list: Vec::new(),
            }))
        }
        // Unknown user and wrong password read the same.
        Err(CoreError::InvalidCredentials) => Ok(answer(bad_login(
            "Login failed: invalid username or password",
        ))),
        Err(CoreError::RateLimited { retry_after_secs }) => Ok(answer(LoginResponse::failed(
            ErrEntry {
                error_code: ERR_ACCESS_DENIED,
                err_log_message: format!(
                    "Login failed: too many failed logins for this user; retry in \
                     {retry_after_secs}s"
                ),
            },
            Some(retry_after_secs),
        ))),
        Err(e) => Err(e.into()),
    }
}

/// `POST Logout` ends the caller's own login (state `closed`). cvpysdk sends it with
/// `Content-type: application/xml` and no body; whatever body comes is not read. The answer
/// is Commvault's plain text `User logged out`, whatever `Accept` says: cvpysdk's
/// `Commcell.logout()` returns `response.text` as it is. A second logout with the same token
/// fails authentication: 401 `Access denied`.
pub async fn logout(State(st): State<AppState>, CvCaller(caller): CvCaller) -> CvResult<Response> {
    st.registry.logout(&caller).await?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        LOGGED_OUT,
    )
        .into_response())
}

/// `POST WhoAmI` (cvpysdk's `Commcell(host, authtoken=…)` calls it to learn its user):
/// the principal behind the `Authtoken`. `userId` is the one this dialect lists the caller's
/// login session under, so `GET Session?userId=<it>` lists the caller's own sessions.
pub async fn whoami(
    State(st): State<AppState>,
    format: Format,
    headers: HeaderMap,
) -> CvResult<Response> {
    let token = presented(&headers).ok_or(CoreError::Unauthenticated)?;
    let (session, principal) = st.registry.authenticate_session(token).await?;
    let r = WhoAmIResponse {
        user: WhoAmIUser {
            user_guid: user_guid(&principal.name),
            user_id: user_id(&session.user),
            user_name: principal.name,
        },
    };
    Ok(format.render(StatusCode::OK, &r, || r.to_xml()))
}

/// `POST RenewLoginToken {sessionId, deviceId}` → `{token}`. The token named by `sessionId`
/// (else the request's `Authtoken`) is itself the credential: when it is a live login, this
/// call counts as its activity (the touch extends its idle deadline) and the same token is
/// returned, as only the client ever holds its plaintext. An ended or expired login is a 401
/// and stays ended: a tombstone never becomes live again.
pub async fn renew(
    State(st): State<AppState>,
    format: Format,
    headers: HeaderMap,
    doc: Doc,
) -> CvResult<Response> {
    let req = match doc {
        Doc::Json(bytes) => parse_json::<RenewRequest>(&bytes)?,
        Doc::Xml(el) => RenewRequest::from_xml(&el),
    };
    let token = req
        .session_id
        .as_deref()
        .and_then(strip_qsdk)
        .or_else(|| presented(&headers))
        .ok_or(CoreError::Unauthenticated)?;
    st.registry.authenticate_session(token).await?;
    let r = RenewResponse {
        token: format!("{QSDK_PREFIX}{token}"),
    };
    Ok(format.render(StatusCode::OK, &r, || r.to_xml()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_base64_of_utf8() {
        assert_eq!(decode_password("cGFzc3dvcmQ=").as_deref(), Some("password"));
        assert_eq!(decode_password("cGFzc3dvcmQ").as_deref(), Some("password"));
        assert_eq!(decode_password("w6k=").as_deref(), Some("\u{e9}"));
        assert_eq!(decode_password("not base64!"), None);
        assert_eq!(decode_password("/w=="), None); // 0xff: not UTF-8
    }
}
