//! One Standard Webhooks delivery: the event's JSON, signed, POSTed; 2xx is delivered,
//! anything else (or no answer) is a failed attempt, with what happened for the log.

use crate::attempt::{attempt_of, Label};
use crate::Target;
use sessiond_core::sinks::DeliveryAttempt;
use sessiond_core::webhook::signature;
use sessiond_core::{Caller, CoreResult, Registry, Timestamp};
use std::time::{Duration, Instant};

/// POSTs `body` (an event's JSON) to `target`, signed with `key`, as message `msg_id`.
/// `event_id` and `attempt` label the log entry; `at` is when it was made.
pub async fn send_webhook(
    target: &Target,
    key: &[u8],
    msg_id: &str,
    body: String,
    event_id: u64,
    attempt: u32,
    at: Timestamp,
) -> DeliveryAttempt {
    // Receivers check it against their own clock (Standard Webhooks: within minutes).
    let ts = crate::unix_now();
    let sig = signature(key, msg_id, ts, body.as_bytes());
    let started = Instant::now();
    let sent = target
        .http
        .post(target.url.clone())
        .header("content-type", "application/json")
        .header("webhook-id", msg_id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", sig)
        .body(body)
        .send()
        .await;
    let label = Label {
        event_id,
        attempt,
        at,
    };
    let a = attempt_of(sent, |s| (200..300).contains(&s), "", label, started).await;
    metrics::counter!("sessiond_webhook_deliveries_total", "delivered" => if a.delivered { "true" } else { "false" })
        .increment(1);
    a
}

/// `POST /webhooks/{id}/test`: one `webhook.test` message sent now, outside the event
/// sequence (it moves nothing), logged with event id 0.
pub async fn test_webhook(
    registry: &Registry,
    caller: &Caller,
    id: &str,
    allow_private: bool,
    timeout: Duration,
) -> CoreResult<DeliveryAttempt> {
    let (sink, key) = registry.webhook_for_test(caller, id).await?;
    let view = registry.webhook_view(&sink).await?;
    let at = registry.clock().now();
    let body = serde_json::json!({
        "id": 0,
        "type": "webhook.test",
        "at": at,
        "tenant": view.tenant,
    })
    .to_string();
    let nonce = sessiond_core::ids::random_hex(8)
        .map_err(|e| sessiond_core::CoreError::Internal(e.to_string()))?;
    let msg_id = format!("test_{nonce}");
    let attempt = match Target::resolve(&view.url, allow_private, timeout).await {
        Ok(t) => send_webhook(&t, &key, &msg_id, body, 0, 1, at).await,
        Err(why) => DeliveryAttempt {
            event_id: 0,
            attempt: 1,
            at,
            delivered: false,
            status: None,
            error: Some(why),
            duration_ms: 0,
        },
    };
    registry.log_sink_attempt(&sink, &attempt).await?;
    Ok(attempt)
}
