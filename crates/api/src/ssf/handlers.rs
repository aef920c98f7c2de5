//! The SSF endpoints: each reads its input, asks the registry, and (for SETs) signs.

use super::SsfState;
use crate::extract::{query_params, Json as Body};
use crate::native::error::{ApiError, ApiResult};
use crate::native::Authed;
use crate::AppState;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use sessiond_core::registry::{Poll, StreamRequest, StreamStatus, StreamView};
use sessiond_core::sinks::SinkStatus;
use sessiond_core::ssf::{POLL, PUSH};
use sessiond_core::CoreError;
use std::time::Duration;

type In<T> = Body<T, ApiError>;

/// Longest a poll that does not return immediately waits for a SET.
const POLL_WAIT: Duration = Duration::from_secs(10);
/// Most SETs one poll answers.
const MAX_POLL: usize = 1000;

fn ssf(st: &AppState) -> ApiResult<&SsfState> {
    st.ssf.as_deref().ok_or_else(|| {
        ApiError::Core(CoreError::Store(sessiond_core::StoreError::Unavailable(
            "this server has no event-signing key; SSF is off".into(),
        )))
    })
}

/// The issuer: the configured public URL, or this request's scheme and host. A `Host`
/// that is not a plain host[:port] is refused rather than echoed into documents.
fn issuer(s: &SsfState, headers: &HeaderMap) -> ApiResult<String> {
    if let Some(i) = &s.issuer {
        return Ok(i.trim_end_matches('/').to_string());
    }
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .ok_or_else(|| CoreError::BadRequest("a Host header is required".into()))?;
    Ok(format!("{}://{host}", s.scheme))
}

pub async fn configuration(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let s = ssf(&st)?;
    let iss = issuer(s, &headers)?;
    Ok(Json(json!({
        "spec_version": "1_0",
        "issuer": iss,
        "jwks_uri": format!("{iss}/ssf/jwks.json"),
        "delivery_methods_supported": [PUSH, POLL],
        "configuration_endpoint": format!("{iss}/ssf/streams"),
        "status_endpoint": format!("{iss}/ssf/status"),
        "verification_endpoint": format!("{iss}/ssf/verify"),
        "authorization_schemes": [{"spec_urn": "urn:ietf:rfc:6749"}],
        "default_subjects": "ALL",
    })))
}

pub async fn jwks(State(st): State<AppState>) -> ApiResult<Json<Value>> {
    Ok(Json(ssf(&st)?.signer.jwks()))
}

/// `stream_id` from the query string (required for everything but listing).
fn stream_id(raw: Option<&str>) -> ApiResult<Option<String>> {
    Ok(query_params(raw, &["stream_id"])?.remove("stream_id"))
}

fn required(id: Option<String>) -> ApiResult<String> {
    id.ok_or_else(|| CoreError::BadRequest("stream_id is required".into()).into())
}

pub async fn create(
    State(st): State<AppState>,
    Authed(c): Authed,
    headers: HeaderMap,
    Body(req, _): In<StreamRequest>,
) -> ApiResult<(StatusCode, Json<StreamView>)> {
    let iss = issuer(ssf(&st)?, &headers)?;
    Ok((
        StatusCode::CREATED,
        Json(st.registry.create_stream(&c, &iss, req).await?),
    ))
}

/// One stream (`?stream_id=`), or every stream of the caller's tenant.
pub async fn read(
    State(st): State<AppState>,
    Authed(c): Authed,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    ssf(&st)?;
    Ok(match stream_id(raw.as_deref())? {
        Some(id) => Json(st.registry.get_stream(&c, &id).await?).into_response(),
        None => Json(st.registry.list_streams(&c).await?).into_response(),
    })
}

/// An update names its stream in the body (SSF 1.0 §8.1.1.3).
#[derive(Deserialize)]
pub struct StreamUpdate {
    stream_id: String,
    #[serde(flatten)]
    rest: StreamRequest,
}

