//! The native API's error body `{"error":{"code","message"}}` and its status codes: the one
//! place where core errors and request rejections become HTTP answers (docs/errors.md).

use crate::extract::BodyError;
use crate::render::{self, ErrorAnswer};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sessiond_core::wire::{ErrorBody, ErrorDetail};
use sessiond_core::{CoreError, StoreError};

#[derive(Debug)]
pub enum ApiError {
    Core(CoreError),
    Body(BodyError),
    RouteNotFound,
    MethodNotAllowed,
    /// Shed by the global in-flight limit (`crate::overload`).
    Overloaded,
    /// Outlived the request timeout (`crate::overload`).
    TimedOut,
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

impl ErrorAnswer for ApiError {
    type Body = ErrorBody;

    fn status(&self) -> StatusCode {
        match self {
            ApiError::Core(e) => crate::status::of(e),
            ApiError::Body(b) => match b {
                BodyError::Syntax(_) | BodyError::Read(_) => StatusCode::BAD_REQUEST,
                BodyError::Data(_) => StatusCode::UNPROCESSABLE_ENTITY,
                BodyError::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                BodyError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            },
            ApiError::RouteNotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Overloaded | ApiError::TimedOut => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::Core(e) => render::core_retry_after(e),
            ApiError::Overloaded | ApiError::TimedOut => Some(1),
            _ => None,
        }
    }

    fn challenge(&self) -> Option<&'static str> {
        matches!(
            self,
            ApiError::Core(CoreError::Unauthenticated | CoreError::InvalidCredentials)
        )
        .then_some("Bearer")
    }

    fn message(&self) -> String {
        match self {
            ApiError::Core(e) => {
                render::server_failure(e, "native").unwrap_or_else(|| e.to_string())
            }
            ApiError::Body(b) => b.to_string(),
            ApiError::RouteNotFound => "no such endpoint".to_string(),
            ApiError::MethodNotAllowed => "method not allowed on this endpoint".to_string(),
            ApiError::Overloaded => render::OVERLOADED.to_string(),
            ApiError::TimedOut => render::TIMED_OUT.to_string(),
        }
    }

    fn body(&self, message: String) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code().to_string(),
                message,
            },
        }
    }
}

impl ApiError {
    /// The stable code of the body (docs/errors.md).
    fn code(&self) -> &'static str {
        match self {
            ApiError::Core(e) => e.code(),
            ApiError::Body(b) => match b {
                BodyError::Syntax(_) | BodyError::Read(_) => "bad_request",
                BodyError::Data(_) => "invalid_value",
                BodyError::ContentType => "unsupported_media_type",
                BodyError::TooLarge => "payload_too_large",
            },
            ApiError::RouteNotFound => "route_not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Overloaded => "overloaded",
            ApiError::TimedOut => "timeout",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        render::respond(&self)
    }
}

pub async fn not_found_fallback() -> ApiError {
    ApiError::RouteNotFound
}

pub async fn method_not_allowed_fallback() -> ApiError {
    ApiError::MethodNotAllowed
}

pub type ApiResult<T> = Result<T, ApiError>;
