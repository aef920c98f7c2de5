//! `Authorization: Bearer` authentication for the native API.

use super::error::ApiError;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use sessiond_core::{Caller, CoreError};

/// The authenticated caller of a native API request.
pub struct Authed(pub Caller);

/// The bearer token of a request, if it carries one.
pub fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or(CoreError::Unauthenticated)?;
        Ok(Authed(st.registry.authenticate(token).await?))
    }
}
