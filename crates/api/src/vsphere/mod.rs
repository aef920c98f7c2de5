//! vSphere SessionManager JSON dialect under `/sdk/vim25/{release}` (seed 002). Being built.

use crate::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
}
