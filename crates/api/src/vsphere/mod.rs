//! vSphere SessionManager JSON dialect (VI/JSON) under `/sdk/vim25/{release}` (seed 002;
//! DESIGN.md §5): ServiceContent, Login/Logout, currentSession, sessionList, SessionIsActive
//! and TerminateSession over the one `Registry`, faults in vSphere's format.
//!
//! Routes take `{moId}` as a parameter so that a wrong moId on a real method is reported as
//! `ManagedObjectNotFound` (see `route::Target`); everything no route takes goes to the
//! fallbacks, which answer in the same fault format.

mod auth;
mod dto;
pub mod error;
mod ops;
mod route;
mod service_instance;
mod session_manager;
pub mod soap;

pub use error::Fault;

use crate::AppState;
use axum::routing::{get, post};
use axum::Router;

/// The service of a vSphere login session, and the only service this dialect lists or ends.
pub const SERVICE: &str = "vsphere";

pub fn router() -> Router<AppState> {
    use session_manager as sm;
    Router::new()
        .route(
            "/ServiceInstance/{moId}/content",
            get(service_instance::content),
        )
        // govmomi's JSON client retrieves the ServiceContent with this POST.
        .route(
            "/ServiceInstance/{moId}/RetrieveServiceContent",
            post(service_instance::content),
        )
        .route("/SessionManager/{moId}/Login", post(sm::login))
        .route("/SessionManager/{moId}/Logout", post(sm::logout))
        .route(
            "/SessionManager/{moId}/currentSession",
            get(sm::current_session),
        )
        .route("/SessionManager/{moId}/sessionList", get(sm::session_list))
        .route(
            "/SessionManager/{moId}/SessionIsActive",
            post(sm::session_is_active),
        )
        .route(
            "/SessionManager/{moId}/TerminateSession",
            post(sm::terminate_session),
        )
        .fallback(route::fallback)
        .method_not_allowed_fallback(route::method_not_allowed)
}
