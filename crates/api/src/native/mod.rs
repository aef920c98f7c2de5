//! The native JSON API under `/api/v1` (DESIGN.md §4).

mod admin;
mod auth;
pub mod error;
mod events;
mod login;
pub mod openapi;
mod sessions;
mod webhooks;

pub use auth::Authed;
pub use error::ApiError;
pub(crate) use events::follow as event_stream;
pub(crate) use sessions::list_params;

use crate::AppState;
use axum::routing::{delete, get, post};
use axum::Router;

async fn openapi_json() -> axum::Json<utoipa::openapi::OpenApi> {
    use utoipa::OpenApi;
    axum::Json(openapi::ApiDoc::openapi())
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login::login))
        .route("/auth/logout", post(login::logout))
        .route("/auth/whoami", get(login::whoami))
        .route("/events", get(events::stream))
        .route("/sessions", post(sessions::register).get(sessions::list))
        .route("/sessions/validate", post(sessions::validate))
        .route("/sessions/terminate", post(sessions::terminate_bulk))
        .route(
            "/sessions/{id}",
            get(sessions::get)
                .patch(sessions::patch)
                .delete(sessions::terminate_one),
        )
        .route("/sessions/{id}/touch", post(sessions::touch))
        .route("/sessions/{id}/close", post(sessions::close))
        .route(
            "/tenants",
            get(admin::list_tenants).post(admin::create_tenant),
        )
        .route(
            "/principals",
            get(admin::list_principals).post(admin::create_principal),
        )
        .route(
            "/principals/{name}",
            get(admin::get_principal).patch(admin::update_principal),
        )
        .route(
            "/principals/{name}/access-keys",
            get(admin::list_access_keys).post(admin::create_access_key),
        )
        .route(
            "/principals/{name}/access-keys/{access_key}",
            delete(admin::delete_access_key),
        )
        .route("/webhooks", post(webhooks::create).get(webhooks::list))
        .route(
            "/webhooks/{id}",
            get(webhooks::get)
                .patch(webhooks::update)
                .delete(webhooks::delete),
        )
        .route("/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route("/webhooks/{id}/test", post(webhooks::test))
        .route("/openapi.json", get(openapi_json))
        .fallback(error::not_found_fallback)
        .method_not_allowed_fallback(error::method_not_allowed_fallback)
}
