//! Session endpoints: register, validate, touch, patch, close, get, list, terminate.

use super::error::{ApiError, ApiResult};
use super::Authed;
use crate::extract::{query_params, BodyError, Json as Body, OptionalJson};
use crate::AppState;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use sessiond_core::registry::{BulkTerminate, EndScope, ItemOutcome, ListRequest};
#[allow(unused_imports)]
use sessiond_core::wire::ErrorBody;
use sessiond_core::wire::{
    EndRequest, FilterParams, ItemResult, RegisterRequest, RegisterResponse, SessionPage,
    SessionPatch, TerminateRequest, TerminateResponse, ValidateRequest, LIST_PARAM_NAMES,
};
use sessiond_core::{CoreError, Session, SessionId};

type In<T> = Body<T, ApiError>;

/// A session id from the path; anything malformed is simply not found.
fn session_id(p: Result<Path<String>, PathRejection>) -> ApiResult<SessionId> {
    p.ok()
        .and_then(|Path(s)| SessionId::parse(&s))
        .ok_or(ApiError::Core(CoreError::NotFound("session")))
}

#[utoipa::path(post, path = "/api/v1/sessions", tag = "sessions", request_body = RegisterRequest, responses((status = 201, body = RegisterResponse), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "missing privilege", body = ErrorBody), (status = 409, description = "duplicate live external_id", body = ErrorBody), (status = 422, description = "invalid values", body = ErrorBody)), security(("bearer" = [])))]
pub async fn register(
    State(st): State<AppState>,
    Authed(caller): Authed,
    Body(req, _): In<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<RegisterResponse>)> {
    let (session, token) = st.registry.register(&caller, req).await?;
    Ok((
        StatusCode::CREATED,
        Json(RegisterResponse {
            session,
            token: token.expose().to_string(),
        }),
    ))
}

#[utoipa::path(post, path = "/api/v1/sessions/validate", tag = "sessions", request_body = ValidateRequest, responses((status = 200, body = Session), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "missing privilege", body = ErrorBody), (status = 404, description = "unknown, ended or expired", body = ErrorBody)), security(("bearer" = [])))]
pub async fn validate(
    State(st): State<AppState>,
    Authed(caller): Authed,
    Body(req, _): In<ValidateRequest>,
) -> ApiResult<Json<Session>> {
    Ok(Json(st.registry.validate(&caller, &req.token).await?))
}

#[utoipa::path(get, path = "/api/v1/sessions/{id}", tag = "sessions", params(("id" = String, Path, description = "session id")), responses((status = 200, body = Session), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "missing privilege", body = ErrorBody), (status = 404, description = "unknown or in another tenant", body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(
    State(st): State<AppState>,
    Authed(caller): Authed,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<Session>> {
    let id = session_id(id)?;
    Ok(Json(st.registry.get(&caller, &id).await?))
}

#[utoipa::path(patch, path = "/api/v1/sessions/{id}", tag = "sessions", params(("id" = String, Path, description = "session id")), request_body = SessionPatch, responses((status = 200, body = Session), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "missing privilege", body = ErrorBody), (status = 404, description = "unknown or in another tenant", body = ErrorBody), (status = 409, description = "session has ended", body = ErrorBody)), security(("bearer" = [])))]
pub async fn patch(
    State(st): State<AppState>,
    Authed(caller): Authed,
    id: Result<Path<String>, PathRejection>,
    Body(req, _): In<SessionPatch>,
) -> ApiResult<Json<Session>> {
    let id = session_id(id)?;
    Ok(Json(st.registry.update(&caller, &id, req, false).await?))
}

#[utoipa::path(post, path = "/api/v1/sessions/{id}/touch", tag = "sessions", params(("id" = String, Path, description = "session id")), request_body(content = Option<SessionPatch>, description = "optional changes"), responses((status = 200, body = Session), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "missing privilege", body = ErrorBody), (status = 404, description = "unknown or in another tenant", body = ErrorBody), (status = 409, description = "session has ended", body = ErrorBody)), security(("bearer" = [])))]
pub async fn touch(
    State(st): State<AppState>,
    Authed(caller): Authed,
    id: Result<Path<String>, PathRejection>,
    OptionalJson(req, _): OptionalJson<SessionPatch, ApiError>,
) -> ApiResult<Json<Session>> {
    let id = session_id(id)?;
    Ok(Json(st.registry.update(&caller, &id, req, true).await?))
}

