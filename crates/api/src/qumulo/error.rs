//! Qumulo's error body `{module, error_class, description, stack, user_visible}` and its HTTP
//! codes: the one place where core errors and request rejections become Qumulo answers.
//!
//! `qq` parses every error body as JSON and prints `Error <code>: <error_class>: <description>`,
//! so even the framework's own rejections (unknown route, wrong method, 413, 415) come here.

use crate::extract::BodyError;
use crate::render::{self, ErrorAnswer};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sessiond_core::{CoreError, StoreError};

/// The `module` of every error body: Qumulo names the server component that raised it.
const MODULE: &str = "sessiond.qumulo";

#[derive(Debug, thiserror::Error)]
pub enum QumuloError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error(transparent)]
    Body(#[from] BodyError),
    /// Input the dialect itself refuses (query parameters, the close body's shape).
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

impl From<StoreError> for QumuloError {
    fn from(e: StoreError) -> Self {
        QumuloError::Core(CoreError::Store(e))
    }
}

/// Qumulo's error body (seen in `qumulo.lib.request.RequestError`).
#[derive(Clone, Debug, Serialize)]
pub struct ErrorBody {
    pub module: &'static str,
    pub error_class: &'static str,
    pub description: String,
    pub stack: Vec<String>,
    pub user_visible: bool,
}

/// Qumulo's `http_*_error` class of a status. Every Qumulo class ends in `_error` and clients
/// match on the full name (qumulo-api 7.10.2.1 `rest/tree_delete.py` compares with
/// `http_not_found_error`), so a class without the suffix is one no client recognises.
/// Qumulo has no 422: invalid values are 400.
fn class_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "http_bad_request_error",
        StatusCode::UNAUTHORIZED => "http_unauthorized_error",
        StatusCode::FORBIDDEN => "http_forbidden_error",
        StatusCode::NOT_FOUND => "http_not_found_error",
        StatusCode::METHOD_NOT_ALLOWED => "http_method_not_allowed_error",
        StatusCode::CONFLICT => "http_conflict_error",
        StatusCode::PAYLOAD_TOO_LARGE => "http_request_entity_too_large_error",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "http_unsupported_media_type_error",
        StatusCode::TOO_MANY_REQUESTS => "http_too_many_requests_error",
        StatusCode::SERVICE_UNAVAILABLE => "http_service_unavailable_error",
        _ => "http_internal_server_error",
    }
}

impl ErrorAnswer for QumuloError {
    type Body = ErrorBody;

    fn status(&self) -> StatusCode {
        match self {
            QumuloError::Core(e) => crate::status::of_without_422(e),
            QumuloError::Body(b) => match b {
                BodyError::Syntax(_) | BodyError::Read(_) | BodyError::Data(_) => {
                    StatusCode::BAD_REQUEST
                }
                BodyError::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                BodyError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            },
            QumuloError::BadRequest(_) => StatusCode::BAD_REQUEST,
            QumuloError::RouteNotFound(_) => StatusCode::NOT_FOUND,
            QumuloError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            QumuloError::Overloaded | QumuloError::TimedOut => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            QumuloError::Core(e) => render::core_retry_after(e),
            QumuloError::Overloaded | QumuloError::TimedOut => Some(1),
            _ => None,
        }
    }

    fn challenge(&self) -> Option<&'static str> {
        matches!(
            self,
            QumuloError::Core(CoreError::Unauthenticated | CoreError::InvalidCredentials)
        )
        .then_some("Bearer")
    }

    fn message(&self) -> String {
        match self {
            // qq shows this and the user knows what to do next.
            QumuloError::Core(CoreError::Unauthenticated) => {
                "Need to log in first to establish credentials.".to_string()
            }
            QumuloError::Core(e) => {
                render::server_failure(e, "qumulo").unwrap_or_else(|| e.to_string())
            }
            _ => self.to_string(),
        }
    }

    fn body(&self, description: String) -> ErrorBody {
        ErrorBody {
            module: MODULE,
            error_class: class_of(self.status()),
            description,
            stack: Vec::new(),
            user_visible: true,
        }
    }
}

impl IntoResponse for QumuloError {
    fn into_response(self) -> Response {
        render::respond(&self)
    }
}

/// Unknown paths under `/v1`. The list lives at `/v1/smb/sessions/` (with the slash qq
/// sends); the path without it gets a hint rather than a bare 404.
pub async fn not_found_fallback(uri: axum::extract::OriginalUri) -> QumuloError {
    let path = uri.path();
    let hint = if path == "/v1/smb/sessions" {
        " (the SMB sessions list is /v1/smb/sessions/)"
    } else {
        ""
    };
    QumuloError::RouteNotFound(format!("no such endpoint: {path}{hint}"))
}

pub async fn method_not_allowed_fallback() -> QumuloError {
    QumuloError::MethodNotAllowed
}

pub type QumuloResult<T> = Result<T, QumuloError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_values_are_400_as_qumulo_has_no_422() {
        let e = QumuloError::Core(CoreError::invalid("limit", "x"));
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        let e = QumuloError::Body(BodyError::Data("x".into()));
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        let e = QumuloError::Body(BodyError::TooLarge);
        assert_eq!(class_of(e.status()), "http_request_entity_too_large_error");
    }

    #[test]
    fn every_class_ends_in_error() {
        for code in [
            400u16, 401, 403, 404, 405, 409, 413, 415, 429, 500, 502, 503,
        ] {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::IM_A_TEAPOT);
            let class = class_of(status);
            assert!(
                class.starts_with("http_") && class.ends_with("_error"),
                "{code}: {class}"
            );
        }
    }
}
