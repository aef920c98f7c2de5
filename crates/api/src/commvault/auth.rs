//! `Authtoken: QSDK <token>` authentication. The `QSDK ` prefix is Commvault's token type and
//! is stripped; a bare token is accepted too, since any valid sessiond API token works in
//! every dialect (DESIGN.md §5) and a native token carries no prefix.

use super::error::CvError;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use sessiond_core::{Caller, CoreError};

pub const AUTHTOKEN_HEADER: &str = "authtoken";
/// The token type Commvault puts before its tokens, with its space.
pub const QSDK_PREFIX: &str = "QSDK ";

/// The sessiond token inside a Commvault token string: `QSDK <token>` (prefix matched
/// case-insensitively) or the bare token. `None` when nothing is left.
pub fn strip_qsdk(value: &str) -> Option<&str> {
    let v = value.trim();
    if v.eq_ignore_ascii_case(QSDK_PREFIX.trim_end()) {
        return None;
    }
    let token = match v.get(..QSDK_PREFIX.len()) {
        Some(p) if p.eq_ignore_ascii_case(QSDK_PREFIX) => v[QSDK_PREFIX.len()..].trim(),
        _ => v,
    };
    (!token.is_empty()).then_some(token)
}

/// The token a request carries in `Authtoken`, if any.
pub fn presented(headers: &HeaderMap) -> Option<&str> {
    strip_qsdk(headers.get(AUTHTOKEN_HEADER)?.to_str().ok()?)
}

/// The authenticated caller; a missing, invalid or ended token is a 401.
pub struct CvCaller(pub Caller);

impl FromRequestParts<AppState> for CvCaller {
    type Rejection = CvError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, CvError> {
        let token = presented(&parts.headers).ok_or(CoreError::Unauthenticated)?;
        Ok(CvCaller(st.registry.authenticate(token).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qsdk_prefix_is_optional() {
        assert_eq!(strip_qsdk("QSDK abc.def"), Some("abc.def"));
        assert_eq!(strip_qsdk("qsdk  abc.def "), Some("abc.def"));
        assert_eq!(strip_qsdk("abc.def"), Some("abc.def"));
        assert_eq!(strip_qsdk("QSDK "), None);
        assert_eq!(strip_qsdk("  "), None);
        // Multi-byte text where the prefix would end must not panic.
        assert_eq!(strip_qsdk("QSD\u{e9}x"), Some("QSD\u{e9}x"));
    }
}
