//! Webhooks: who may create, see and delete them (Sessions.TerminateSession in their
//! tenant), the secret shown once and kept sealed, and their attempt logs.

use super::{Caller, Registry};
use crate::domain::Privilege;
use crate::error::{CoreError, CoreResult};
use crate::events::EventType;
use crate::sinks::{DeliveryAttempt, Sink, SinkKind, SinkStatus};
use crate::store::StoreError;
use crate::time::Timestamp;
use crate::webhook::{check_url, new_secret, WebhookConfig};
use serde::{Deserialize, Serialize};

/// `POST /webhooks`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateWebhook {
    pub url: String,
    /// Event types to deliver; empty or absent: all.
    #[serde(default)]
    pub types: Vec<EventType>,
    /// Only sessions of this service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The tenant it belongs to (a global admin may name another); default the caller's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}

/// `PATCH /webhooks/{id}`: re-enable a disabled webhook (retries start afresh) or disable
/// one.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateWebhook {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// A webhook as listed: never its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub types: Vec<EventType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    pub tenant: String,
    pub status: SinkStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub created_by: String,
    pub created_at: Timestamp,
    /// Every event up to this id has been delivered (or was not for this webhook).
    pub delivered_through: u64,
    /// Failed attempts at the next event, and when the next try is due.
    pub failed_attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<Timestamp>,
}

/// A new webhook with its signing secret (shown exactly once).
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewWebhook {
    pub webhook: WebhookView,
    /// `whsec_…`: verify each delivery's `webhook-signature` with it.
    pub secret: String,
}

impl std::fmt::Debug for NewWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewWebhook")
            .field("webhook", &self.webhook)
            .finish_non_exhaustive()
    }
}

/// A sink's config as a webhook's.
pub fn webhook_config(s: &Sink) -> CoreResult<WebhookConfig> {
    serde_json::from_str(&s.config)
        .map_err(|e| CoreError::Internal(format!("webhook {} has a bad config: {e}", s.id)))
}

impl Registry {
    /// Creates a webhook in the caller's tenant (or the one a global admin names). Refuses
    /// private targets unless the server allows them.
    pub async fn create_webhook(
        &self,
        caller: &Caller,
        req: CreateWebhook,
    ) -> CoreResult<NewWebhook> {
        caller.require(Privilege::SessionsTerminate)?;
        let tenant = self.resolve_tenant(caller, req.tenant.as_deref()).await?;
        let url = check_url(&req.url, self.cfg.webhooks_allow_private)
            .map_err(|m| CoreError::invalid("url", m))?;
        if req.service.as_deref().is_some_and(str::is_empty) {
            return Err(CoreError::invalid("service", "must not be empty"));
        }
        let mut types = req.types;
        types.dedup();
        let config = WebhookConfig {
            url: url.to_string(),
            types,
            service: req.service,
        };
        let id = format!("wh_{}", self.new_id()?);
        let (key, secret) = new_secret().map_err(|e| CoreError::Internal(e.to_string()))?;
        let sealed = self
            .seal_key()?
            .seal(&key, &id)
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        let sink = Sink {
            id: id.clone(),
            kind: SinkKind::Webhook,
            tenant_id: tenant.id,
            created_by: caller.principal.clone(),
            created_at: self.clock.now(),
            config: serde_json::to_string(&config)
                .map_err(|e| CoreError::Internal(e.to_string()))?,
            sealed_secret: Some(sealed),
            status: SinkStatus::Enabled,
            status_reason: None,
            // New webhooks receive what happens from now on.
            delivery: crate::sinks::DeliveryState {
                cursor: self.store.last_event_id().await?,
                ..Default::default()
            },
        };
        self.store.create_sink(&sink).await?;
        self.audit(caller, "webhook.create", &id, Some(config.url.clone()))
            .await;
        Ok(NewWebhook {
            webhook: self.webhook_view(&sink).await?,
            secret,
        })
    }

    /// A webhook the caller may manage; anything else (another tenant's, an SSF stream, none)
    /// is not found.
    async fn visible_webhook(&self, caller: &Caller, id: &str) -> CoreResult<Sink> {
        caller.require(Privilege::SessionsTerminate)?;
        match self.store.get_sink(id).await? {
            Some(s) if s.kind == SinkKind::Webhook && caller.sees_tenant(s.tenant_id) => Ok(s),
            _ => Err(CoreError::NotFound("webhook")),
        }
    }

