//! Commvault's generic error answer `{errorCode, errorMessage}` (XML
//! `<Api_GenericResp errorCode="…" errorMessage="…" />`) and its HTTP statuses: the one place
//! where core errors, body rejections and routing failures become Commvault answers.
//!
//! Error codes: 5 is Commvault's documented "Access denied" (its 401 answer is
//! `{"errorMessage":"Access denied","errorCode":5}`), used here for 401 and 403. The others
//! are sessiond's own, kept small and stable: 1 internal or unavailable, 2 invalid request
//! (400, 413, 415), 3 no such endpoint or method (404, 405), 6 too many attempts (429).
//! A failed Login is not an error here: it is a 200 with `errList` (see `login.rs`), whose
//! entries carry code 5 too. Messages are bounded, so a huge name in a bad body is never
//! echoed back whole.

use super::format::XmlOut;
use super::xml::XmlError;
use crate::extract::BodyError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sessiond_core::{CoreError, StoreError};

pub const ERR_INTERNAL: i64 = 1;
pub const ERR_INVALID_REQUEST: i64 = 2;
pub const ERR_NO_ENDPOINT: i64 = 3;
pub const ERR_ACCESS_DENIED: i64 = 5;
pub const ERR_TOO_MANY_ATTEMPTS: i64 = 6;

#[derive(Debug, thiserror::Error)]
pub enum CvError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error(transparent)]
    Body(#[from] BodyError),
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("expected Content-Type: application/json or application/xml")]
    ContentType,
    /// A document that parsed but is not the request this endpoint takes.
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    RouteNotFound(String),
    #[error("method not allowed on this endpoint")]
    MethodNotAllowed,
}

/// The body of every error answer; also attached to the response as an extension, so that
/// `format::negotiate` can re-render it as XML.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub error_code: i64,
    pub error_message: String,
}

impl ErrorBody {
    pub fn to_xml(&self) -> XmlOut {
        XmlOut::new("Api_GenericResp")
            .attr("errorCode", self.error_code)
            .attr("errorMessage", &self.error_message)
    }
}

impl CvError {
    /// Status, Commvault error code and message shown to the client.
    fn parts(&self) -> (StatusCode, i64, String) {
        match self {
            CvError::Core(e) => {
                let status = crate::status::of_without_422(e);
                let (code, message) = match e {
                    CoreError::Unauthenticated | CoreError::InvalidCredentials => (
                        ERR_ACCESS_DENIED,
                        "Access denied: the Authtoken is missing, invalid or no longer valid"
                            .to_string(),
                    ),
                    CoreError::Forbidden(p) => (
                        ERR_ACCESS_DENIED,
                        format!("Access denied: this operation needs {}", p.as_str()),
                    ),
                    CoreError::RateLimited { .. } => (ERR_TOO_MANY_ATTEMPTS, e.to_string()),
                    _ if status == StatusCode::SERVICE_UNAVAILABLE => {
                        tracing::error!(error = %e, "commvault request failed");
                        (
                            ERR_INTERNAL,
                            "the store is unavailable; retry shortly".to_string(),
                        )
                    }
                    // Details of internal failures go to the log, not to the client.
                    _ if status.is_server_error() => {
                        tracing::error!(error = %e, "commvault request failed");
                        (ERR_INTERNAL, "internal error".to_string())
                    }
                    CoreError::NotFound(_) | CoreError::Store(StoreError::NotFound) => {
                        (ERR_NO_ENDPOINT, e.to_string())
                    }
                    _ => (ERR_INVALID_REQUEST, e.to_string()),
                };
                (status, code, message)
            }
            CvError::Body(b) => {
                let status = match b {
                    BodyError::Syntax(_) | BodyError::Data(_) | BodyError::Read(_) => {
                        StatusCode::BAD_REQUEST
                    }
                    BodyError::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    BodyError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                };
                let message = match b {
                    BodyError::TooLarge => {
                        "request body too large (the limit is 8 MiB by default)".to_string()
                    }
                    _ => b.to_string(),
                };
                (status, ERR_INVALID_REQUEST, message)
            }
            CvError::Xml(x) => (StatusCode::BAD_REQUEST, ERR_INVALID_REQUEST, x.to_string()),
            CvError::ContentType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ERR_INVALID_REQUEST,
                self.to_string(),
            ),
            CvError::BadRequest(m) => (StatusCode::BAD_REQUEST, ERR_INVALID_REQUEST, m.clone()),
            CvError::RouteNotFound(m) => (StatusCode::NOT_FOUND, ERR_NO_ENDPOINT, m.clone()),
            CvError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                ERR_NO_ENDPOINT,
                self.to_string(),
            ),
        }
    }
}

/// Longest message an error answer carries.
const MAX_MESSAGE_CHARS: usize = 512;

fn bounded(mut m: String) -> String {
    if let Some((i, _)) = m.char_indices().nth(MAX_MESSAGE_CHARS) {
        m.truncate(i);
        m.push('…');
    }
    m
}

impl IntoResponse for CvError {
    fn into_response(self) -> Response {
        let (status, error_code, error_message) = self.parts();
        let error_message = bounded(error_message);
        let body = ErrorBody {
            error_code,
            error_message,
        };
        let mut resp = (status, axum::Json(body.clone())).into_response();
        resp.extensions_mut().insert(body);
        let h = resp.headers_mut();
        match &self {
            CvError::Core(CoreError::RateLimited { retry_after_secs }) => {
                if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    h.insert(header::RETRY_AFTER, v);
                }
            }
            CvError::Core(CoreError::Store(StoreError::Unavailable(_))) => {
                h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        resp
    }
}

/// Unknown paths under either root.
pub async fn not_found_fallback(uri: axum::extract::OriginalUri) -> CvError {
    let path: String = uri.path().chars().take(256).collect();
    CvError::RouteNotFound(format!("no such endpoint: {path}"))
}

pub async fn method_not_allowed_fallback() -> CvError {
    CvError::MethodNotAllowed
}

pub type CvResult<T> = Result<T, CvError>;

#[cfg(test)]
mod tests {
    use super::*;
    use sessiond_core::Privilege;

    #[test]
    fn statuses_and_codes() {
        let (s, c, m) = CvError::Core(CoreError::Unauthenticated).parts();
        assert_eq!((s, c), (StatusCode::UNAUTHORIZED, ERR_ACCESS_DENIED));
        assert!(m.starts_with("Access denied"));
        let (s, c, m) = CvError::Core(CoreError::Forbidden(Privilege::SessionsTerminate)).parts();
        assert_eq!((s, c), (StatusCode::FORBIDDEN, ERR_ACCESS_DENIED));
        assert!(m.contains("Sessions.TerminateSession"), "{m}");
        let (s, _, _) = CvError::Xml(XmlError::DocType).parts();
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let (s, _, _) = CvError::Body(BodyError::TooLarge).parts();
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
        let (s, _, m) = CvError::Core(CoreError::Internal("secret detail".into())).parts();
        assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!m.contains("secret"));
    }

    #[test]
    fn messages_are_bounded() {
        assert_eq!(bounded("short".into()), "short");
        let long = bounded(format!("unknown element <{}>", "é".repeat(10_000)));
        assert_eq!(long.chars().count(), MAX_MESSAGE_CHARS + 1);
    }

    #[test]
    fn xml_error_body() {
        let b = ErrorBody {
            error_code: 5,
            error_message: "Access denied".into(),
        };
        assert_eq!(
            b.to_xml().to_string(),
            "<Api_GenericResp errorCode=\"5\" errorMessage=\"Access denied\" />"
        );
    }
}
