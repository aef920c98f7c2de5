//! AK/SK request signing (`SDK-HMAC-SHA256`) exactly as the `Signer` of the official
//! `huaweicloudsdkcore` Python package computes it (DESIGN.md §5), so that the unmodified SDK
//! pointed at sessiond is accepted. Pure: no I/O and no clock; `auth.rs` checks freshness and
//! resolves the access key.
//!
//! ```text
//! CanonicalRequest = METHOD \n URI \n QUERY \n HEADERS \n SIGNED \n hex(sha256(body))
//! StringToSign     = "SDK-HMAC-SHA256" \n X-Sdk-Date \n hex(sha256(CanonicalRequest))
//! Signature        = hex(HMAC-SHA256(SK, StringToSign))
//! ```
//!
//! The SDK canonicalises its own parameters before it sends them; the server can only
//! canonicalise what arrived. Both meet in the middle: the server decodes the wire form and
//! re-encodes it the SDK's way (Python's `quote(s, safe='~')`), so any wire spelling of the
//! same values signs the same, and the handler reads the very pairs that were verified.

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sessiond_core::ids::hex;
use sessiond_core::Timestamp;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
/// The signing time, `%Y%m%dT%H%M%SZ` (UTC).
pub const DATE_HEADER: &str = "x-sdk-date";
/// Set by the SDK to `UNSIGNED-PAYLOAD` for bodies it does not hash; refused here.
pub const CONTENT_SHA_HEADER: &str = "x-sdk-content-sha256";
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// A longer header is not worth parsing (the SDK's is about 200 bytes).
const MAX_AUTHORIZATION: usize = 4096;
/// More signed headers than any real client sends.
const MAX_SIGNED_HEADERS: usize = 64;

/// Why a signature was not accepted. Every variant is an authentication failure; the text
/// says which part to fix, never what the right signature would be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("the Authorization header is not an SDK-HMAC-SHA256 signature")]
    Scheme,
    #[error("malformed Authorization header: {0}")]
    Malformed(&'static str),
    #[error("the {0} header must be signed")]
    NotSigned(&'static str),
    #[error("signed header {0:?} is missing from the request")]
    MissingHeader(String),
    #[error("signed header {0:?} appears more than once")]
    RepeatedHeader(String),
    #[error("the request signature does not match")]
    Mismatch,
}

/// The parts of an `Authorization: SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access_key: String,
    /// Lower-case header names in the order they were signed.
    pub signed_headers: Vec<String>,
    /// Lower-case hex.
    pub signature: String,
}

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses the header value. Each of the three fields must appear exactly once.
pub fn parse_authorization(value: &str) -> Result<Authorization, SignError> {
    if value.len() > MAX_AUTHORIZATION {
        return Err(SignError::Malformed("too long"));
    }
    let rest = value
        .strip_prefix(ALGORITHM)
        .filter(|r| r.starts_with([' ', '\t']))
        .ok_or(SignError::Scheme)?;
    let (mut access, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=').ok_or(SignError::Malformed(
            "expected Access=, SignedHeaders=, Signature=",
        ))?;
        let slot = match k.trim() {
            "Access" => &mut access,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            _ => return Err(SignError::Malformed("unknown field")),
        };
        if slot.replace(v.trim()).is_some() {
            return Err(SignError::Malformed("repeated field"));
        }
    }
    let access_key = access
        .filter(|a| !a.is_empty())
        .ok_or(SignError::Malformed("missing Access"))?;
    let signed = signed
        .filter(|s| !s.is_empty())
        .ok_or(SignError::Malformed("missing SignedHeaders"))?;
    let signature = signature
        .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or(SignError::Malformed("Signature must be 64 hex digits"))?;
    let signed_headers: Vec<String> = signed.split(';').map(str::to_ascii_lowercase).collect();
    if signed_headers.len() > MAX_SIGNED_HEADERS
        || signed_headers
            .iter()
            .any(|h| h.is_empty() || !h.bytes().all(is_token_char))
    {
        return Err(SignError::Malformed("bad SignedHeaders"));
    }
    Ok(Authorization {
        access_key: access_key.to_string(),
        signed_headers,
        signature: signature.to_ascii_lowercase(),
    })
}

