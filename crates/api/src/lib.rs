//! sessiond's HTTP surface: the native API, health and metrics endpoints, and (one module
//! each) the vendor dialects, all calling the one `Registry` in core.

pub mod bearer;
pub mod client_addr;
pub mod commvault;
pub mod dds;
pub mod extract;
pub mod health;
pub mod metrics_layer;
pub mod native;
pub mod qumulo;
pub mod render;
pub mod state;
pub mod status;
pub mod vsphere;

pub use state::AppState;

use axum::Router;

/// Requests beyond the in-flight limit are refused at once with 503 and `Retry-After`,
/// rather than queueing until every caller times out.
async fn overloaded(_: tower::BoxError) -> axum::response::Response {
    use axum::response::IntoResponse;
    let body = sessiond_core::wire::ErrorBody {
        error: sessiond_core::wire::ErrorDetail {
            code: "overloaded".into(),
            message: "server overloaded; retry shortly".into(),
        },
    };
    (
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        [(axum::http::header::RETRY_AFTER, "1")],
        axum::Json(body),
    )
        .into_response()
}

/// The API reference page, rendered by Scalar from the OpenAPI document.
fn docs() -> Router<AppState> {
    use utoipa::OpenApi;
    use utoipa_scalar::Servable;
    Router::new().merge(utoipa_scalar::Scalar::with_url(
        "/api/docs",
        native::openapi::ApiDoc::openapi(),
    ))
}

/// The whole application router. Each dialect owns its prefix and its own fallback, so that
/// even the framework's rejections come back in that dialect's error format.
pub fn app(state: AppState) -> Router {
    let body_limit = state.body_limit;
    Router::new()
        .merge(health::router())
        .nest("/api/v1", native::router())
        .nest("/v1", qumulo::router())
        .nest("/sdk/vim25/{release}", vsphere::router())
        .nest("/v3", dds::router())
        .merge(dds::slash_root())
        .nest("/webconsole/api", commvault::router())
        .nest("/commandcenter/api", commvault::router())
        .merge(commvault::slash_roots())
        .merge(docs())
        .fallback(native::error::not_found_fallback)
        .layer(
            tower::ServiceBuilder::new()
                .layer(axum::error_handling::HandleErrorLayer::new(overloaded))
                .load_shed()
                .concurrency_limit(state.max_in_flight),
        )
        .layer(axum::middleware::from_fn(metrics_layer::track))
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        .with_state(state)
}
