//! Commvault's generic error answer `{errorCode, errorMessage}` (XML
//! `<Api_GenericResp errorCode="…" errorMessage="…" />`) and its HTTP statuses: the one place
//! where core errors, body rejections and routing failures become Commvault answers.
//!
//! Error codes: 5 is Commvault's documented "Access denied" (its 401 answer is
//! `{"errorMessage":"Access denied","errorCode":5}`), used here for 401 and 403. The others
//! are sessiond's own, kept small and stable: 1 internal, unavailable or overloaded, 2 invalid request
//! (400, 413, 415), 3 no such endpoint or method (404, 405), 6 too many attempts (429).
//! A failed Login is not an error here: it is a 200 with `errList` (see `login.rs`), whose
//! entries carry code 5 too. Messages are bounded (`render::respond`), so a huge name in a
//! bad body is never echoed back whole.

use super::format::XmlOut;
use super::xml::XmlError;
use crate::extract::BodyError;
use crate::render::{self, ErrorAnswer};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sessiond_core::{CoreError, StoreError};

pub const ERR_INTERNAL: i64 = 1;
pub const ERR_INVALID_REQUEST: i64 = 2;
pub const ERR_NO_ENDPOINT: i64 = 3;
pub const ERR_ACCESS_DENIED: i64 = 5;
pub const ERR_TOO_MANY_ATTEMPTS: i64 = 6;

/// The message of every 401, as Commvault words it.
pub const ACCESS_DENIED: &str = "Access denied";

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
    /// Shed by the global in-flight limit (`crate::overload`).
    #[error("{}", render::OVERLOADED)]
    Overloaded,
    #[error("{}", render::TIMED_OUT)]
    TimedOut,
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

impl ErrorAnswer for CvError {
    type Body = ErrorBody;

    fn status(&self) -> StatusCode {
        match self {
            CvError::Core(e) => crate::status::of_without_422(e),
            CvError::Body(b) => match b {
                BodyError::Syntax(_) | BodyError::Data(_) | BodyError::Read(_) => {
                    StatusCode::BAD_REQUEST
                }
                BodyError::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                BodyError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            },
            CvError::Xml(_) | CvError::BadRequest(_) => StatusCode::BAD_REQUEST,
            CvError::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            CvError::RouteNotFound(_) => StatusCode::NOT_FOUND,
            CvError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            CvError::Overloaded | CvError::TimedOut => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            CvError::Core(e) => render::core_retry_after(e),
            CvError::Overloaded | CvError::TimedOut => Some(1),
            _ => None,
        }
    }

    fn message(&self) -> String {
        match self {
            // Commvault's exact 401 body is `{"errorMessage":"Access denied","errorCode":5}`.
            CvError::Core(CoreError::Unauthenticated | CoreError::InvalidCredentials) => {
                ACCESS_DENIED.to_string()
            }
            CvError::Core(CoreError::Forbidden(p)) => {
                format!("Access denied: this operation needs {}", p.as_str())
            }
            CvError::Core(e) => {
                render::server_failure(e, "commvault").unwrap_or_else(|| e.to_string())
            }
            CvError::Body(BodyError::TooLarge) => {
                "request body too large (the limit is 8 MiB by default)".to_string()
            }
            _ => self.to_string(),
        }
    }

    fn body(&self, error_message: String) -> ErrorBody {
        ErrorBody {
            error_code: self.code(),
            error_message,
        }
    }
}

impl CvError {
    /// The Commvault error code of the body (see the module's table).
    fn code(&self) -> i64 {
        match self {
            CvError::Core(CoreError::Unauthenticated | CoreError::InvalidCredentials)
            | CvError::Core(CoreError::Forbidden(_)) => ERR_ACCESS_DENIED,
            CvError::Core(CoreError::RateLimited { .. }) => ERR_TOO_MANY_ATTEMPTS,
            CvError::Core(_) if self.status().is_server_error() => ERR_INTERNAL,
            CvError::Core(CoreError::NotFound(_) | CoreError::Store(StoreError::NotFound)) => {
                ERR_NO_ENDPOINT
            }
            CvError::Core(_)
            | CvError::Body(_)
            | CvError::Xml(_)
            | CvError::ContentType
            | CvError::BadRequest(_) => ERR_INVALID_REQUEST,
            CvError::RouteNotFound(_) | CvError::MethodNotAllowed => ERR_NO_ENDPOINT,
            CvError::Overloaded | CvError::TimedOut => ERR_INTERNAL,
        }
    }
}

impl IntoResponse for CvError {
    fn into_response(self) -> Response {
        render::respond(&self)
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
        let parts = |e: CvError| (e.status(), e.code(), e.message());
        let (s, c, m) = parts(CvError::Core(CoreError::Unauthenticated));
        assert_eq!((s, c), (StatusCode::UNAUTHORIZED, ERR_ACCESS_DENIED));
        assert_eq!(m, ACCESS_DENIED);
        let (s, c, m) = parts(CvError::Core(CoreError::Forbidden(
            Privilege::SessionsTerminate,
        )));
        assert_eq!((s, c), (StatusCode::FORBIDDEN, ERR_ACCESS_DENIED));
        assert!(m.contains("Sessions.TerminateSession"), "{m}");
        let (s, _, _) = parts(CvError::Xml(XmlError::DocType));
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let (s, _, _) = parts(CvError::Body(BodyError::TooLarge));
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
        let (s, c, m) = parts(CvError::Core(CoreError::Internal("secret detail".into())));
        assert_eq!((s, c), (StatusCode::INTERNAL_SERVER_ERROR, ERR_INTERNAL));
        assert!(!m.contains("secret"));
        let (_, c, _) = parts(CvError::Core(CoreError::NotFound("session")));
        assert_eq!(c, ERR_NO_ENDPOINT);
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
