//! The one classification of core errors into HTTP statuses; each dialect's `error.rs`
//! turns the status into its vendor's code and body.

use axum::http::StatusCode;
use sessiond_core::{CoreError, StoreError};

/// The status of a core error as the native API answers it.
pub fn of(e: &CoreError) -> StatusCode {
    match e {
        CoreError::Unauthenticated | CoreError::InvalidCredentials => StatusCode::UNAUTHORIZED,
        CoreError::Forbidden(_) => StatusCode::FORBIDDEN,
        CoreError::NotFound(_) | CoreError::Store(StoreError::NotFound) => StatusCode::NOT_FOUND,
        CoreError::SessionEnded(_)
        | CoreError::Conflict(_)
        | CoreError::ConfirmMismatch
        | CoreError::Store(StoreError::Conflict(_)) => StatusCode::CONFLICT,
        CoreError::BadRequest(_) => StatusCode::BAD_REQUEST,
        CoreError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        CoreError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        CoreError::Store(StoreError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
        CoreError::Store(StoreError::Internal(_)) | CoreError::Internal(_) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

/// The same for vendor APIs that have no 422: invalid values are a bad request there.
pub fn of_without_422(e: &CoreError) -> StatusCode {
    match of(e) {
        StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
        s => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_values_are_422_natively_and_400_elsewhere() {
        let e = CoreError::invalid("x", "bad");
        assert_eq!(of(&e), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(of_without_422(&e), StatusCode::BAD_REQUEST);
        let u = CoreError::Store(StoreError::Unavailable("down".into()));
        assert_eq!(of_without_422(&u), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(of(&CoreError::ConfirmMismatch), StatusCode::CONFLICT);
    }
}
