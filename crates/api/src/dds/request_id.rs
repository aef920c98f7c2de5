//! `X-Request-Id` on every DDS answer: a fresh random id per request (32 lower-case hex
//! digits), as Huawei's gateway sends one. The SDK's exception handler copies it into every
//! `ClientRequestException`/`ServerResponseException` (`request_id`), which is what a user
//! quotes when reporting a failure, so no answer under `/v3` may lack it.

use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The header the SDK reads (`X-Request-Id`, or `x-request-id`; HTTP names are
/// case-insensitive and HTTP/1 writes this one lower case).
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Hex digits in an id (128 bits).
pub const LEN: usize = 32;

/// Fallback material if the OS random source ever fails: ids must still differ.
static COUNTER: AtomicU64 = AtomicU64::new(0);

fn random_bytes() -> [u8; 16] {
    let mut out = [0u8; 16];
    if getrandom::getrandom(&mut out).is_err() {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let seed = format!("{n}:{t}:{}", std::process::id());
        out.copy_from_slice(&Sha256::digest(seed.as_bytes())[..16]);
    }
    out
}

/// A new request id.
pub fn fresh() -> String {
    random_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Adds a fresh id to `resp` unless it has one already (an error rendered by
/// `DdsError::into_response` outside the router, such as the overload 503, brings its own).
pub fn stamp(resp: &mut Response) {
    if resp.headers().contains_key(HEADER) {
        return;
    }
    if let Ok(v) = HeaderValue::from_str(&fresh()) {
        resp.headers_mut().insert(HEADER, v);
    }
}

/// The router's middleware form of [`stamp`]: every answer of the DDS routes and fallbacks.
pub async fn layer(mut resp: Response) -> Response {
    stamp(&mut resp);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_hex_digits_and_differ() {
        let (a, b) = (fresh(), fresh());
        assert_eq!(a.len(), LEN);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
        let mut r = Response::new(axum::body::Body::empty());
        stamp(&mut r);
        let first = r.headers().get(HEADER).cloned();
        stamp(&mut r);
        assert!(first.is_some());
        assert_eq!(r.headers().get(HEADER), first.as_ref());
        assert_eq!(r.headers().get_all(HEADER).iter().count(), 1);
    }
}