    pub async fn webhook_view(&self, s: &Sink) -> CoreResult<WebhookView> {
        let c = webhook_config(s)?;
        Ok(WebhookView {
            id: s.id.clone(),
            url: c.url,
            types: c.types,
            service: c.service,
            tenant: self.tenant_name(s.tenant_id).await?,
            status: s.status,
            status_reason: s.status_reason.clone(),
            created_by: s.created_by.clone(),
            created_at: s.created_at,
            delivered_through: s.delivery.cursor,
            failed_attempts: s.delivery.attempts,
            next_attempt_at: s.delivery.next_attempt_at,
        })
    }

    pub async fn get_webhook(&self, caller: &Caller, id: &str) -> CoreResult<WebhookView> {
        let s = self.visible_webhook(caller, id).await?;
        self.webhook_view(&s).await
    }

    /// The caller's webhooks (every tenant's for a global admin), oldest first.
    pub async fn list_webhooks(&self, caller: &Caller) -> CoreResult<Vec<WebhookView>> {
        caller.require(Privilege::SessionsTerminate)?;
        let mut out = Vec::new();
        for s in self
            .store
            .list_sinks(Some(SinkKind::Webhook), &caller.scope())
            .await?
        {
            out.push(self.webhook_view(&s).await?);
        }
        Ok(out)
    }

    pub async fn delete_webhook(&self, caller: &Caller, id: &str) -> CoreResult<()> {
        let s = self.visible_webhook(caller, id).await?;
        if !self.store.delete_sink(&s.id).await? {
            return Err(CoreError::NotFound("webhook"));
        }
        self.audit(caller, "webhook.delete", &s.id, None).await;
        Ok(())
    }

    /// Enables (retries start afresh at the event it stopped on) or disables a webhook.
    pub async fn update_webhook(
        &self,
        caller: &Caller,
        id: &str,
        req: UpdateWebhook,
    ) -> CoreResult<WebhookView> {
        let mut s = self.visible_webhook(caller, id).await?;
        if let Some(enabled) = req.enabled {
            let (status, reason) = if enabled {
                (SinkStatus::Enabled, None)
            } else {
                (
                    SinkStatus::Disabled,
                    Some(format!("disabled by {}", caller.principal)),
                )
            };
            if enabled && s.status != SinkStatus::Enabled {
                // A fresh start: the retry window counts from the next failure.
                let fresh = crate::sinks::DeliveryState {
                    cursor: s.delivery.cursor,
                    ..Default::default()
                };
                self.store
                    .advance_sink(&s.id, &s.delivery, &fresh, None, &[])
                    .await?;
                s.delivery = fresh;
            }
            s.status = status;
            s.status_reason = reason;
            match self.store.update_sink(&s).await {
                Err(StoreError::NotFound) => return Err(CoreError::NotFound("webhook")),
                other => other?,
            }
            self.audit(
                caller,
                "webhook.update",
                &s.id,
                Some(s.status.as_str().into()),
            )
            .await;
        }
        self.webhook_view(&s).await
    }

    /// A webhook's delivery attempts, newest first.
    pub async fn webhook_deliveries(
        &self,
        caller: &Caller,
        id: &str,
        limit: usize,
    ) -> CoreResult<Vec<DeliveryAttempt>> {
        let s = self.visible_webhook(caller, id).await?;
        Ok(self
            .store
            .list_attempts(&s.id, limit.clamp(1, crate::sinks::MAX_LOGGED_ATTEMPTS))
            .await?)
    }

    /// The signing key of a webhook the caller may manage (for its test delivery).
    pub async fn webhook_for_test(&self, caller: &Caller, id: &str) -> CoreResult<(Sink, Vec<u8>)> {
        let s = self.visible_webhook(caller, id).await?;
        let key = self.sink_secret(&s)?;
        Ok((s, key))
    }

    /// Opens a sink's sealed secret (the delivery worker signs with it).
    pub fn sink_secret(&self, s: &Sink) -> CoreResult<Vec<u8>> {
        let sealed = s
            .sealed_secret
            .as_ref()
            .ok_or_else(|| CoreError::Internal(format!("sink {} has no secret", s.id)))?;
        self.seal_key()?
            .open(sealed, &s.id)
            .map_err(|e| CoreError::Internal(format!("sink {}: {e}", s.id)))
    }
}
