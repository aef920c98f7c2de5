//! The core error type: what a rule refused and why, mapped once by each dialect.

use crate::domain::Privilege;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("authentication required")]
    Unauthenticated,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("missing privilege {}", .0.as_str())]
    Forbidden(Privilege),
    /// Unknown, or in a tenant the caller cannot see (the two are indistinguishable).
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("session has ended ({0})")]
    SessionEnded(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("the confirm token does not match this request")]
    ConfirmMismatch,
    /// Input that cannot be understood at all (bad identity string, malformed cursor).
    #[error("{0}")]
    BadRequest(String),
    /// Input understood but with invalid values.
    #[error("invalid {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("too many attempts; retry in {retry_after_secs}s")]
    RateLimited { retry_after_secs: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl CoreError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        CoreError::Invalid {
            field,
            message: message.into(),
        }
    }

    /// The native API's stable error code (documented in docs/errors.md).
    pub fn code(&self) -> &'static str {
        match self {
            CoreError::Unauthenticated => "unauthenticated",
            CoreError::InvalidCredentials => "invalid_credentials",
            CoreError::Forbidden(_) => "forbidden",
            CoreError::NotFound("session") => "session_not_found",
            CoreError::NotFound("tenant") => "tenant_not_found",
            CoreError::NotFound("principal") => "principal_not_found",
            CoreError::NotFound("access key") => "access_key_not_found",
            CoreError::NotFound(_) => "not_found",
            CoreError::SessionEnded(_) => "session_ended",
            CoreError::Conflict(_) => "conflict",
            CoreError::ConfirmMismatch => "confirm_mismatch",
            CoreError::BadRequest(_) => "bad_request",
            CoreError::Invalid { .. } => "invalid_value",
            CoreError::RateLimited { .. } => "rate_limited",
            CoreError::Store(StoreError::Unavailable(_)) => "unavailable",
            CoreError::Store(StoreError::NotFound) => "not_found",
            CoreError::Store(StoreError::Conflict(_)) => "conflict",
            CoreError::Store(StoreError::Internal(_)) | CoreError::Internal(_) => "internal",
        }
    }
}

pub type CoreResult<T> = Result<T, CoreError>;
