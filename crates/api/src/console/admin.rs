//! `/console/admin` (System.Admin): tenants, principals (create, role, disable), access keys
//! (the secret shown once) and webhooks (the signing secret shown once). Plain forms that
//! answer with the page itself, so a secret appears exactly once and is never in a URL.

use super::auth::ConsoleUser;
use super::error::ConsoleResult;
use super::view::{self, Nav};
use crate::AppState;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use sessiond_core::events::EventType;
use sessiond_core::registry::{CreateWebhook, UpdateWebhook};
use sessiond_core::wire::{CreatePrincipal, PrincipalView, UpdatePrincipal};
use sessiond_core::{CoreError, Privilege, Role};

const ROLES: [&str; 4] = ["viewer", "service", "operator", "admin"];

pub struct WebhookRow {
    pub id: String,
    pub url: String,
    pub types: String,
    pub service: String,
    pub tenant: String,
    pub status: &'static str,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "console/admin.html")]
pub struct AdminPage {
    pub nav: Option<Nav>,
    pub csrf: String,
    pub global: bool,
    pub notice: Option<String>,
    pub error: Option<String>,
    /// (what, secret): shown once after creating it.
    pub secret: Option<(String, String)>,
    pub tenants: Vec<String>,
    pub roles: [&'static str; 4],
    pub principals: Vec<PrincipalView>,
    pub webhooks: Vec<WebhookRow>,
}

#[derive(Template)]
#[template(path = "console/access_keys.html")]
pub struct KeysPage {
    pub nav: Option<Nav>,
    pub csrf: String,
    pub principal: String,
    /// (access key, secret key) just created.
    pub secret: Option<(String, String)>,
    /// (access key, created)
    pub keys: Vec<(String, String)>,
}

/// The outcome of a form, shown above the page.
#[derive(Default)]
struct Outcome {
    notice: Option<String>,
    error: Option<String>,
    secret: Option<(String, String)>,
}

async fn admin_page(st: &AppState, user: &ConsoleUser, o: Outcome) -> ConsoleResult<Response> {
    user.caller.require(Privilege::SystemAdmin)?;
    let tenants = if user.is_global() {
        st.registry
            .list_tenants(&user.caller)
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect()
    } else {
        vec![user.tenant.clone()]
    };
    let mut webhooks = Vec::new();
    for w in st.registry.list_webhooks(&user.caller).await? {
        webhooks.push(WebhookRow {
            types: EventType::list_label(&w.types),
            service: w.service.clone().unwrap_or_else(|| "all".into()),
            status: w.status.as_str(),
            reason: w.status_reason.clone().unwrap_or_default(),
            id: w.id,
            url: w.url,
            tenant: w.tenant,
        });
    }
    let status = o
        .error
        .as_ref()
        .map(|_| axum::http::StatusCode::UNPROCESSABLE_ENTITY);
    let p = AdminPage {
        nav: Some(Nav::of(user, "admin")),
        csrf: user.csrf.clone(),
        global: user.is_global(),
        notice: o.notice,
        error: o.error,
        secret: o.secret,
        tenants,
        roles: ROLES,
        principals: st.registry.list_principals(&user.caller).await?,
        webhooks,
    };
    let mut r = view::html(&p);
    if let Some(s) = status {
        *r.status_mut() = s;
    }
    Ok(r)
}

pub async fn page(State(st): State<AppState>, user: ConsoleUser) -> ConsoleResult<Response> {
    admin_page(&st, &user, Outcome::default()).await
}

/// Runs a form's action; a refusal the operator can fix (invalid, conflict) is shown on
/// the page, anything else (forbidden, not found, the store) is the error page.
async fn act<F>(st: &AppState, user: &ConsoleUser, done: F) -> ConsoleResult<Response>
where
    F: std::future::Future<Output = Result<Outcome, CoreError>>,
{
    let o = match done.await {
        Ok(o) => o,
        Err(
            e @ (CoreError::Invalid { .. } | CoreError::Conflict(_) | CoreError::BadRequest(_)),
        ) => Outcome {
            error: Some(e.to_string()),
            ..Outcome::default()
        },
        Err(e) => return Err(e.into()),
    };
    admin_page(st, user, o).await
}

fn role(v: Option<&str>) -> Result<Role, CoreError> {
    v.and_then(Role::parse)
        .ok_or_else(|| CoreError::invalid("role", "must be viewer, service, operator or admin"))
}

pub async fn create_tenant(
    State(st): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    body: Bytes,
) -> ConsoleResult<Response> {
    let form = user.form(&headers, &body)?;
    let name = form.text("name").unwrap_or_default();
    act(&st, &user, async {
        let t = st.registry.create_tenant(&user.caller, &name).await?;
        Ok(Outcome {
            notice: Some(format!("tenant {} created", t.name)),
            ..Outcome::default()
        })
    })
    .await
}

pub async fn create_principal(
    State(st): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    body: Bytes,
) -> ConsoleResult<Response> {
    let form = user.form(&headers, &body)?;
    act(&st, &user, async {
        let req = CreatePrincipal {
            name: form.text("name").unwrap_or_default(),
            password: form.one("password").unwrap_or_default().to_string(),
            role: role(form.one("role"))?,
            tenant: form.text("tenant"),
        };
        let p = st.registry.create_principal(&user.caller, req).await?;
        Ok(Outcome {
            notice: Some(format!(
                "principal {} created ({}, tenant {})",
                p.name,
                p.role.as_str(),
                p.tenant
            )),
            ..Outcome::default()
        })
    })
    .await
}

/// A role change (`role=`) or enabling/disabling (`disabled=true|false`).
pub async fn update_principal(
    State(st): State<AppState>,
    user: ConsoleUser,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ConsoleResult<Response> {
    let form = user.form(&headers, &body)?;
    act(&st, &user, async {
        let mut req = UpdatePrincipal::default();
        if let Some(r) = form.one("role") {
            req.role = Some(role(Some(r))?);
        }
        match form.one("disabled") {
            None => {}
            Some("true") => req.disabled = Some(true),
            Some("false") => req.disabled = Some(false),
            Some(_) => return Err(CoreError::invalid("disabled", "must be true or false")),
        }
        let p = st
            .registry
            .update_principal(&user.caller, &name, req)
            .await?;
        Ok(Outcome {
            notice: Some(format!(
                "principal {}: {}, {}",
                p.name,
                p.role.as_str(),
                if p.disabled { "disabled" } else { "enabled" }
            )),
            ..Outcome::default()
        })
    })
    .await
}

pub async fn create_webhook(
    State(st): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    body: Bytes,
) -> ConsoleResult<Response> {
    let form = user.form(&headers, &body)?;
    act(&st, &user, async {
        let types = EventType::parse_list(form.one("types").unwrap_or(""))
            .map_err(|m| CoreError::invalid("types", m))?;
        let req = CreateWebhook {
            url: form.text("url").unwrap_or_default(),
            types,
            service: form.text("service"),
            tenant: None,
        };
        let w = st.registry.create_webhook(&user.caller, req).await?;
        Ok(Outcome {
            notice: Some(format!("webhook {} created", w.webhook.url)),
            secret: Some(("Webhook signing secret".into(), w.secret)),
            ..Outcome::default()
        })
    })
    .await
}

/// `action=enable|disable|delete`.
pub async fn update_webhook(
    State(st): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ConsoleResult<Response> {
    let form = user.form(&headers, &body)?;
    act(&st, &user, async {
        let notice = match form.one("action") {
            Some("delete") => {
                st.registry.delete_webhook(&user.caller, &id).await?;
                "webhook deleted".to_string()
            }
            Some(a @ ("enable" | "disable")) => {
                let req = UpdateWebhook {
                    enabled: Some(a == "enable"),
                };
                let w = st.registry.update_webhook(&user.caller, &id, req).await?;
                format!("webhook {}: {}", w.url, w.status.as_str())
            }
            _ => {
                return Err(CoreError::invalid(
                    "action",
                    "must be enable, disable or delete",
                ))
            }
        };
        Ok(Outcome {
            notice: Some(notice),
            ..Outcome::default()
        })
    })
    .await
}

async fn keys_page(
    st: &AppState,
    user: &ConsoleUser,
    principal: &str,
    secret: Option<(String, String)>,
) -> ConsoleResult<Response> {
    let keys = st
        .registry
        .list_access_keys(&user.caller, principal)
        .await?
        .into_iter()
        .map(|k| (k.access_key, view::when(k.created_at)))
        .collect();
    Ok(view::html(&KeysPage {
        nav: Some(Nav::of(user, "admin")),
        csrf: user.csrf.clone(),
        principal: principal.to_string(),
        secret,
        keys,
    }))
}

pub async fn keys(
    State(st): State<AppState>,
    user: ConsoleUser,
    Path(name): Path<String>,
) -> ConsoleResult<Response> {
    keys_page(&st, &user, &name, None).await
}

pub async fn create_key(
    State(st): State<AppState>,
    user: ConsoleUser,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ConsoleResult<Response> {
    user.form(&headers, &body)?;
    let k = st.registry.create_access_key(&user.caller, &name).await?;
    keys_page(&st, &user, &name, Some((k.access_key, k.secret_key))).await
}

pub async fn delete_key(
    State(st): State<AppState>,
    user: ConsoleUser,
    Path((name, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ConsoleResult<Response> {
    user.form(&headers, &body)?;
    st.registry
        .delete_access_key(&user.caller, &name, &key)
        .await?;
    keys_page(&st, &user, &name, None).await
}
