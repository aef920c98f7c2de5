//! Qumulo SMB sessions dialect under `/v1` (seeds 000, 001; DESIGN.md §5), as the official
//! `qq` CLI drives it: login, list SMB sessions, close SMB sessions. Translation only; every
//! rule is the registry's.

mod auth;
mod dto;
pub mod error;
mod login;
mod sessions;

pub use error::QumuloError;

use crate::AppState;
use axum::routing::{get, post};
use axum::Router;

/// Routes relative to `/v1` (nested in `crate::app`). The list is exactly
/// `/v1/smb/sessions/`, with the trailing slash qq sends; the path without it is a 404 with a
/// hint, as DESIGN.md names the routes exactly.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/session/login", post(login::login))
        .route("/smb/sessions/", get(sessions::list))
        .route("/smb/sessions/close", post(sessions::close))
        .fallback(error::not_found_fallback)
        .method_not_allowed_fallback(error::method_not_allowed_fallback)
}
