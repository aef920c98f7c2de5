//! Qumulo SMB sessions dialect under `/v1` (seeds 000, 001; DESIGN.md §5). Being built.

use crate::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
}
