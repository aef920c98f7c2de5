//! Body and query extractors whose rejections each dialect renders in its own error format
//! (axum's built-in ones answer in plain text, which no vendor client understands).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;

/// Why a request body or query could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("malformed JSON: {0}")]
    Syntax(String),
    #[error("invalid request body: {0}")]
    Data(String),
    #[error("expected Content-Type: application/json")]
    ContentType,
    #[error("request body too large")]
    TooLarge,
    #[error("could not read request body: {0}")]
    Read(String),
}

/// Whether the body is declared JSON (`application/json`, or an `application/…+json` type).
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
        .unwrap_or(false)
}

/// Parses JSON, telling syntax errors (400) from well-formed but wrong data (422).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BodyError> {
    serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => BodyError::Data(e.to_string()),
        _ => BodyError::Syntax(e.to_string()),
    })
}

/// The whole body, or why it cannot be read (too large, or a transport error).
pub async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, BodyError> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            BodyError::TooLarge
        } else {
            BodyError::Read(e.body_text())
        }
    })
}

/// A required JSON body; `E` is the dialect's error type.
pub struct Json<T, E>(pub T, pub PhantomData<E>);

impl<S, T, E> FromRequest<S> for Json<T, E>
where
    S: Send + Sync,
    T: DeserializeOwned,
    E: From<BodyError> + IntoResponse,
{
    type Rejection = E;

    async fn from_request(req: Request, state: &S) -> Result<Self, E> {
        Ok(Json(required_json(req, state, false).await?, PhantomData))
    }
}

/// The body of a required JSON extractor: declared JSON (or, if `untyped_ok`, declared as
/// nothing at all), read whole and parsed.
async fn required_json<S: Send + Sync, T: DeserializeOwned>(
    req: Request,
    state: &S,
    untyped_ok: bool,
) -> Result<T, BodyError> {
    let untyped = !req.headers().contains_key(header::CONTENT_TYPE);
    if !(is_json(req.headers()) || (untyped_ok && untyped)) {
        return Err(BodyError::ContentType);
    }
    parse_json(&read_body(req, state).await?)
}

/// A required JSON body that may also come without `Content-Type` (govmomi's VI/JSON client
/// sends none); any other declared media type is still refused.
pub struct JsonOrUntyped<T, E>(pub T, pub PhantomData<E>);

impl<S, T, E> FromRequest<S> for JsonOrUntyped<T, E>
where
    S: Send + Sync,
    T: DeserializeOwned,
    E: From<BodyError> + IntoResponse,
{
    type Rejection = E;

    async fn from_request(req: Request, state: &S) -> Result<Self, E> {
        Ok(JsonOrUntyped(
            required_json(req, state, true).await?,
            PhantomData,
        ))
    }
}

/// An optional JSON body: an empty body means `T::default()`.
pub struct OptionalJson<T, E>(pub T, pub PhantomData<E>);

impl<S, T, E> FromRequest<S> for OptionalJson<T, E>
where
    S: Send + Sync,
    T: DeserializeOwned + Default,
    E: From<BodyError> + IntoResponse,
{
    type Rejection = E;

    async fn from_request(req: Request, state: &S) -> Result<Self, E> {
        let json = is_json(req.headers());
        let bytes = read_body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default(), PhantomData));
        }
        if !json {
            return Err(BodyError::ContentType.into());
        }
        Ok(OptionalJson(parse_json(&bytes)?, PhantomData))
    }
}

/// Decodes a query string into name/value pairs (names may repeat). Invalid escapes are
/// kept literally and invalid UTF-8 is replaced, as browsers and form_urlencoded do.
pub fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// The query string's parameters by name (the native API's rule): each one of `known`, each
/// at most once; anything else is a 400 that names it.
pub fn query_params(
    raw: Option<&str>,
    known: &[&str],
) -> Result<std::collections::BTreeMap<String, String>, sessiond_core::CoreError> {
    use sessiond_core::CoreError;
    let mut out = std::collections::BTreeMap::new();
    for (k, v) in query_pairs(raw) {
        if !known.contains(&k.as_str()) {
            return Err(CoreError::BadRequest(format!(
                "unknown query parameter {k:?}"
            )));
        }
        if out.contains_key(&k) {
            return Err(CoreError::BadRequest(format!(
                "query parameter {k:?} given twice"
            )));
        }
        out.insert(k, v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs_decode_percent_and_plus() {
        let p = query_pairs(Some("identity=ad%3Aalice&x=a+b&flag"));
        assert_eq!(
            p,
            vec![
                ("identity".into(), "ad:alice".into()),
                ("x".into(), "a b".into()),
                ("flag".into(), String::new())
            ]
        );
        assert_eq!(query_pairs(Some("a=%zz")), vec![("a".into(), "%zz".into())]);
    }

    #[test]
    fn json_errors_are_classified() {
        assert!(matches!(
            parse_json::<Vec<u8>>(b"[1,"),
            Err(BodyError::Syntax(_))
        ));
        assert!(matches!(
            parse_json::<Vec<u8>>(b"[\"x\"]"),
            Err(BodyError::Data(_))
        ));
    }
}
