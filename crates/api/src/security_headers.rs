//! Headers on every answer of every dialect: `X-Content-Type-Options: nosniff`,
//! `Cache-Control: no-store` unless the handler chose (answers carry sessions, tokens and
//! secrets; only static assets say otherwise), and HSTS when served over TLS.

use axum::http::{header, HeaderValue};
use axum::response::Response;

/// A year, the usual HSTS lifetime; no `includeSubDomains`: sessiond does not own its
/// parent domain's other hosts.
const HSTS: &str = "max-age=31536000";

pub async fn add(mut r: Response, tls: bool) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    r
}
