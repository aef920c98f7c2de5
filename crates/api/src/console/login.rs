//! `/console/login` and `/console/logout`: a console login is a sessiond login session
//! (service `sessiond`), its token kept in an HttpOnly, SameSite=Strict cookie.

use super::auth::{cookie, set_cookie, ConsoleUser, Form, LOGIN_COOKIE, SESSION_COOKIE};
use super::error::{ConsoleError, ConsoleResult};
use super::view::{self, LoginPage};
use crate::client_addr::Origin;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use sessiond_core::{CoreError, LoginInfo, SERVICE_SESSIOND};
use subtle::ConstantTimeEq;

/// Where to go after logging in: only a console path, never another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with("/console/")
                && !n.contains("//")
                && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            n.to_string()
        }
        _ => "/console/".to_string(),
    }
}

fn login_page(
    st: &AppState,
    status: StatusCode,
    error: Option<String>,
    username: String,
    next: String,
) -> ConsoleResult<Response> {
    let nonce = sessiond_core::ids::random_hex(32)
        .map_err(|e| CoreError::Internal(format!("random: {e}")))?;
    let page = LoginPage {
        nav: None,
        error,
        username,
        login_csrf: nonce.clone(),
        next,
    };
    let mut r = view::html(&page);
    *r.status_mut() = status;
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LOGIN_COOKIE, Some(&nonce), "/console/login", st.tls),
    );
    Ok(r)
}

pub async fn form(
    State(st): State<AppState>,
    user: Result<ConsoleUser, ConsoleError>,
    RawQuery(raw): RawQuery,
) -> ConsoleResult<Response> {
    let next = raw.as_deref().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "next")
            .map(|(_, v)| v.into_owned())
    });
    let next = safe_next(next.as_deref());
    if user.is_ok() {
        return Ok(view::see_other(&next));
    }
    login_page(&st, StatusCode::OK, None, String::new(), next)
}

pub async fn submit(
    State(st): State<AppState>,
    origin: Origin,
    headers: HeaderMap,
    body: Bytes,
) -> ConsoleResult<Response> {
    let form = Form::parse(&headers, &body)?;
    let next = safe_next(form.one("next"));
    let username = form.text("username").unwrap_or_default();
    let password = form.one("password").unwrap_or_default();
    // Double submit: the form's nonce must equal the cookie the login page set.
    let nonce_ok = match (cookie(&headers, LOGIN_COOKIE), form.one("login_csrf")) {
        (Some(c), Some(f)) => bool::from(c.as_bytes().ct_eq(f.as_bytes())),
        _ => false,
    };
    if !nonce_ok {
        return login_page(
            &st,
            StatusCode::FORBIDDEN,
            Some("the login form expired; please try again".into()),
            username,
            next,
        );
    }
    let info = LoginInfo {
        service: SERVICE_SESSIOND.to_string(),
        originator: origin.ip,
        user_agent: origin.user_agent,
        locale: None,
        via: "console",
    };
    match st.registry.login(&username, password, info).await {
        Ok((session, token)) => {
            tracing::info!(principal = %session.owner, session = %session.id, "console login");
            let mut r = view::see_other(&next);
            let h = r.headers_mut();
            h.append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, Some(token.expose()), "/console", st.tls),
            );
            h.append(
                header::SET_COOKIE,
                set_cookie(LOGIN_COOKIE, None, "/console/login", st.tls),
            );
            Ok(r)
        }
        Err(e @ (CoreError::InvalidCredentials | CoreError::Unauthenticated)) => {
            let _ = e;
            login_page(
                &st,
                StatusCode::UNAUTHORIZED,
                Some("wrong name or password".into()),
                username,
                next,
            )
        }
        Err(e @ CoreError::RateLimited { .. }) => {
            let msg = e.to_string();
            let mut r = login_page(
                &st,
                StatusCode::TOO_MANY_REQUESTS,
                Some(msg),
                username,
                next,
            )?;
            if let Some(s) = crate::render::core_retry_after(&e) {
                if let Ok(v) = s.to_string().parse() {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn logout(
    State(st): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    body: Bytes,
) -> ConsoleResult<Response> {
    user.form(&headers, &body)?;
    st.registry.logout(&user.caller).await?;
    let mut r = view::see_other("/console/login");
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, None, "/console", st.tls),
    );
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_in_the_console() {
        assert_eq!(
            safe_next(Some("/console/sessions?x=1")),
            "/console/sessions?x=1"
        );
        assert_eq!(safe_next(Some("https://evil.example/")), "/console/");
        assert_eq!(safe_next(Some("/console//evil.example")), "/console/");
        assert_eq!(safe_next(Some("/console/\\evil")), "/console/");
        assert_eq!(safe_next(None), "/console/");
    }
}
