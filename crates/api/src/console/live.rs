//! `/console/events`: the native event stream for the console's live table, authenticated by
//! the console's cookie instead of a bearer token (an `EventSource` cannot send headers).

use super::auth::{cookie, ConsoleUser, SESSION_COOKIE};
use super::error::{ConsoleError, ConsoleResult};
use crate::AppState;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

pub async fn events(
    State(st): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ConsoleResult<Response> {
    let token = cookie(&headers, SESSION_COOKIE)
        .ok_or(ConsoleError::LoginNeeded)?
        .to_string();
    let sse = crate::native::event_stream(&st, user.caller, token, raw.as_deref(), &headers)
        .await
        .map_err(ConsoleError::from)?;
    Ok(sse.into_response())
}
