//! Webhooks (Sessions.TerminateSession in their tenant): create (the secret shown once),
//! list, show, enable/disable, delete, the attempt log, and a test delivery.

use super::admin::Items;
use super::error::{ApiError, ApiResult};
use super::Authed;
use crate::extract::{query_params, Json as Body};
use crate::AppState;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use sessiond_core::registry::{CreateWebhook, NewWebhook, UpdateWebhook, WebhookView};
use sessiond_core::sinks::DeliveryAttempt;
#[allow(unused_imports)]
use sessiond_core::wire::ErrorBody;
use sessiond_core::CoreError;

type In<T> = Body<T, ApiError>;

fn webhook_id(p: Result<Path<String>, PathRejection>) -> ApiResult<String> {
    p.map(|Path(n)| n)
        .map_err(|_| ApiError::Core(CoreError::NotFound("webhook")))
}

#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = CreateWebhook, responses((status = 201, body = NewWebhook), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "missing privilege", body = ErrorBody), (status = 404, description = "unknown tenant", body = ErrorBody), (status = 422, description = "invalid values (a private target without --webhooks-allow-private)", body = ErrorBody)), security(("bearer" = [])))]
pub async fn create(
    State(st): State<AppState>,
    Authed(c): Authed,
    Body(req, _): In<CreateWebhook>,
) -> ApiResult<(StatusCode, Json<NewWebhook>)> {
    Ok((
        StatusCode::CREATED,
        Json(st.registry.create_webhook(&c, req).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", responses((status = 200, description = "{items:[WebhookView]}"), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "missing privilege", body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    State(st): State<AppState>,
    Authed(c): Authed,
) -> ApiResult<Json<Items<WebhookView>>> {
    Ok(Json(Items::of(st.registry.list_webhooks(&c).await?)))
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path, description = "webhook id")), responses((status = 200, body = WebhookView), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "missing privilege", body = ErrorBody), (status = 404, description = "unknown or in another tenant", body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(
    State(st): State<AppState>,
    Authed(c): Authed,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<WebhookView>> {
    let id = webhook_id(id)?;
    Ok(Json(st.registry.get_webhook(&c, &id).await?))
}

#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path, description = "webhook id")), request_body = UpdateWebhook, responses((status = 200, body = WebhookView), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "missing privilege", body = ErrorBody), (status = 404, description = "unknown or in another tenant", body = ErrorBody)), security(("bearer" = [])))]
pub async fn update(
    State(st): State<AppState>,
    Authed(c): Authed,
    id: Result<Path<String>, PathRejection>,
    Body(req, _): In<UpdateWebhook>,
) -> ApiResult<Json<WebhookView>> {
    let id = webhook_id(id)?;
    Ok(Json(st.registry.update_webhook(&c, &id, req).await?))
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path, description = "webhook id")), responses((status = 204, description = "deleted"), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "missing privilege", body = ErrorBody), (status = 404, description = "unknown or in another tenant", body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete(
    State(st): State<AppState>,
    Authed(c): Authed,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<StatusCode> {
    let id = webhook_id(id)?;
    st.registry.delete_webhook(&c, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = String, Path, description = "webhook id"), ("limit" = Option<u32>, Query, description = "most attempts, newest first (default 50, max 200)")), responses((status = 200, description = "{items:[DeliveryAttempt]}"), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "missing privilege", body = ErrorBody), (status = 404, description = "unknown or in another tenant", body = ErrorBody)), security(("bearer" = [])))]
pub async fn deliveries(
    State(st): State<AppState>,
    Authed(c): Authed,
    id: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Items<DeliveryAttempt>>> {
    let id = webhook_id(id)?;
    let limit = match query_params(raw.as_deref(), &["limit"])?.remove("limit") {
        None => 50,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=sessiond_core::sinks::MAX_LOGGED_ATTEMPTS).contains(n))
            .ok_or_else(|| CoreError::invalid("limit", "must be 1 to 200"))?,
    };
    Ok(Json(Items::of(
        st.registry.webhook_deliveries(&c, &id, limit).await?,
    )))
}

#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", tag = "webhooks", params(("id" = String, Path, description = "webhook id")), responses((status = 200, description = "the attempt: a `webhook.test` message, signed like every delivery", body = DeliveryAttempt), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "missing privilege", body = ErrorBody), (status = 404, description = "unknown or in another tenant", body = ErrorBody)), security(("bearer" = [])))]
pub async fn test(
    State(st): State<AppState>,
    Authed(c): Authed,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<DeliveryAttempt>> {
    let id = webhook_id(id)?;
    let allow = st.registry.config().webhooks_allow_private;
    Ok(Json(
        sessiond_delivery::test_webhook(&st.registry, &c, &id, allow, sessiond_delivery::TIMEOUT)
            .await?,
    ))
}
