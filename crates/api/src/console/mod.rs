//! The web console under `/console/`: server-rendered pages (askama templates, htmx for the
//! parts that update in place), every asset embedded in the binary, a cookie backed by a
//! sessiond login session, CSRF tokens on every state change and a strict CSP. It calls the
//! same `Registry` as the API, so roles and tenant scope apply exactly as there.

mod admin;
mod assets;
mod auth;
mod error;
mod live;
mod login;
mod overview;
mod sessions;
mod view;

use crate::AppState;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

/// Scripts, styles, images, connections (the event stream) and forms: this origin only; no
/// framing. htmx runs under it because the pages turn off its eval and inline styles.
const CSP: &str = "default-src 'self'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'; object-src 'none'";

async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    // nosniff and no-store (pages carry the CSRF token) come from the layer every dialect
    // shares, `crate::security_headers`.
    r
}

async fn to_root() -> Response {
    view::see_other("/console/")
}

async fn not_found() -> error::ConsoleError {
    error::ConsoleError::Core(sessiond_core::CoreError::NotFound("page"))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(to_root))
        .route("/console/", get(overview::page))
        .route("/console/login", get(login::form).post(login::submit))
        .route("/console/logout", post(login::logout))
        .route("/console/sessions", get(sessions::page))
        .route("/console/sessions/table", get(sessions::table_fragment))
        .route("/console/sessions/preview", post(sessions::preview))
        .route("/console/sessions/terminate", post(sessions::terminate))
        .route(
            "/console/sessions/terminate-matching",
            post(sessions::terminate_matching),
        )
        .route("/console/sessions/{id}", get(sessions::detail))
        .route("/console/events", get(live::events))
        .route("/console/admin", get(admin::page))
        .route("/console/admin/tenants", post(admin::create_tenant))
        .route("/console/admin/principals", post(admin::create_principal))
        .route(
            "/console/admin/principals/{name}",
            get(admin::keys).post(admin::update_principal),
        )
        .route(
            "/console/admin/principals/{name}/keys",
            post(admin::create_key),
        )
        .route(
            "/console/admin/principals/{name}/keys/{key}/delete",
            post(admin::delete_key),
        )
        .route("/console/admin/webhooks", post(admin::create_webhook))
        .route("/console/admin/webhooks/{id}", post(admin::update_webhook))
        .route("/console/assets/{name}", get(assets::serve))
        .route("/console/{*rest}", get(not_found))
        .layer(axum::middleware::map_response(security_headers))
}
