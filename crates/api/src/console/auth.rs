//! Who is using the console: its cookie (backed by a sessiond login session), the CSRF token
//! derived from it, and reading the urlencoded forms every state change posts.

use super::error::{ConsoleError, ConsoleResult};
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use sessiond_core::{Caller, CoreError};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The console's cookie: the login session's token itself, so logging out, an admin's
/// termination of that login session or disabling the principal ends the console session
/// exactly as it ends an API token.
pub const SESSION_COOKIE: &str = "sessiond_console";
/// A random value set by the login page and posted back with the form (double submit), so
/// that another site cannot log a browser into an account of its choosing.
pub const LOGIN_COOKIE: &str = "sessiond_console_login";
/// The header htmx sends the CSRF token in (set once on `<body hx-headers>`).
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field plain forms carry it in.
pub const CSRF_FIELD: &str = "csrf";

/// The CSRF token of a console session: a hash of its secret cookie. Another site can
/// neither read the cookie nor this page, so it cannot produce the token; nothing needs to
/// be stored, and it dies with the login session.
pub fn csrf_of(token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"sessiond console csrf\0");
    h.update(token.as_bytes());
    sessiond_core::ids::hex(&h.finalize())
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value: HttpOnly and SameSite=Strict always, Secure when served over TLS.
/// `None` as the value clears the cookie.
pub fn set_cookie(name: &str, value: Option<&str>, path: &str, secure: bool) -> HeaderValue {
    let mut c = match value {
        Some(v) => format!("{name}={v}; Path={path}; HttpOnly; SameSite=Strict"),
        None => format!("{name}=; Path={path}; HttpOnly; SameSite=Strict; Max-Age=0"),
    };
    if secure {
        c.push_str("; Secure");
    }
    // Names and values are ours (hex tokens), so this cannot fail; an empty header would
    // only fail to set the cookie.
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The signed-in console user.
pub struct ConsoleUser {
    pub caller: Caller,
    /// The session's CSRF token, rendered into every page that can change something.
    pub csrf: String,
    /// The name of the caller's tenant.
    pub tenant: String,
}

impl ConsoleUser {
    pub fn can_terminate(&self) -> bool {
        self.caller
            .role
            .has(sessiond_core::Privilege::SessionsTerminate)
    }
    pub fn is_admin(&self) -> bool {
        self.caller.role.has(sessiond_core::Privilege::SystemAdmin)
    }
    /// The default tenant's admin: may look at any tenant, or all.
    pub fn is_global(&self) -> bool {
        self.caller.is_global()
    }

    /// A state change's form, once its CSRF token checks out.
    pub fn form(&self, headers: &HeaderMap, body: &[u8]) -> ConsoleResult<Form> {
        let form = Form::parse(headers, body)?;
        self.check_csrf(headers, &form)?;
        Ok(form)
    }

    /// Checks a state change's CSRF token (header or form field), in constant time.
    pub fn check_csrf(&self, headers: &HeaderMap, form: &Form) -> ConsoleResult<()> {
        let sent = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .or_else(|| form.one(CSRF_FIELD))
            .ok_or(ConsoleError::Csrf)?;
        if bool::from(sent.as_bytes().ct_eq(self.csrf.as_bytes())) {
            Ok(())
        } else {
            Err(ConsoleError::Csrf)
        }
    }
}

impl FromRequestParts<AppState> for ConsoleUser {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> ConsoleResult<Self> {
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or(ConsoleError::LoginNeeded)?;
        let caller = st.registry.authenticate(token).await.map_err(|e| match e {
            CoreError::Unauthenticated | CoreError::InvalidCredentials => ConsoleError::LoginNeeded,
            other => ConsoleError::Core(other),
        })?;
        let tenant = st.registry.tenant_name(caller.tenant_id).await?;
        Ok(ConsoleUser {
            csrf: csrf_of(token),
            caller,
            tenant,
        })
    }
}

/// An `application/x-www-form-urlencoded` body, fields in order (a field may repeat:
/// the selected rows are `id=…&id=…`).
#[derive(Debug, Default)]
pub struct Form(pub Vec<(String, String)>);

impl Form {
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> ConsoleResult<Form> {
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mime = ct.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(ConsoleError::Form(
                "expected a form (application/x-www-form-urlencoded)".into(),
            ));
        }
        Ok(Form(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }

    /// The first value of a field, if present.
    pub fn one(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A field's value, trimmed; `None` when missing or empty.
    pub fn text(&self, name: &str) -> Option<String> {
        self.one(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("sessiond_console_login=abc; sessiond_console=tok"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("tok"));
        assert_eq!(cookie(&h, LOGIN_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "other"), None);
    }

    #[test]
    fn csrf_tokens_differ_per_session_and_hide_the_cookie() {
        let a = csrf_of("token-a");
        assert_eq!(a, csrf_of("token-a"));
        assert_ne!(a, csrf_of("token-b"));
        assert!(!a.contains("token-a"));
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn cookies_are_strict_and_secure_under_tls() {
        let c = set_cookie(SESSION_COOKIE, Some("t"), "/console", true);
        let c = c.to_str().unwrap_or_default();
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure"));
        let plain = set_cookie(SESSION_COOKIE, None, "/console", false);
        assert!(!plain.to_str().unwrap_or_default().contains("Secure"));
    }

    #[test]
    fn forms_must_be_urlencoded() {
        let mut h = HeaderMap::new();
        assert!(Form::parse(&h, b"a=1").is_err());
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
        );
        let f = Form::parse(&h, b"id=1&id=2&reason=+x+&csrf=").unwrap_or_default();
        assert_eq!(f.all("id"), vec!["1", "2"]);
        assert_eq!(f.text("reason").as_deref(), Some("x"));
        assert_eq!(f.text("csrf"), None);
    }
}
