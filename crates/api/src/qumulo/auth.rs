//! `Authorization: Bearer` authentication for the Qumulo dialect (the token of
//! `POST /v1/session/login`; any valid API token works, DESIGN.md §5).

use super::error::QumuloError;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use sessiond_core::{Caller, CoreError};

/// The authenticated caller of a Qumulo request.
pub struct QAuthed(pub Caller);

/// The bearer token of a request, if it carries one.
fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

impl FromRequestParts<AppState> for QAuthed {
    type Rejection = QumuloError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, QumuloError> {
        let token = bearer(parts).ok_or(CoreError::Unauthenticated)?;
        Ok(QAuthed(st.registry.authenticate(token).await?))
    }
}
