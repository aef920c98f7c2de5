//! Huawei Cloud / Open Telekom Cloud DDS node sessions under `/v3` (seed 003; DESIGN.md §5),
//! as the official `huaweicloudsdkdds` Python SDK drives it: list the sessions of a node and
//! kill some of them, authenticated by `X-Auth-Token` or AK/SK request signing. Translation
//! only; every rule is the registry's.
//!
//! The router is nested at `/v3` with the project as its first path segment, so that every
//! path under `/v3` is answered in DDS's error format; `/v3/` itself, which a nest does not
//! reach, comes from [`slash_root`].

pub mod auth;
pub mod dto;
pub mod error;
pub mod sessions;
pub mod signing;

pub use error::DdsError;

use crate::AppState;
use axum::routing::{any, get, post};
use axum::Router;

/// The service whose sessions this dialect shows and kills.
pub const SERVICE: &str = "mongodb";

/// Routes relative to `/v3` (nested in `crate::app`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/{project_id}/nodes/{node_id}/sessions",
            get(sessions::list),
        )
        .route(
            "/{project_id}/nodes/{node_id}/session",
            post(sessions::kill),
        )
        .fallback(error::not_found_fallback)
        .method_not_allowed_fallback(error::method_not_allowed_fallback)
}

/// `/v3/`: a nested router's catch-all needs a non-empty tail, so this one path is routed
/// here, merged beside the nest in `crate::app`, and answered like any unknown path.
pub fn slash_root() -> Router<AppState> {
    Router::new().route("/v3/", any(error::not_found_fallback))
}
