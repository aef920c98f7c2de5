//! The native API's OpenAPI document (`/api/v1/openapi.json`) and reference page (`/api/docs`).

use sessiond_core::rules::bulk::BulkMode;
use sessiond_core::wire::*;
use sessiond_core::{Activity, Domain, Role, Session, SessionKind, SessionState, Tenant, User};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "sessiond native API", description = "Session registry and control plane. Error codes: docs/errors.md."),
    paths(
        super::login::login, super::login::logout, super::login::whoami,
        super::sessions::register, super::sessions::validate, super::sessions::get,
        super::sessions::patch, super::sessions::touch, super::sessions::close,
        super::sessions::terminate_one, super::sessions::terminate_bulk, super::sessions::list,
        super::admin::list_tenants, super::admin::create_tenant, super::admin::list_principals,
        super::admin::create_principal, super::admin::get_principal, super::admin::update_principal,
        super::admin::create_access_key, super::admin::list_access_keys, super::admin::delete_access_key,
        super::events::stream,
        super::webhooks::create, super::webhooks::list, super::webhooks::get,
        super::webhooks::update, super::webhooks::delete, super::webhooks::deliveries,
        super::webhooks::test,
    ),
    components(schemas(
        Session, User, Domain, Activity, SessionKind, SessionState, Tenant, Role, BulkMode,
        LoginRequest, LoginResponse, WhoAmI, RegisterRequest, RegisterResponse, ValidateRequest,
        SessionPatch, FilterParams, SessionPage, TerminateRequest, TerminateResponse, ItemResult,
        EndRequest, CreateTenant, CreatePrincipal, UpdatePrincipal, PrincipalView, ErrorBody,
        ErrorDetail, sessiond_core::registry::AccessKeyView, sessiond_core::registry::NewAccessKey,
        sessiond_core::events::Event, sessiond_core::events::EventType,
        sessiond_core::events::EventPrincipal, sessiond_core::registry::CreateWebhook,
        sessiond_core::registry::UpdateWebhook, sessiond_core::registry::WebhookView,
        sessiond_core::registry::NewWebhook, sessiond_core::sinks::DeliveryAttempt,
        sessiond_core::sinks::SinkStatus,
    )),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let comps = doc.components.get_or_insert_with(Default::default);
        comps.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("token from POST /api/v1/auth/login"))
                    .build(),
            ),
        );
    }
}
