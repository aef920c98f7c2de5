//! DDS error bodies `{"error_code","error_msg"}` and their HTTP codes: the one place where
//! core errors, signature failures and the framework's own rejections under `/v3` become
//! answers the Huawei SDK understands (it reads `error_code`/`error_msg` of any 4xx/5xx).
//!
//! Codes and statuses follow the published table of the DDS API reference (appendix "Error
//! Code"): `DBS.200001` 400 (bad parameter, unknown or inactive session), `DBS.200002` 404,
//! `DBS.200010` **400** "authentication failed: tenant and instance do not match" (a project
//! that is not the caller's), `DBS.200011` **403** "operation cannot be executed in the
//! current state", `DBS.200013` 404 "the node does not exist". The table has no 409 and no
//! separate "no privilege" code, so a core conflict and a missing privilege are both the
//! table's one 403, `DBS.200011`. For what the API gateway in front of DDS would refuse:
//! `APIGW.0301` 401 (authentication), `APIGW.0101` 404 (no such API: unknown path or method)
//! and `APIGW.0201` 413 (entity too large), from Huawei APIG's documented table. The code for
//! server failures (`DBS.200000`) is our choice, as no vendor page names one.
//!
//! Every answer rendered here carries a fresh `X-Request-Id` (see [`super::request_id`]).

use crate::extract::BodyError;
use crate::render::{self, ErrorAnswer};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sessiond_core::{CoreError, StoreError};

pub const PARAMETER_ERROR: &str = "DBS.200001";
pub const NOT_FOUND: &str = "DBS.200002";
pub const TENANT_MISMATCH: &str = "DBS.200010";
pub const REFUSED_IN_STATE: &str = "DBS.200011";
pub const NODE_NOT_FOUND: &str = "DBS.200013";
pub const SERVER_ERROR: &str = "DBS.200000";
pub const AUTH_FAILED: &str = "APIGW.0301";
pub const NO_SUCH_API: &str = "APIGW.0101";
pub const TOO_LARGE: &str = "APIGW.0201";
pub const THROTTLED: &str = "APIGW.0308";

#[derive(Debug, thiserror::Error)]
pub enum DdsError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error(transparent)]
    Body(#[from] BodyError),
    /// A request that is not authenticated: no credential, a bad token or a bad signature.
    #[error("{0}")]
    Auth(String),
    /// A parameter the dialect itself refuses (query, path, the body's shape, session ids).
    #[error("{0}")]
    BadRequest(String),
    /// The path's project is not the caller's: the same whether it exists or not.
    #[error("authentication failed: tenant and instance do not match")]
    ProjectMismatch,
    /// No session of this node was ever registered in the caller's tenant (as far as the
    /// store still holds them: see `super::sessions`).
    #[error("the node does not exist: {0:?}")]
    NodeNotFound(String),
    #[error("{0}")]
    NoSuchApi(String),
    /// Shed by the global in-flight limit (`crate::overload`).
    #[error("{}", render::OVERLOADED)]
    Overloaded,
    #[error("{}", render::TIMED_OUT)]
    TimedOut,
}

