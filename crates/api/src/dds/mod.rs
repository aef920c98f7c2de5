//! Huawei Cloud / Open Telekom Cloud DDS node sessions under `/v3` (seed 003; DESIGN.md §5),
//! as the official `huaweicloudsdkdds` Python SDK drives it: list the sessions of a node and
//! kill some of them, authenticated by `X-Auth-Token` or AK/SK request signing; and IAM's
//! project lookup `GET /v3/projects?name=REGION` ([`projects`]), which the SDK calls when its
//! credentials carry no project id. Translation only; every rule is the registry's.
//!
//! Every answer under `/v3` (success, error, the framework's own rejections, the overload
//! 503) carries a fresh `X-Request-Id` ([`request_id`]), which the SDK copies into its
//! exceptions.
//!
//! List parameters: `limit` 1–100, default 10 (the SDK documents 1–20; sessiond allows more,
//! DESIGN.md §5); `offset` 0–2147483647 (the SDK's int range), default 0. A value outside
//! either range is 400 `DBS.200001` naming the bound, never clamped.
//!
//! A node with no `mongodb` session ever registered in the caller's tenant is 404
//! `DBS.200013`, on list and on kill. "Ever" can only mean what the store still holds: live
//! sessions and ended ones whose tombstones are within retention. Once the last tombstone of
//! a node is purged, the node reads as never having existed.
//!
//! The router is nested at `/v3` with the project as its first path segment, so that every
//! path under `/v3` is answered in DDS's error format; `/v3/` itself, which a nest does not
//! reach, comes from [`slash_root`].

pub mod auth;
pub mod dto;
pub mod error;
pub mod projects;
pub mod request_id;
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
        // IAM's path; a static segment wins over `{project_id}` in routing.
        .route("/projects", get(projects::list))
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
        // Last, so that it wraps the routes and both fallbacks.
        .layer(axum::middleware::map_response(request_id::layer))
}

/// `/v3/`: a nested router's catch-all needs a non-empty tail, so this one path is routed
/// here, merged beside the nest in `crate::app`, and answered like any unknown path.
pub fn slash_root() -> Router<AppState> {
    Router::new()
        .route("/v3/", any(error::not_found_fallback))
        .layer(axum::middleware::map_response(request_id::layer))
}