#[utoipa::path(post, path = "/api/v1/sessions/{id}/close", tag = "sessions", params(("id" = String, Path, description = "session id")), responses((status = 200, body = Session), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "missing privilege", body = ErrorBody), (status = 404, description = "unknown or in another tenant", body = ErrorBody), (status = 409, description = "session has ended", body = ErrorBody)), security(("bearer" = [])))]
pub async fn close(
    State(st): State<AppState>,
    Authed(caller): Authed,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<Session>> {
    let id = session_id(id)?;
    Ok(Json(st.registry.close(&caller, &id).await?))
}

#[utoipa::path(delete, path = "/api/v1/sessions/{id}", tag = "sessions", params(("id" = String, Path, description = "session id")), request_body(content = Option<EndRequest>), responses((status = 200, body = Session), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "missing privilege", body = ErrorBody), (status = 404, description = "unknown or in another tenant", body = ErrorBody), (status = 409, description = "session has ended", body = ErrorBody)), security(("bearer" = [])))]
pub async fn terminate_one(
    State(st): State<AppState>,
    Authed(caller): Authed,
    id: Result<Path<String>, PathRejection>,
    OptionalJson(req, _): OptionalJson<EndRequest, ApiError>,
) -> ApiResult<Json<Session>> {
    let id = session_id(id)?;
    let scope = EndScope::tenant(caller.scope());
    Ok(Json(
        st.registry
            .terminate_one(&caller, &id, req.reason, scope)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/sessions/terminate", tag = "sessions", request_body = TerminateRequest, responses((status = 200, body = TerminateResponse), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "missing privilege", body = ErrorBody), (status = 409, description = "confirm does not match", body = ErrorBody), (status = 422, description = "invalid values", body = ErrorBody)), security(("bearer" = [])))]
pub async fn terminate_bulk(
    State(st): State<AppState>,
    Authed(caller): Authed,
    Body(req, _): In<TerminateRequest>,
) -> ApiResult<Json<TerminateResponse>> {
    Ok(Json(render_terminate(
        st.registry.terminate_bulk(&caller, req).await?,
    )))
}

/// The native per-item code of an outcome (DESIGN.md §4); `None` when it ended.
fn item_code(o: ItemOutcome) -> Option<&'static str> {
    match o {
        ItemOutcome::Ended => None,
        ItemOutcome::NotFound => Some("session_not_found"),
        ItemOutcome::AlreadyEnded(_) => Some("session_ended"),
        ItemOutcome::NotAttempted => Some("not_attempted"),
        ItemOutcome::OwnSession => Some("own_session"),
    }
}

fn render_terminate(t: BulkTerminate) -> TerminateResponse {
    match t {
        BulkTerminate::DryRun {
            would_terminate,
            items,
            confirm,
        } => TerminateResponse::DryRun {
            would_terminate,
            items,
            confirm,
        },
        BulkTerminate::Ids(done) => TerminateResponse::Ids {
            terminated: done.terminated,
            results: done
                .items
                .into_iter()
                .map(|i| ItemResult {
                    ok: i.outcome.is_ok(),
                    error: item_code(i.outcome).map(str::to_string),
                    id: i.id,
                })
                .collect(),
        },
        BulkTerminate::Filter {
            terminated,
            remaining,
            next,
        } => TerminateResponse::Filter {
            terminated,
            remaining,
            next: next.map(|n| n.to_string()),
        },
    }
}

/// Parses the list query by hand so that unknown or repeated parameters are a clear 400
/// rather than silently ignored.
pub(crate) fn list_params(raw: Option<&str>, max_page: usize) -> Result<ListRequest, ApiError> {
    let mut map: serde_json::Map<String, serde_json::Value> = query_params(raw, LIST_PARAM_NAMES)?
        .into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    let limit = match map.remove("limit") {
        None => None,
        Some(v) => match v.as_str().and_then(|s| s.parse::<usize>().ok()) {
            Some(n) => Some(n),
            None => {
                return Err(CoreError::invalid("limit", format!("must be 1 to {max_page}")).into())
            }
        },
    };
    let after = match map.remove("after") {
        None => None,
        Some(v) => Some(
            v.as_str()
                .and_then(SessionId::parse)
                .ok_or_else(|| CoreError::BadRequest("after: malformed cursor".into()))?,
        ),
    };
    let filter: FilterParams = serde_json::from_value(serde_json::Value::Object(map))
        .map_err(|e| ApiError::Body(BodyError::Data(e.to_string())))?;
    Ok(ListRequest {
        filter,
        limit,
        after,
    })
}

#[utoipa::path(get, path = "/api/v1/sessions", tag = "sessions", params(FilterParams, ("limit" = Option<u32>, Query, description = "page size, default 100, max 1000"), ("after" = Option<String>, Query, description = "cursor: the previous page's next")), responses((status = 200, body = SessionPage), (status = 400, description = "malformed input", body = ErrorBody), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "missing privilege", body = ErrorBody), (status = 422, description = "invalid values", body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    State(st): State<AppState>,
    Authed(caller): Authed,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<SessionPage>> {
    let params = list_params(raw.as_deref(), st.registry.config().max_page)?;
    let page = st.registry.list(&caller, &params).await?;
    Ok(Json(SessionPage {
        items: page.items,
        next: page.next.map(|i| i.to_string()),
    }))
}
