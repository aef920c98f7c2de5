//! The one renderer of error answers. Each dialect's error type says what differs (status,
//! retry hint, challenge, message, body shape) through [`ErrorAnswer`]; [`respond`] builds
//! every response the same way: status, `Retry-After`, `WWW-Authenticate`, a JSON body
//! around a length-bounded message.

use crate::status;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sessiond_core::{CoreError, StoreError};

/// Longest message an error answer carries; longer ones are cut and end in `…`, so that a
/// huge value in a bad request is never echoed back whole.
pub const MAX_MESSAGE_CHARS: usize = 512;

/// What a dialect's error type tells the renderer.
pub trait ErrorAnswer {
    /// The dialect's error body. It is also left in the response's extensions, so that a
    /// layer can re-encode it (Commvault answers XML when `Accept` asks for it).
    type Body: Serialize + Clone + Send + Sync + 'static;

    fn status(&self) -> StatusCode;

    /// Seconds for `Retry-After`, when the client should come back later.
    fn retry_after(&self) -> Option<u64>;

    /// The `WWW-Authenticate` challenge of a 401, for dialects that send one.
    fn challenge(&self) -> Option<&'static str> {
        None
    }

    /// The message shown to the client (unbounded; [`respond`] bounds it). Server failures
    /// are logged here and shown as a generic text (see [`server_failure`]).
    fn message(&self) -> String;

    /// The dialect's body around the bounded message.
    fn body(&self, message: String) -> Self::Body;
}

/// The response of an error answer.
pub fn respond<E: ErrorAnswer>(e: &E) -> Response {
    let body = e.body(bounded(e.message()));
    let mut resp = (e.status(), axum::Json(body.clone())).into_response();
    let h = resp.headers_mut();
    if let Some(secs) = e.retry_after() {
        h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if let Some(challenge) = e.challenge() {
        h.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    resp.extensions_mut().insert(body);
    resp
}

/// The message of the global load shedding's 503 (`crate::overload`), in every dialect.
pub const OVERLOADED: &str = "server overloaded; retry shortly";
/// The message of a request that outlived `--request-timeout`.
pub const TIMED_OUT: &str =
    "the request took longer than the server allows; retry, or ask for less at once";

/// `m` cut to [`MAX_MESSAGE_CHARS`] characters (plus `…` when cut).
pub fn bounded(mut m: String) -> String {
    if let Some((i, _)) = m.char_indices().nth(MAX_MESSAGE_CHARS) {
        m.truncate(i);
        m.push('…');
    }
    m
}

/// `Retry-After` of a core error: a login backoff's own delay, one second for an
/// unavailable store.
pub fn core_retry_after(e: &CoreError) -> Option<u64> {
    match e {
        CoreError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
        CoreError::Store(StoreError::Unavailable(_)) => Some(1),
        _ => None,
    }
}

/// The message of a core error that is the server's failure, not the client's: the details
/// go to the log, the client gets a generic text. `None` for every other error.
pub fn server_failure(e: &CoreError, dialect: &'static str) -> Option<String> {
    let status = status::of(e);
    if !status.is_server_error() {
        return None;
    }
    tracing::error!(error = %e, dialect, "request failed");
    Some(if status == StatusCode::SERVICE_UNAVAILABLE {
        "the store is unavailable; retry shortly".to_string()
    } else {
        "internal error".to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_bounded() {
        assert_eq!(bounded("short".into()), "short");
        let exact = "x".repeat(MAX_MESSAGE_CHARS);
        assert_eq!(bounded(exact.clone()), exact);
        let long = bounded(format!("unknown element <{}>", "é".repeat(10_000)));
        assert_eq!(long.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn server_failures_hide_their_details() {
        let e = CoreError::Internal("secret detail".into());
        assert_eq!(server_failure(&e, "t").as_deref(), Some("internal error"));
        let u = CoreError::Store(StoreError::Unavailable("down".into()));
        assert_eq!(
            server_failure(&u, "t").as_deref(),
            Some("the store is unavailable; retry shortly")
        );
        assert_eq!(core_retry_after(&u), Some(1));
        assert_eq!(server_failure(&CoreError::Unauthenticated, "t"), None);
    }
}
