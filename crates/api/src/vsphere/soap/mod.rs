//! vSphere SessionManager over SOAP at `/sdk`, for pyvmomi (issue 9; DESIGN.md §5;
//! shared/protocols/vsphere-soap.md): the versions document, `POST /sdk` with the method
//! table of `methods.rs`, and SOAP faults (HTTP 500) for everything else under `/sdk` that
//! the VI/JSON dialect under `/sdk/vim25/{release}` does not own.
//!
//! One core path, two encodings: the operations are in `super::ops`, the faults are the shared
//! `Fault` table of `error.rs`; this module only reads and writes XML.

mod envelope;
mod faults;
mod fetch;
mod methods;
mod objects;
mod session;

use crate::client_addr::Origin;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{OriginalUri, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use faults::SoapFault;

/// The VI/JSON dialect's prefix (`crate::app` nests it at `/sdk/vim25/{release}`).
const JSON_PREFIX: &str = "/sdk/vim25/";

/// Routes with absolute paths, merged beside the JSON dialect's nest in `crate::app`: every
/// method is routed to a handler, so that no framework 404/405 ever leaves `/sdk`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sdk", any(post_sdk))
        .route("/sdk/", any(unknown))
        .route("/sdk/vimServiceVersions.xml", any(versions))
        .route("/sdk/{*rest}", any(unknown))
}

/// `POST /sdk`: one SOAP call. Body rejections (too large, unreadable) and malformed XML are
/// InvalidRequest faults, never the framework's own statuses.
async fn post_sdk(
    State(st): State<AppState>,
    method: Method,
    headers: HeaderMap,
    origin: Origin,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if method != Method::POST {
        return not_allowed(&method).into_response();
    }
    let body = match body {
        Ok(b) => b,
        Err(e) => return SoapFault::invalid_request(e.body_text()).into_response(),
    };
    let call = match envelope::parse_call(&body) {
        Ok(c) => c,
        Err(f) => return f.into_response(),
    };
    let ctx = session::Ctx {
        st,
        origin,
        token: session::cookie_token(&headers),
    };
    match methods::dispatch(&ctx, &call).await {
        Ok(a) => a.into_response(),
        Err(f) => f.into_response(),
    }
}

fn not_allowed(method: &Method) -> SoapFault {
    SoapFault::invalid_request(format!("method {method} is not allowed on this endpoint"))
}

/// `GET /sdk/vimServiceVersions.xml`, the document SmartConnect negotiates the release from.
async fn versions(method: Method) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return not_allowed(&method).into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(envelope::CONTENT_TYPE),
        )],
        objects::versions_document(),
    )
        .into_response()
}

/// Any other path under `/sdk`: a fault, as SOAP clients parse one. The router may pick this
/// catch-all over the JSON nest's own tail catch-all for paths under `/sdk/vim25/` it could
/// not route (matchit backtracks to the shallower wildcard), so those go to the JSON
/// dialect's fallback here, which answers them exactly as the nest would.
async fn unknown(uri: OriginalUri) -> Response {
    if uri.path().starts_with(JSON_PREFIX) {
        return super::route::fallback(uri).await.into_response();
    }
    SoapFault::invalid_request("no such endpoint under /sdk".into()).into_response()
}

/// The 503 of the global load shedding for SOAP paths, as pyvmomi can read it: a SystemError
/// fault with HTTP 500 (it parses only 200 and 500); `crate::overload` answers it on `/sdk`
/// paths outside `/sdk/vim25/`.
pub fn overloaded() -> Response {
    SoapFault::from(super::Fault::overloaded()).into_response()
}

pub fn timed_out() -> Response {
    SoapFault::from(super::Fault::timed_out()).into_response()
}