pub async fn update(
    State(st): State<AppState>,
    Authed(c): Authed,
    Body(req, _): In<StreamUpdate>,
) -> ApiResult<Json<StreamView>> {
    ssf(&st)?;
    Ok(Json(
        st.registry
            .update_stream(&c, &req.stream_id, req.rest, false)
            .await?,
    ))
}

pub async fn replace(
    State(st): State<AppState>,
    Authed(c): Authed,
    Body(req, _): In<StreamUpdate>,
) -> ApiResult<Json<StreamView>> {
    ssf(&st)?;
    Ok(Json(
        st.registry
            .update_stream(&c, &req.stream_id, req.rest, true)
            .await?,
    ))
}

pub async fn delete(
    State(st): State<AppState>,
    Authed(c): Authed,
    RawQuery(raw): RawQuery,
) -> ApiResult<StatusCode> {
    ssf(&st)?;
    let id = required(stream_id(raw.as_deref())?)?;
    st.registry.delete_stream(&c, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn status(
    State(st): State<AppState>,
    Authed(c): Authed,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<StreamStatus>> {
    ssf(&st)?;
    let id = required(stream_id(raw.as_deref())?)?;
    Ok(Json(st.registry.stream_status(&c, &id).await?))
}

#[derive(Deserialize)]
pub struct StatusUpdate {
    stream_id: String,
    status: SinkStatus,
    #[serde(default)]
    reason: Option<String>,
}

pub async fn set_status(
    State(st): State<AppState>,
    Authed(c): Authed,
    Body(req, _): In<StatusUpdate>,
) -> ApiResult<Json<StreamStatus>> {
    ssf(&st)?;
    Ok(Json(
        st.registry
            .set_stream_status(&c, &req.stream_id, req.status, req.reason)
            .await?,
    ))
}

#[derive(Deserialize)]
pub struct VerifyRequest {
    stream_id: String,
    #[serde(default)]
    state: Option<String>,
}

pub async fn verify(
    State(st): State<AppState>,
    Authed(c): Authed,
    Body(req, _): In<VerifyRequest>,
) -> ApiResult<StatusCode> {
    ssf(&st)?;
    st.registry
        .request_verification(&c, &req.stream_id, req.state)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An RFC 8936 poll request.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PollRequest {
    #[serde(default)]
    ack: Vec<String>,
    /// jti → {err, description}: SETs the receiver refused (not sent again; logged).
    #[serde(default)]
    set_errs: serde_json::Map<String, Value>,
    #[serde(default)]
    max_events: Option<usize>,
    #[serde(default)]
    return_immediately: bool,
}

pub async fn poll(
    State(st): State<AppState>,
    Authed(c): Authed,
    id: Result<Path<String>, PathRejection>,
    Body(req, _): In<PollRequest>,
) -> ApiResult<Json<Value>> {
    let s = ssf(&st)?.clone();
    let Path(id) = id.map_err(|_| ApiError::Core(CoreError::NotFound("stream")))?;
    for (jti, err) in &req.set_errs {
        tracing::info!(stream = %id, jti = %jti, error = %err, "SSF receiver refused a SET");
    }
    let errs: Vec<String> = req.set_errs.keys().cloned().collect();
    let max = req.max_events.unwrap_or(MAX_POLL).min(MAX_POLL);
    let wait = if req.return_immediately {
        Duration::ZERO
    } else {
        POLL_WAIT
    };
    let p = Poll {
        acks: req.ack,
        errs,
        max,
        wait,
    };
    let (sets, more) = st
        .registry
        .poll_stream(&c, &id, &p, sessiond_delivery::unix_now)
        .await?;
    let mut out = serde_json::Map::new();
    for (jti, claims) in sets {
        let token = s
            .signer
            .sign(&claims)
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        out.insert(jti, Value::String(token));
    }
    Ok(Json(json!({"sets": out, "moreAvailable": more})))
}
