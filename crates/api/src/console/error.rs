//! The console's one error type and how it becomes a page: a login redirect, or an HTML
//! message with the status the native API would give for the same core error.

use super::view::{self, ErrorFragment, ErrorPage};
use crate::native::ApiError;
use crate::render;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sessiond_core::CoreError;

#[derive(Debug)]
pub enum ConsoleError {
    /// No console cookie, or its login session has ended: go to the login page.
    LoginNeeded,
    /// A state change without the session's CSRF token (or with another one).
    Csrf,
    /// A form that could not be read (not urlencoded, a field missing or malformed).
    Form(String),
    Core(CoreError),
    /// The native API's parsing of list parameters, reused as is.
    Api(ApiError),
    /// A template failed to render (a bug: logged, shown as an internal error).
    Render(String),
}

impl From<CoreError> for ConsoleError {
    fn from(e: CoreError) -> Self {
        ConsoleError::Core(e)
    }
}

impl From<ApiError> for ConsoleError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Core(c) => ConsoleError::Core(c),
            other => ConsoleError::Api(other),
        }
    }
}

impl From<askama::Error> for ConsoleError {
    fn from(e: askama::Error) -> Self {
        ConsoleError::Render(e.to_string())
    }
}

impl ConsoleError {
    pub fn status(&self) -> StatusCode {
        match self {
            ConsoleError::LoginNeeded => StatusCode::UNAUTHORIZED,
            ConsoleError::Csrf => StatusCode::FORBIDDEN,
            ConsoleError::Form(_) => StatusCode::BAD_REQUEST,
            ConsoleError::Core(e) => crate::status::of(e),
            ConsoleError::Api(e) => render::ErrorAnswer::status(e),
            ConsoleError::Render(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the operator reads; server failures are logged and not detailed.
    pub fn message(&self) -> String {
        match self {
            ConsoleError::LoginNeeded => "your console session has ended; log in again".into(),
            ConsoleError::Csrf => {
                "this form is stale or did not come from the console; reload the page".into()
            }
            ConsoleError::Form(m) => m.clone(),
            ConsoleError::Core(CoreError::Forbidden(p)) => {
                format!("your role does not allow this (it needs {})", p.as_str())
            }
            ConsoleError::Core(e) => {
                render::server_failure(e, "console").unwrap_or_else(|| e.to_string())
            }
            ConsoleError::Api(e) => render::ErrorAnswer::message(e),
            ConsoleError::Render(m) => {
                tracing::error!(error = %m, "console: rendering a page failed");
                "internal error".into()
            }
        }
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        if let ConsoleError::LoginNeeded = self {
            return view::see_other("/console/login");
        }
        let status = self.status();
        let page = ErrorPage {
            nav: None,
            status: status.as_u16(),
            message: self.message(),
        };
        let r = view::html(&page).into_response();
        self.finish(r)
    }
}

impl ConsoleError {
    /// Status and `Retry-After` onto a rendered error.
    fn finish(&self, mut r: Response) -> Response {
        *r.status_mut() = self.status();
        if let ConsoleError::Core(e) = self {
            if let Some(s) = render::core_retry_after(e) {
                if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
        }
        r
    }
}

pub type ConsoleResult<T> = Result<T, ConsoleError>;

/// The same error answering an htmx request: a fragment swapped into the page's result
/// region instead of a whole page.
#[derive(Debug)]
pub struct FragmentError(pub ConsoleError);

impl From<ConsoleError> for FragmentError {
    fn from(e: ConsoleError) -> Self {
        FragmentError(e)
    }
}

impl From<CoreError> for FragmentError {
    fn from(e: CoreError) -> Self {
        FragmentError(e.into())
    }
}

impl From<ApiError> for FragmentError {
    fn from(e: ApiError) -> Self {
        FragmentError(e.into())
    }
}

impl IntoResponse for FragmentError {
    fn into_response(self) -> Response {
        let e = self.0;
        if let ConsoleError::LoginNeeded = e {
            // htmx would follow a 303 silently and swap the login page into the result
            // region; HX-Redirect makes it navigate instead.
            return (
                StatusCode::UNAUTHORIZED,
                [("hx-redirect", "/console/login")],
                e.message(),
            )
                .into_response();
        }
        let r = view::html(&ErrorFragment {
            status: e.status().as_u16(),
            message: e.message(),
        });
        e.finish(r)
    }
}

pub type FragmentResult = Result<Response, FragmentError>;
