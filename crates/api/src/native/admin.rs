//! Tenants and principals (privilege `System.Admin`).

use super::error::{ApiError, ApiResult};
use super::Authed;
use crate::extract::Json as Body;
use crate::AppState;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
#[allow(unused_imports)]
use sessiond_core::wire::ErrorBody;
use sessiond_core::wire::{CreatePrincipal, CreateTenant, PrincipalView, UpdatePrincipal};
use sessiond_core::{CoreError, Tenant};

type In<T> = Body<T, ApiError>;

#[derive(Serialize)]
pub struct Items<T> {
    items: Vec<T>,
}

fn name(p: Result<Path<String>, PathRejection>) -> ApiResult<String> {
    p.map(|Path(n)| n)
        .map_err(|_| ApiError::Core(CoreError::NotFound("principal")))
}

#[utoipa::path(get, path = "/api/v1/tenants", tag = "admin", responses((status = 200, description = "{items:[Tenant]}"), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "missing privilege", body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_tenants(
    State(st): State<AppState>,
    Authed(c): Authed,
) -> ApiResult<Json<Items<Tenant>>> {
    Ok(Json(Items {
        items: st.registry.list_tenants(&c).await?,
    }))
}

#[utoipa::path(post, path = "/api/v1/tenants", tag = "admin", request_body = CreateTenant, responses((status = 201, body = Tenant), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "missing privilege", body = ErrorBody), (status = 409, description = "name taken", body = ErrorBody), (status = 422, description = "invalid values", body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_tenant(
    State(st): State<AppState>,
    Authed(c): Authed,
    Body(req, _): In<CreateTenant>,
) -> ApiResult<(StatusCode, Json<Tenant>)> {
    Ok((
        StatusCode::CREATED,
        Json(st.registry.create_tenant(&c, &req.name).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/principals", tag = "admin", responses((status = 200, description = "{items:[PrincipalView]}"), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "missing privilege", body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_principals(
    State(st): State<AppState>,
    Authed(c): Authed,
) -> ApiResult<Json<Items<PrincipalView>>> {
    Ok(Json(Items {
        items: st.registry.list_principals(&c).await?,
    }))
}

#[utoipa::path(post, path = "/api/v1/principals", tag = "admin", request_body = CreatePrincipal, responses((status = 201, body = PrincipalView), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "missing privilege", body = ErrorBody), (status = 409, description = "name taken", body = ErrorBody), (status = 422, description = "invalid values", body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_principal(
    State(st): State<AppState>,
    Authed(c): Authed,
    Body(req, _): In<CreatePrincipal>,
) -> ApiResult<(StatusCode, Json<PrincipalView>)> {
    Ok((
        StatusCode::CREATED,
        Json(st.registry.create_principal(&c, req).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/principals/{name}", tag = "admin", params(("name" = String, Path)), responses((status = 200, body = PrincipalView), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "missing privilege", body = ErrorBody), (status = 404, description = "unknown or in another tenant", body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_principal(
    State(st): State<AppState>,
    Authed(c): Authed,
    n: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<PrincipalView>> {
    Ok(Json(st.registry.get_principal(&c, &name(n)?).await?))
}

#[utoipa::path(patch, path = "/api/v1/principals/{name}", tag = "admin", params(("name" = String, Path)), request_body = UpdatePrincipal, responses((status = 200, body = PrincipalView), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "missing privilege", body = ErrorBody), (status = 404, description = "unknown or in another tenant", body = ErrorBody), (status = 422, description = "invalid values", body = ErrorBody)), security(("bearer" = [])))]
pub async fn update_principal(
    State(st): State<AppState>,
    Authed(c): Authed,
    n: Result<Path<String>, PathRejection>,
    Body(req, _): In<UpdatePrincipal>,
) -> ApiResult<Json<PrincipalView>> {
    Ok(Json(
        st.registry.update_principal(&c, &name(n)?, req).await?,
    ))
}
