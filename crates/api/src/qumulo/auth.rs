//! `Authorization: Bearer` authentication for the Qumulo dialect (the token of
//! `POST /v1/session/login`; any valid API token works, DESIGN.md §5).

use super::error::QumuloError;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sessiond_core::{Caller, CoreError};

/// The authenticated caller of a Qumulo request.
pub struct QAuthed(pub Caller);

impl FromRequestParts<AppState> for QAuthed {
    type Rejection = QumuloError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, QumuloError> {
        let token = crate::bearer::token(&parts.headers).ok_or(CoreError::Unauthenticated)?;
        Ok(QAuthed(st.registry.authenticate(token).await?))
    }
}
