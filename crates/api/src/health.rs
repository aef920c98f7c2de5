//! `/healthz` (process up), `/readyz` (store reachable) and `/metrics` (Prometheus).

use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sessiond_core::filter::{SessionFilter, TenantScope};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(st): State<AppState>) -> Response {
    match st.registry.store().ping().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "1")],
                "store unavailable\n",
            )
                .into_response()
        }
    }
}

/// Whether a scrape may read `/metrics`: always without a configured token; otherwise only
/// with `Authorization: Bearer <token>` (compared as hashes, in constant time).
fn scrape_allowed(st: &AppState, headers: &HeaderMap) -> bool {
    use sha2::{Digest, Sha256};
    use subtle::ConstantTimeEq;
    let Some(want) = &st.metrics_token else {
        return true;
    };
    let Some(sent) = crate::bearer::token(headers) else {
        return false;
    };
    let got: [u8; 32] = Sha256::digest(sent.as_bytes()).into();
    bool::from(got.ct_eq(want))
}

async fn metrics(State(st): State<AppState>, headers: HeaderMap) -> Response {
    if !scrape_allowed(&st, &headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "metrics need the scrape token\n",
        )
            .into_response();
    }
    let Some(handle) = &st.metrics else {
        return (StatusCode::NOT_FOUND, "metrics recorder not installed\n").into_response();
    };
    // Live sessions are counted at scrape time from the store (an index count), so the
    // gauge is right on every replica sharing one store.
    let all = SessionFilter {
        tenant: Some(TenantScope::All),
        ..SessionFilter::default()
    };
    match st.registry.store().count_sessions(&all).await {
        Ok(n) => metrics::gauge!("sessiond_sessions_live").set(n as f64),
        Err(e) => tracing::warn!(error = %e, "live session count failed"),
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}