/// Python's `quote(s, safe='~')`: unreserved `A-Za-z0-9-_.~` kept, every other byte of the
/// UTF-8 form as `%XX` in upper case.
fn encode(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Python's `unquote`: valid `%XX` escapes decoded, anything else kept literally, the bytes
/// read as UTF-8 with invalid sequences replaced. `+` stays `+` (this is a path).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex_val),
                b.get(i + 2).copied().and_then(hex_val),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The canonical URI: the path percent-decoded, split on `/`, each segment re-encoded, and
/// always ending in `/`.
pub fn canonical_uri(raw_path: &str) -> String {
    let decoded = percent_decode(raw_path);
    let mut out = String::with_capacity(decoded.len() + 1);
    for (i, seg) in decoded.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        encode(seg, &mut out);
    }
    if !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// The canonical query: decoded pairs sorted by key then value, each re-encoded, `k=v`
/// joined by `&` (empty when there are none).
pub fn canonical_query(pairs: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort();
    let mut out = String::new();
    for (i, (k, v)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode(k, &mut out);
        out.push('=');
        encode(v, &mut out);
    }
    out
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// The values of the signed headers, in signing order. Header values are bytes on the wire;
/// the SDK hashes the UTF-8 form of its strings, which is those same bytes, so they go into
/// the canonical request untranslated (trimmed, as the SDK's `strip()` does). Under HTTP/2
/// there is no `Host` header and `authority` stands in for it.
pub fn signed_header_values(
    headers: &HeaderMap,
    authority: Option<&str>,
    names: &[String],
) -> Result<Vec<(String, Vec<u8>)>, SignError> {
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let mut values = headers.get_all(name.as_str()).iter();
        let value = match (values.next(), values.next()) {
            (Some(v), None) => v.as_bytes().trim_ascii().to_vec(),
            (Some(_), Some(_)) => return Err(SignError::RepeatedHeader(name.clone())),
            (None, _) => match authority {
                Some(a) if name == "host" => a.trim().as_bytes().to_vec(),
                _ => return Err(SignError::MissingHeader(name.clone())),
            },
        };
        out.push((name.clone(), value));
    }
    Ok(out)
}

/// The canonical request as the SDK hashes it.
pub fn canonical_request(
    method: &str,
    raw_path: &str,
    query: &[(String, String)],
    signed: &[(String, Vec<u8>)],
    body: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(method.to_ascii_uppercase().as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_uri(raw_path).as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_query(query).as_bytes());
    out.push(b'\n');
    for (name, value) in signed {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        out.extend_from_slice(value);
        out.push(b'\n');
    }
    out.push(b'\n');
    let names: Vec<&str> = signed.iter().map(|(n, _)| n.as_str()).collect();
    out.extend_from_slice(names.join(";").as_bytes());
    out.push(b'\n');
    out.extend_from_slice(sha256_hex(body).as_bytes());
    out
}

pub fn string_to_sign(sdk_date: &str, canonical_request: &[u8]) -> String {
    format!("{ALGORITHM}\n{sdk_date}\n{}", sha256_hex(canonical_request))
}

/// Lower-case hex HMAC-SHA256 of the string to sign.
pub fn signature(secret: &[u8], string_to_sign: &str) -> String {
    // HMAC accepts keys of any length, so this never fails; an empty tag cannot match.
    match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(string_to_sign.as_bytes());
            hex(&mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// The parts of a request that a signature covers.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    pub method: &'a str,
    /// The path as it arrived (still percent-encoded).
    pub raw_path: &'a str,
    /// The decoded query pairs (the same ones the handler reads).
    pub query: &'a [(String, String)],
    pub headers: &'a HeaderMap,
    /// The URI's authority, for HTTP/2 requests that carry no `Host` header.
    pub authority: Option<&'a str>,
    pub body: &'a [u8],
}

/// The `X-Sdk-Date` of a request, exactly once.
pub fn sdk_date(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(DATE_HEADER).iter();
    match (values.next(), values.next()) {
        (Some(v), None) => v.to_str().ok().map(str::trim),
        _ => None,
    }
}

/// Checks `auth` against the request with `secret`, in constant time. The caller has
/// already checked the date's freshness and resolved the access key to `secret`.
pub fn verify(secret: &[u8], auth: &Authorization, req: &RequestView<'_>) -> Result<(), SignError> {
    for (name, label) in [("host", "Host"), (DATE_HEADER, "X-Sdk-Date")] {
        if !auth.signed_headers.iter().any(|h| h == name) {
            return Err(SignError::NotSigned(label));
        }
    }
    let date = sdk_date(req.headers).ok_or_else(|| SignError::MissingHeader(DATE_HEADER.into()))?;
    let signed = signed_header_values(req.headers, req.authority, &auth.signed_headers)?;
    let canonical = canonical_request(req.method, req.raw_path, req.query, &signed, req.body);
    let expected = signature(secret, &string_to_sign(date, &canonical));
    if bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes())) {
        Ok(())
    } else {
        Err(SignError::Mismatch)
    }
}

