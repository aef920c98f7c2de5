//! `Authorization: Bearer` authentication for the native API.

use super::error::ApiError;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sessiond_core::{Caller, CoreError};

/// The authenticated caller of a native API request.
pub struct Authed(pub Caller);

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        let token = crate::bearer::token(&parts.headers).ok_or(CoreError::Unauthenticated)?;
        Ok(Authed(st.registry.authenticate(token).await?))
    }
}
