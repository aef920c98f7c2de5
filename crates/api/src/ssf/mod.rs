//! The OpenID Shared Signals (SSF 1.0) transmitter: `/.well-known/ssf-configuration`, the
//! JWKS, stream management (create, read, update, replace, delete), status, verification,
//! and RFC 8936 polling. Receivers authenticate with a sessiond principal's bearer token
//! (header only); errors are the native API's.

mod handlers;

use crate::AppState;
use axum::routing::{get, post};
use axum::Router;
use sessiond_delivery::signer::EventSigner;
use std::sync::Arc;

/// What the transmitter needs besides the registry.
#[derive(Clone, Debug)]
pub struct SsfState {
    pub signer: Arc<EventSigner>,
    /// The issuer (`--public-url`); without it, the scheme and `Host` of each request.
    pub issuer: Option<String>,
    /// `https` or `http`: what this server listens with.
    pub scheme: &'static str,
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/ssf-configuration",
            get(handlers::configuration),
        )
        .route("/ssf/jwks.json", get(handlers::jwks))
        .route(
            "/ssf/streams",
            post(handlers::create)
                .get(handlers::read)
                .patch(handlers::update)
                .put(handlers::replace)
                .delete(handlers::delete),
        )
        .route(
            "/ssf/status",
            get(handlers::status).post(handlers::set_status),
        )
        .route("/ssf/verify", post(handlers::verify))
        .route("/ssf/poll/{stream_id}", post(handlers::poll))
}