/// Signs a request the way the SDK does: every header whose name has no `_` is signed, in
/// sorted order. Returns the `Authorization` value. `headers` must already hold `Host` and
/// `X-Sdk-Date`. For clients and tests; the server only verifies.
pub fn sign(access_key: &str, secret: &[u8], req: &RequestView<'_>) -> Result<String, SignError> {
    let mut names: Vec<String> = req
        .headers
        .keys()
        .map(|k| k.as_str().to_ascii_lowercase())
        .filter(|k| !k.contains('_'))
        .collect();
    names.sort();
    names.dedup();
    let date = sdk_date(req.headers).ok_or_else(|| SignError::MissingHeader(DATE_HEADER.into()))?;
    let signed = signed_header_values(req.headers, req.authority, &names)?;
    let canonical = canonical_request(req.method, req.raw_path, req.query, &signed, req.body);
    let sig = signature(secret, &string_to_sign(date, &canonical));
    Ok(format!(
        "{ALGORITHM} Access={access_key}, SignedHeaders={}, Signature={sig}",
        names.join(";")
    ))
}

/// Parses `%Y%m%dT%H%M%SZ` (e.g. `20261123T143436Z`), the only form the SDK sends.
pub fn parse_sdk_date(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' || !digits(0..8) || !digits(9..15) {
        return None;
    }
    let rfc = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[9..11],
        &s[11..13],
        &s[13..15]
    );
    Timestamp::parse_rfc3339(&rfc).ok()
}

