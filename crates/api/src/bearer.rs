//! Reading an `Authorization: Bearer <token>` header, shared by the dialects that take one
//! (native and Qumulo).

use axum::http::{header, HeaderMap};

/// The bearer token of a request, if it carries one: the scheme is matched case-insensitively
/// and the token trimmed. A header that is not UTF-8 or not `Bearer` counts as none.
pub fn token(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(v: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static(v));
        h
    }

    #[test]
    fn reads_bearer_tokens_only() {
        assert_eq!(token(&with("Bearer abc.def")), Some("abc.def"));
        assert_eq!(token(&with("bearer  abc ")), Some("abc"));
        assert_eq!(token(&with("Basic YWxhZGRpbjpvcGVu")), None);
        assert_eq!(token(&with("Bearer")), None);
        assert_eq!(token(&HeaderMap::new()), None);
    }
}
