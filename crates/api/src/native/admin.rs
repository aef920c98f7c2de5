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
use sessiond_core::registry::{AccessKeyView, NewAccessKey};
#[allow(unused_imports)]
use sessiond_core::wire::ErrorBody;
use sessiond_core::wire::{CreatePrincipal, CreateTenant, PrincipalView, UpdatePrincipal};
use sessiond_core::{CoreError, Tenant};

type In<T> = Body<T, ApiError>;

#[derive(Serialize)]
pub struct Items<T> {
    items: Vec<T>,
}

impl<T> Items<T> {
    pub fn of(items: Vec<T>) -> Self {
        Items { items }
    }
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

#[utoipa::path(post, path = "/api/v1/principals/{name}/access-keys", tag = "admin", params(("name" = String, Path)), responses((status = 201, description = "the secret is shown only in this answer", body = NewAccessKey), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "the principal already has the maximum number of keys", body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_access_key(
    State(st): State<AppState>,
    Authed(c): Authed,
    n: Result<Path<String>, PathRejection>,
) -> ApiResult<(StatusCode, Json<NewAccessKey>)> {
    Ok((
        StatusCode::CREATED,
        Json(st.registry.create_access_key(&c, &name(n)?).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/principals/{name}/access-keys", tag = "admin", params(("name" = String, Path)), responses((status = 200, description = "{items:[AccessKeyView]}, never a secret"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_access_keys(
    State(st): State<AppState>,
    Authed(c): Authed,
    n: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<Items<AccessKeyView>>> {
    Ok(Json(Items {
        items: st.registry.list_access_keys(&c, &name(n)?).await?,
    }))
}

#[utoipa::path(delete, path = "/api/v1/principals/{name}/access-keys/{access_key}", tag = "admin", params(("name" = String, Path), ("access_key" = String, Path)), responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn delete_access_key(
    State(st): State<AppState>,
    Authed(c): Authed,
    p: Result<Path<(String, String)>, PathRejection>,
) -> ApiResult<StatusCode> {
    let Path((name, key)) = p.map_err(|_| ApiError::Core(CoreError::NotFound("access key")))?;
    st.registry.delete_access_key(&c, &name, &key).await?;
    Ok(StatusCode::NO_CONTENT)
}