/// Formats a time as an `X-Sdk-Date` (whole seconds, UTC).
pub fn format_sdk_date(t: Timestamp) -> String {
    // `2026-11-23T14:34:36.123456Z` → `20261123T143436Z`
    let rfc = t.to_rfc3339();
    let whole = rfc.split('.').next().unwrap_or(&rfc).trim_end_matches('Z');
    let mut out: String = whole.chars().filter(|c| *c != '-' && *c != ':').collect();
    out.push('Z');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderName, HeaderValue};
    use serde_json::Value;

    const VECTORS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/vectors/dds-sdk-signing.json"
    );

    fn vectors() -> Value {
        let text = std::fs::read_to_string(VECTORS).unwrap_or_else(|e| {
            panic!(
                "the SDK's known-answer vectors are missing at {VECTORS} ({e}): CI runs with \
                 ../shared beside the clone; check it out there"
            )
        });
        serde_json::from_str(&text).expect("vectors are JSON")
    }

    fn header_map(v: &Value) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, val) in v.as_object().expect("headers object") {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).expect("header name"),
                HeaderValue::from_str(val.as_str().expect("header value")).expect("value"),
            );
        }
        h
    }

    /// Every case of the SDK's vectors: canonical request, string to sign, signature and
    /// the whole Authorization header; the verifier accepts it and refuses any change.
    #[test]
    fn dds_signing_reproduces_every_sdk_vector() {
        let v = vectors();
        assert_eq!(v["algorithm"], ALGORITHM);
        let ak = v["access_key"].as_str().expect("access_key");
        let sk = v["secret_key"].as_str().expect("secret_key").as_bytes();
        let cases = v["cases"].as_array().expect("cases");
        assert!(!cases.is_empty());
        for (n, c) in cases.iter().enumerate() {
            let method = c["method"].as_str().expect("method");
            let sent = c["path_as_sent"].as_str().expect("path_as_sent");
            let (path, raw_query) = match sent.split_once('?') {
                Some((p, q)) => (p, Some(q)),
                None => (sent, None),
            };
            let query = crate::extract::query_pairs(raw_query);
            // The wire form decodes to the pairs the SDK was given (in canonical order).
            let mut want: Vec<(String, String)> = c["query"]
                .as_array()
                .expect("query")
                .iter()
                .map(|p| {
                    (
                        p[0].as_str().expect("key").to_string(),
                        p[1].as_str().expect("value").to_string(),
                    )
                })
                .collect();
            want.sort();
            assert_eq!(query, want, "case {n}: query");
            let headers = header_map(&c["headers"]);
            let body = c["body"].as_str().expect("body").as_bytes();
            let auth_text = c["authorization"].as_str().expect("authorization");
            let auth = parse_authorization(auth_text).expect("parse authorization");
            assert_eq!(auth.access_key, ak);

            let signed =
                signed_header_values(&headers, None, &auth.signed_headers).expect("signed headers");
            let canonical = canonical_request(method, path, &query, &signed, body);
            assert_eq!(
                String::from_utf8_lossy(&canonical),
                c["canonical_request"].as_str().expect("canonical_request"),
                "case {n}: canonical request"
            );
            let date = sdk_date(&headers).expect("date");
            let sts = string_to_sign(date, &canonical);
            assert_eq!(sts, c["string_to_sign"].as_str().expect("sts"), "case {n}");
            assert_eq!(signature(sk, &sts), auth.signature, "case {n}: signature");

            let view = RequestView {
                method,
                raw_path: path,
                query: &query,
                headers: &headers,
                authority: None,
                body,
            };
            assert_eq!(
                sign(ak, sk, &view).as_deref(),
                Ok(auth_text),
                "case {n}: sign"
            );
            assert_eq!(verify(sk, &auth, &view), Ok(()), "case {n}: verify");

            // Any change to what was signed is refused.
            assert_eq!(
                verify(b"another-secret", &auth, &view),
                Err(SignError::Mismatch),
                "case {n}: wrong secret"
            );
            let mut tampered_body = body.to_vec();
            tampered_body.extend_from_slice(b" ");
            let t = RequestView {
                body: &tampered_body,
                ..view
            };
            assert_eq!(
                verify(sk, &auth, &t),
                Err(SignError::Mismatch),
                "case {n}: body"
            );
            let mut more = query.clone();
            more.push(("offset".into(), "7".into()));
            let t = RequestView {
                query: &more,
                ..view
            };
            assert_eq!(
                verify(sk, &auth, &t),
                Err(SignError::Mismatch),
                "case {n}: query"
            );
            let t = RequestView {
                raw_path: "/v3/other/nodes/x/sessions",
                ..view
            };
            assert_eq!(
                verify(sk, &auth, &t),
                Err(SignError::Mismatch),
                "case {n}: path"
            );
            let t = RequestView {
                method: if method == "GET" { "POST" } else { "GET" },
                ..view
            };
            assert_eq!(
                verify(sk, &auth, &t),
                Err(SignError::Mismatch),
                "case {n}: method"
            );
            let mut h2 = headers.clone();
            h2.insert("x-project-id", HeaderValue::from_static("someone-else"));
            let t = RequestView {
                headers: &h2,
                ..view
            };
            assert_eq!(
                verify(sk, &auth, &t),
                Err(SignError::Mismatch),
                "case {n}: header"
            );
        }
    }

    #[test]
    fn dds_canonical_uri_and_query_follow_python_quote() {
        assert_eq!(
            canonical_uri("/v3/p/nodes/n/sessions"),
            "/v3/p/nodes/n/sessions/"
        );
        assert_eq!(canonical_uri("/v3/p/"), "/v3/p/");
        assert_eq!(canonical_uri(""), "/");
        // Decoded first, then each segment re-encoded in upper case; `%2F` becomes a separator.
        assert_eq!(
            canonical_uri("/a%20b/c%2fd/e~f/g+h"),
            "/a%20b/c/d/e~f/g%2Bh/"
        );
        assert_eq!(canonical_uri("/%e4%b8%ad"), "/%E4%B8%AD/");
        // Invalid escapes stay literal; `%` itself is then encoded.
        assert_eq!(canonical_uri("/a%zz/%4"), "/a%25zz/%254/");
        let q = |p: &[(&str, &str)]| {
            canonical_query(
                &p.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(q(&[]), "");
        assert_eq!(
            q(&[
                ("type", "query"),
                ("limit", "5"),
                ("a", "x y/z"),
                ("a", "b")
            ]),
            "a=b&a=x%20y%2Fz&limit=5&type=query"
        );
        assert_eq!(q(&[("k", "~-_.*'()!")]), "k=~-_.%2A%27%28%29%21");
    }

    #[test]
    fn dds_authorization_header_parsing() {
        let ok = parse_authorization(
            "SDK-HMAC-SHA256 Access=AK1, SignedHeaders=Host;x-sdk-date, Signature=\
             0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
        )
        .expect("parse");
        assert_eq!(ok.access_key, "AK1");
        assert_eq!(ok.signed_headers, ["host", "x-sdk-date"]);
        assert!(ok.signature.bytes().all(|b| !b.is_ascii_uppercase()));
        let sig = "a".repeat(64);
        for bad in [
            String::new(),
            "Bearer x".into(),
            format!("SDK-HMAC-SHA256Access=a, SignedHeaders=host, Signature={sig}"),
            format!("SDK-HMAC-SM3 Access=a, SignedHeaders=host, Signature={sig}"),
            format!("SDK-HMAC-SHA256 SignedHeaders=host, Signature={sig}"),
            format!("SDK-HMAC-SHA256 Access=, SignedHeaders=host, Signature={sig}"),
            format!("SDK-HMAC-SHA256 Access=a, Signature={sig}"),
            "SDK-HMAC-SHA256 Access=a, SignedHeaders=host, Signature=abc".into(),
            format!("SDK-HMAC-SHA256 Access=a, Access=b, SignedHeaders=host, Signature={sig}"),
            format!("SDK-HMAC-SHA256 Access=a, SignedHeaders=host;;x, Signature={sig}"),
            format!("SDK-HMAC-SHA256 Access=a, SignedHeaders=ho st, Signature={sig}"),
            format!("SDK-HMAC-SHA256 Access=a, SignedHeaders=host, Signature={sig}, X=1"),
            format!(
                "SDK-HMAC-SHA256 Access=a, SignedHeaders=host, Signature={}",
                "g".repeat(64)
            ),
        ] {
            assert!(parse_authorization(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn dds_verify_requires_host_and_date_signed_and_present_once() {
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("127.0.0.1:8000"));
        h.insert(DATE_HEADER, HeaderValue::from_static("20261123T143436Z"));
        h.insert("content-type", HeaderValue::from_static("application/json"));
        let view = RequestView {
            method: "GET",
            raw_path: "/v3/p/nodes/n/sessions",
            query: &[],
            headers: &h,
            authority: None,
            body: b"",
        };
        let auth = parse_authorization(&sign("AK", b"sk", &view).expect("sign")).expect("parse");
        assert_eq!(auth.signed_headers, ["content-type", "host", DATE_HEADER]);
        assert_eq!(verify(b"sk", &auth, &view), Ok(()));
        for (drop, label) in [("host", "Host"), (DATE_HEADER, "X-Sdk-Date")] {
            let mut a = auth.clone();
            a.signed_headers.retain(|n| n != drop);
            assert_eq!(verify(b"sk", &a, &view), Err(SignError::NotSigned(label)));
        }
        // Under HTTP/2 the authority stands in for the Host header.
        let mut no_host = h.clone();
        no_host.remove("host");
        let v2 = RequestView {
            headers: &no_host,
            ..view
        };
        assert_eq!(
            verify(b"sk", &auth, &v2),
            Err(SignError::MissingHeader("host".into()))
        );
        let v2 = RequestView {
            authority: Some("127.0.0.1:8000"),
            ..v2
        };
        assert_eq!(verify(b"sk", &auth, &v2), Ok(()));
        let mut twice = h.clone();
        twice.append("content-type", HeaderValue::from_static("text/plain"));
        let v3 = RequestView {
            headers: &twice,
            ..view
        };
        assert_eq!(
            verify(b"sk", &auth, &v3),
            Err(SignError::RepeatedHeader("content-type".into()))
        );
        // Header values are trimmed as the SDK's strip() does.
        let mut padded = h.clone();
        padded.insert(
            "content-type",
            HeaderValue::from_static("  application/json "),
        );
        let v4 = RequestView {
            headers: &padded,
            ..view
        };
        assert_eq!(verify(b"sk", &auth, &v4), Ok(()));
    }

    #[test]
    fn dds_sdk_dates() {
        let t = parse_sdk_date("20261123T143436Z").expect("date");
        assert_eq!(t.to_rfc3339(), "2026-11-23T14:34:36.000000Z");
        assert_eq!(format_sdk_date(t), "20261123T143436Z");
        assert_eq!(
            format_sdk_date(t.plus(std::time::Duration::from_micros(999_999))),
            "20261123T143436Z"
        );
        for bad in [
            "",
            "20261123T143436",
            "2026-11-23T14:34:36Z",
            "20261323T143436Z",
            "20261123T253436Z",
            "20261123X143436Z",
            "2026112aT143436Z",
            "20261123T143436Z ",
        ] {
            assert_eq!(parse_sdk_date(bad), None, "{bad:?}");
        }
    }
}
