//! `sessiond webhooks`: create (the secret printed once), list, show, enable, disable,
//! delete, the delivery log, and a test delivery.

use super::output::{json, out};
use super::render::time_short;
use super::table::Table;
use super::{CliError, Ctx};
use sessiond_core::events::EventType;
use sessiond_core::registry::{CreateWebhook, WebhookView};

#[derive(clap::Subcommand, Debug)]
pub enum WebhooksCmd {
    /// Create a webhook; prints its signing secret once
    Create {
        /// The receiver's URL (http or https)
        url: String,
        /// Only these event types, comma-separated (default all)
        #[arg(long)]
        types: Option<String>,
        /// Only sessions of this service
        #[arg(long)]
        service: Option<String>,
        /// The tenant it belongs to (the default tenant's admin only)
        #[arg(long)]
        tenant: Option<String>,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// List webhooks (never their secrets)
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one webhook and where its delivery stands
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Enable a webhook again (retries start afresh)
    Enable { id: String },
    /// Stop delivering to a webhook
    Disable { id: String },
    /// Delete a webhook
    Delete { id: String },
    /// Show a webhook's delivery attempts, newest first
    Deliveries {
        id: String,
        /// Most attempts to show (1-200)
        #[arg(long)]
        limit: Option<usize>,
        #[arg(long)]
        json: bool,
    },
    /// Send a signed test message now
    Test {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

pub(crate) async fn webhooks(ctx: &Ctx, cmd: WebhooksCmd) -> Result<(), CliError> {
    let client = ctx.client()?;
    match cmd {
        WebhooksCmd::Create {
            url,
            types,
            service,
            tenant,
            json: as_json,
        } => {
            let types = match types {
                Some(t) => EventType::parse_list(&t).map_err(CliError::Usage)?,
                None => Vec::new(),
            };
            let w = client
                .create_webhook(&CreateWebhook {
                    url,
                    types,
                    service,
                    tenant,
                })
                .await?;
            if as_json {
                return json(&w);
            }
            out(&format!(
                "{}\nsecret: {}\n(the secret is shown only now; verify each delivery's \
                 webhook-signature with it)",
                details(&w.webhook),
                w.secret
            ))
        }
        WebhooksCmd::List { json: as_json } => {
            let list = client.list_webhooks().await?;
            if as_json {
                return json(&list);
            }
            let mut t = Table::new(["ID", "URL", "TYPES", "TENANT", "STATUS", "DELIVERED"]);
            for w in &list {
                t.push([
                    w.id.clone(),
                    w.url.clone(),
                    sessiond_core::events::EventType::list_label(&w.types),
                    w.tenant.clone(),
                    w.status.as_str().to_string(),
                    w.delivered_through.to_string(),
                ]);
            }
            out(&t.render())
        }
        WebhooksCmd::Show { id, json: as_json } => {
            let w = client.get_webhook(&id).await?;
            if as_json {
                return json(&w);
            }
            out(&details(&w))
        }
        WebhooksCmd::Enable { id } => {
            let w = client.set_webhook_enabled(&id, true).await?;
            out(&details(&w))
        }
        WebhooksCmd::Disable { id } => {
            let w = client.set_webhook_enabled(&id, false).await?;
            out(&details(&w))
        }
        WebhooksCmd::Delete { id } => {
            client.delete_webhook(&id).await?;
            out(&format!("deleted {id}"))
        }
        WebhooksCmd::Deliveries {
            id,
            limit,
            json: as_json,
        } => {
            let list = client.webhook_deliveries(&id, limit).await?;
            if as_json {
                return json(&list);
            }
            let mut t = Table::new(["AT", "EVENT", "ATTEMPT", "RESULT", "MS"]);
            for a in &list {
                t.push([
                    time_short(a.at),
                    a.event_id.to_string(),
                    a.attempt.to_string(),
                    result(a),
                    a.duration_ms.to_string(),
                ]);
            }
            out(&t.render())
        }
        WebhooksCmd::Test { id, json: as_json } => {
            let a = client.test_webhook(&id).await?;
            if as_json {
                return json(&a);
            }
            out(&result(&a))
        }
    }
}

fn result(a: &sessiond_core::sinks::DeliveryAttempt) -> String {
    match (a.delivered, a.status, &a.error) {
        (true, Some(s), _) => format!("delivered (HTTP {s})"),
        (true, None, _) => "delivered".into(),
        (false, _, Some(e)) => format!("failed: {e}"),
        (false, Some(s), None) => format!("failed: HTTP {s}"),
        (false, None, None) => "failed".into(),
    }
}

fn details(w: &WebhookView) -> String {
    let mut s = format!(
        "id: {}\nurl: {}\ntypes: {}\ntenant: {}\nstatus: {}",
        w.id,
        w.url,
        sessiond_core::events::EventType::list_label(&w.types),
        w.tenant,
        w.status.as_str()
    );
    if let Some(r) = &w.status_reason {
        s.push_str(&format!(" ({r})"));
    }
    if let Some(svc) = &w.service {
        s.push_str(&format!("\nservice: {svc}"));
    }
    s.push_str(&format!(
        "\ndelivered through event: {}\ncreated: {} by {}",
        w.delivered_through,
        w.created_at.to_rfc3339(),
        w.created_by
    ));
    if w.failed_attempts > 0 {
        s.push_str(&format!("\nfailed attempts: {}", w.failed_attempts));
        if let Some(at) = w.next_attempt_at {
            s.push_str(&format!(", next at {}", at.to_rfc3339()));
        }
    }
    s
}