impl From<StoreError> for DdsError {
    fn from(e: StoreError) -> Self {
        DdsError::Core(CoreError::Store(e))
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct ErrorBody {
    pub error_code: &'static str,
    pub error_msg: String,
}

impl ErrorAnswer for DdsError {
    type Body = ErrorBody;

    fn status(&self) -> StatusCode {
        match self {
            // The vendor table has no 409: "cannot be executed in the current state" is 403.
            DdsError::Core(e) => match crate::status::of_without_422(e) {
                StatusCode::CONFLICT => StatusCode::FORBIDDEN,
                s => s,
            },
            // The DDS code table has no 415: a body that is not JSON is a parameter error.
            DdsError::Body(BodyError::TooLarge) => StatusCode::PAYLOAD_TOO_LARGE,
            DdsError::Body(_) | DdsError::BadRequest(_) => StatusCode::BAD_REQUEST,
            DdsError::Auth(_) => StatusCode::UNAUTHORIZED,
            DdsError::ProjectMismatch => StatusCode::BAD_REQUEST,
            DdsError::NoSuchApi(_) | DdsError::NodeNotFound(_) => StatusCode::NOT_FOUND,
            DdsError::Overloaded | DdsError::TimedOut => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            DdsError::Core(e) => render::core_retry_after(e),
            DdsError::Overloaded | DdsError::TimedOut => Some(1),
            _ => None,
        }
    }

    fn message(&self) -> String {
        match self {
            DdsError::Core(e) => render::server_failure(e, "dds").unwrap_or_else(|| {
                if self.status() == StatusCode::UNAUTHORIZED {
                    "Incorrect IAM authentication information: the token is invalid or has expired"
                        .to_string()
                } else {
                    e.to_string()
                }
            }),
            DdsError::Body(BodyError::TooLarge) => "Request entity too large".to_string(),
            DdsError::Auth(m) => format!("Incorrect IAM authentication information: {m}"),
            _ => self.to_string(),
        }
    }

    fn body(&self, error_msg: String) -> ErrorBody {
        ErrorBody {
            error_code: self.code(),
            error_msg,
        }
    }
}

impl DdsError {
    /// The DDS (or API gateway) error code of the body.
    fn code(&self) -> &'static str {
        match self {
            DdsError::Core(_) => match self.status() {
                StatusCode::UNAUTHORIZED => AUTH_FAILED,
                StatusCode::FORBIDDEN => REFUSED_IN_STATE,
                StatusCode::NOT_FOUND => NOT_FOUND,
                StatusCode::BAD_REQUEST => PARAMETER_ERROR,
                StatusCode::TOO_MANY_REQUESTS => THROTTLED,
                _ => SERVER_ERROR,
            },
            DdsError::Body(BodyError::TooLarge) => TOO_LARGE,
            DdsError::Body(_) | DdsError::BadRequest(_) => PARAMETER_ERROR,
            DdsError::Auth(_) => AUTH_FAILED,
            DdsError::ProjectMismatch => TENANT_MISMATCH,
            DdsError::NodeNotFound(_) => NODE_NOT_FOUND,
            DdsError::NoSuchApi(_) => NO_SUCH_API,
            DdsError::Overloaded | DdsError::TimedOut => SERVER_ERROR,
        }
    }
}

impl IntoResponse for DdsError {
    fn into_response(self) -> Response {
        // Also stamped here, not only by the router's layer: the overload 503 is rendered
        // outside every router (`crate::overload`).
        let mut resp = render::respond(&self);
        super::request_id::stamp(&mut resp);
        resp
    }
}

/// Unknown paths under `/v3`: the gateway's "no such API".
pub async fn not_found_fallback(uri: axum::extract::OriginalUri) -> DdsError {
    DdsError::NoSuchApi(format!(
        "The API does not exist or has not been published in the environment: {}",
        uri.path()
    ))
}

/// A known path with another method. The gateway routes on method and path together, so
/// this too is "no such API" (404), as Huawei APIG answers it.
pub async fn method_not_allowed_fallback(
    method: axum::http::Method,
    uri: axum::extract::OriginalUri,
) -> DdsError {
    DdsError::NoSuchApi(format!(
        "The API does not exist or has not been published in the environment: {method} {}",
        uri.path()
    ))
}

pub type DdsResult<T> = Result<T, DdsError>;

#[cfg(test)]
mod tests {
    use super::super::request_id::HEADER;
    use super::*;

    #[test]
    fn dds_error_codes_and_statuses() {
        let cases: Vec<(DdsError, u16, &str)> = vec![
            (
                CoreError::invalid("limit", "x").into(),
                400,
                PARAMETER_ERROR,
            ),
            (BodyError::Syntax("x".into()).into(), 400, PARAMETER_ERROR),
            (BodyError::ContentType.into(), 400, PARAMETER_ERROR),
            (BodyError::TooLarge.into(), 413, TOO_LARGE),
            (CoreError::Unauthenticated.into(), 401, AUTH_FAILED),
            (DdsError::Auth("x".into()), 401, AUTH_FAILED),
            (
                CoreError::Forbidden(sessiond_core::Privilege::SessionsTerminate).into(),
                403,
                REFUSED_IN_STATE,
            ),
            (DdsError::ProjectMismatch, 400, TENANT_MISMATCH),
            (DdsError::NodeNotFound("n".into()), 404, NODE_NOT_FOUND),
            (CoreError::NotFound("session").into(), 404, NOT_FOUND),
            (
                CoreError::Conflict("x".into()).into(),
                403,
                REFUSED_IN_STATE,
            ),
            (DdsError::NoSuchApi("x".into()), 404, NO_SUCH_API),
            (
                CoreError::Internal("secret detail".into()).into(),
                500,
                SERVER_ERROR,
            ),
        ];
        for (e, status, code) in cases {
            let (s, c, m) = (e.status(), e.code(), e.message());
            assert_eq!((s.as_u16(), c), (status, code), "{e:?}");
            assert!(!m.is_empty());
            assert!(!m.contains("secret detail"), "{m}");
            assert!(e.into_response().headers().contains_key(HEADER));
        }
    }
}
