//! The native API's error body `{"error":{"code","message"}}` and its status codes: the one
//! place where core errors and request rejections become HTTP answers (docs/errors.md).

use crate::extract::BodyError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sessiond_core::wire::{ErrorBody, ErrorDetail};
use sessiond_core::{CoreError, StoreError};

#[derive(Debug)]
pub enum ApiError {
    Core(CoreError),
    Body(BodyError),
    RouteNotFound,
    MethodNotAllowed,
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        ApiError::Core(e)
    }
}

impl From<BodyError> for ApiError {
    fn from(e: BodyError) -> Self {
        ApiError::Body(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Core(CoreError::Store(e))
    }
}

impl ApiError {
    /// Status, stable code and message shown to the client.
    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            ApiError::Core(e) => {
                let status = crate::status::of(e);
                let message = if status.is_server_error() {
                    // Details of internal failures go to the log, not to the client.
                    tracing::error!(error = %e, "request failed");
                    if status == StatusCode::SERVICE_UNAVAILABLE {
                        "the store is unavailable; retry shortly".to_string()
                    } else {
                        "internal error".to_string()
                    }
                } else {
                    e.to_string()
                };
                (status, e.code(), message)
            }
            ApiError::Body(b) => match b {
                BodyError::Syntax(_) | BodyError::Read(_) => {
                    (StatusCode::BAD_REQUEST, "bad_request", b.to_string())
                }
                BodyError::Data(_) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_value",
                    b.to_string(),
                ),
                BodyError::ContentType => (
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    b.to_string(),
                ),
                BodyError::TooLarge => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    b.to_string(),
                ),
            },
            ApiError::RouteNotFound => (
                StatusCode::NOT_FOUND,
                "route_not_found",
                "no such endpoint".to_string(),
            ),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this endpoint".to_string(),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_string(),
                message,
            },
        };
        let mut resp = (status, Json(body)).into_response();
        let h = resp.headers_mut();
        match &self {
            ApiError::Core(CoreError::Unauthenticated | CoreError::InvalidCredentials) => {
                h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::Core(CoreError::RateLimited { retry_after_secs }) => {
                if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    h.insert(header::RETRY_AFTER, v);
                }
            }
            ApiError::Core(CoreError::Store(StoreError::Unavailable(_))) => {
                h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        resp
    }
}

pub async fn not_found_fallback() -> ApiError {
    ApiError::RouteNotFound
}

pub async fn method_not_allowed_fallback() -> ApiError {
    ApiError::MethodNotAllowed
}

pub type ApiResult<T> = Result<T, ApiError>;
