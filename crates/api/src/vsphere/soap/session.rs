//! The `vmware_soap_session` cookie and who a call comes from. pyvmomi sends back the whole
//! `Set-Cookie` value (`vmware_soap_session="T"; Path=/; HttpOnly; Secure;`), so the cookie
//! is read leniently; any sessiond login token works as its value.

use super::faults::SoapFault;
use crate::client_addr::Origin;
use crate::AppState;
use axum::http::{header, HeaderMap, HeaderValue};
use sessiond_core::token::Token;
use sessiond_core::{Caller, CoreError, Session};

pub const COOKIE: &str = "vmware_soap_session";

/// The token in the `Cookie` headers: the pair named `vmware_soap_session`, one pair of
/// quotes stripped. Attribute "pairs" without `=` (`HttpOnly`) are skipped, not refused.
pub fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| name.trim() == COOKIE)
        .map(|(_, value)| {
            let v = value.trim();
            v.strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v)
                .to_string()
        })
        .filter(|t| !t.is_empty())
}

/// vCenter's cookie shape: a quoted value, then `Path=/`; tools split it on `"` or `;`.
pub fn set_cookie(token: &Token) -> Result<HeaderValue, SoapFault> {
    HeaderValue::from_str(&format!(
        "{COOKIE}=\"{}\"; Path=/; HttpOnly; Secure;",
        token.expose()
    ))
    .map_err(|_| CoreError::Internal("token is not a valid cookie value".into()).into())
}

/// One request's state, origin and cookie.
pub struct Ctx {
    pub st: AppState,
    pub origin: Origin,
    pub token: Option<String>,
}

impl Ctx {
    /// The authenticated caller; without a valid cookie, NotAuthenticated.
    pub async fn caller(&self) -> Result<Caller, SoapFault> {
        let token = self
            .token
            .as_deref()
            .ok_or_else(|| SoapFault::Vim(super::super::Fault::not_authenticated()))?;
        Ok(self.st.registry.authenticate(token).await?)
    }

    /// The caller's own login session, `None` without a cookie or with a stale one, as the
    /// JSON dialect's `MaybeSession` does (currentSession is anonymous).
    pub async fn maybe_session(&self) -> Result<Option<Session>, SoapFault> {
        match self.token.as_deref() {
            Some(token) => Ok(super::super::auth::session_of(&self.st, token).await?),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(cookie) {
            h.insert(header::COOKIE, v);
        }
        h
    }

    #[test]
    fn cookies_as_pyvmomi_sends_them() {
        let t = Some("abc.def".to_string());
        assert_eq!(
            cookie_token(&headers(
                "vmware_soap_session=\"abc.def\"; Path=/; HttpOnly; Secure;"
            )),
            t
        );
        assert_eq!(cookie_token(&headers("vmware_soap_session=\"abc.def\"")), t);
        assert_eq!(
            cookie_token(&headers("a=b; vmware_soap_session=abc.def")),
            t
        );
        assert_eq!(cookie_token(&headers("")), None);
        assert_eq!(cookie_token(&headers("vmware_soap_session=\"\"")), None);
        assert_eq!(cookie_token(&HeaderMap::new()), None);
    }
}
