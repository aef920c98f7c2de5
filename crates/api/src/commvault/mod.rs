//! Commvault Sessions dialect under `/webconsole/api` and `/commandcenter/api` (seed 004;
//! DESIGN.md §5), as cvpysdk drives it: the bare root check, Login/Logout/RenewLoginToken
//! with `Authtoken: QSDK …`, WhoAmI, GET Session?userId=N and GET/DELETE Sessions.
//! Translation only; every rule is the registry's.
//!
//! Every answer, errors included, is JSON or XML as `Accept` asks (`format.rs`); request
//! bodies are JSON or XML by `Content-Type`, XML through the safe reader of `xml.rs`.

mod auth;
mod dto;
pub mod error;
mod format;
mod login;
mod sessions;
pub mod xml;

pub use error::CvError;

use crate::AppState;
use axum::routing::{get, post};
use axum::Router;

/// The service of a Commvault login session, and the only service this dialect lists or ends.
pub const SERVICE: &str = "commvault";

/// Routes relative to either root (the same router is nested twice in `crate::app`).
/// Commvault's web server matches paths case-insensitively and its API reference writes
/// them in lower case (`/sessions`, `/renewlogintoken`), so both spellings are routed.
pub fn router() -> Router<AppState> {
    let sessions = || get(sessions::list).delete(sessions::logoff);
    // cvpysdk POSTs WhoAmI; Commvault's API reference documents it as a GET.
    let whoami = || post(login::whoami).get(login::whoami);
    Router::new()
        .route("/", get(login::root))
        .route("/Login", post(login::login))
        .route("/login", post(login::login))
        .route("/Logout", post(login::logout))
        .route("/logout", post(login::logout))
        .route("/WhoAmI", whoami())
        .route("/whoami", whoami())
        .route("/RenewLoginToken", post(login::renew))
        .route("/renewlogintoken", post(login::renew))
        .route("/Sessions", sessions())
        .route("/sessions", sessions())
        .route("/Session", get(sessions::list_of_user))
        .route("/session", get(sessions::list_of_user))
        .fallback(error::not_found_fallback)
        .method_not_allowed_fallback(error::method_not_allowed_fallback)
        // Last, so that it wraps the routes and both fallbacks (see `format::negotiate`).
        .layer(axum::middleware::from_fn(format::negotiate))
}

/// The 503 of the global load shedding (`crate::overload`), in JSON or XML as `headers`
/// ask: the shedding happens before routing, so `format::negotiate` does not see it.
pub fn overloaded(headers: &axum::http::HeaderMap) -> axum::response::Response {
    use axum::response::IntoResponse;
    let format = format::Format::from_headers(headers);
    format::in_format(format, CvError::Overloaded.into_response())
}

pub fn timed_out(headers: &axum::http::HeaderMap) -> axum::response::Response {
    use axum::response::IntoResponse;
    let format = format::Format::from_headers(headers);
    format::in_format(format, CvError::TimedOut.into_response())
}

/// `/webconsole/api/` and `/commandcenter/api/` themselves, with the trailing slash that
/// cvpysdk checks (`https://host/commandcenter/api/`): a nested router's `/` matches only the
/// prefix without it, and the nest's catch-all needs a non-empty tail, so these two paths are
/// routed here, merged beside the nests in `crate::app`.
pub fn slash_roots() -> Router<AppState> {
    let root = || get(login::root).fallback(error::method_not_allowed_fallback);
    Router::new()
        .route("/webconsole/api/", root())
        .route("/commandcenter/api/", root())
        .layer(axum::middleware::from_fn(format::negotiate))
}
