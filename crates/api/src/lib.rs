//! sessiond's HTTP surface: the native API, health and metrics endpoints, and (one module
//! each) the vendor dialects, all calling the one `Registry` in core.

pub mod bearer;
pub mod client_addr;
pub mod commvault;
pub mod console;
pub mod dds;
pub mod docs;
pub mod extract;
pub mod health;
pub mod metrics_layer;
pub mod native;
pub mod overload;
pub mod qumulo;
pub mod render;
pub mod security_headers;
pub mod ssf;
pub mod state;
pub mod status;
pub mod vsphere;

pub use state::AppState;

use axum::Router;

/// The whole application router. Each dialect owns its prefix and its own fallback, so that
/// even the framework's rejections come back in that dialect's error format; so does the
/// 503 of the global load shedding (`overload`).
pub fn app(state: AppState) -> Router {
    let body_limit = state.body_limit;
    let tls = state.tls;
    let max_in_flight = state.max_in_flight;
    let request_timeout = state.request_timeout;
    let routes = Router::new()
        .merge(health::router())
        .nest("/api/v1", native::router())
        .nest("/v1", qumulo::router())
        .nest("/sdk/vim25/{release}", vsphere::router())
        .merge(vsphere::soap::router())
        .nest("/v3", dds::router())
        .merge(dds::slash_root())
        .nest("/webconsole/api", commvault::router())
        .nest("/commandcenter/api", commvault::router())
        .merge(commvault::slash_roots())
        .merge(ssf::router())
        .merge(docs::router())
        .merge(console::router())
        .fallback(native::error::not_found_fallback)
        .layer(axum::middleware::from_fn(metrics_layer::track))
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        .with_state(state);
    // Outermost, so that even the load shedding's 503 carries them.
    overload::shed_beyond(max_in_flight, request_timeout, routes).layer(
        axum::middleware::map_response(move |r| security_headers::add(r, tls)),
    )
}
