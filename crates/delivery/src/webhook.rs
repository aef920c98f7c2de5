//! One Standard Webhooks delivery: the event's JSON, signed, POSTed; 2xx is delivered,
//! anything else (or no answer) is a failed attempt, with what happened for the log.

use crate::Target;
use sessiond_core::sinks::DeliveryAttempt;
use sessiond_core::webhook::signature;
use sessiond_core::{Caller, CoreResult, Registry, Timestamp};
use std::time::{Duration, Instant, SystemTime};

/// What a receiver's error body may add to the log, at most.
const MAX_ERROR_BODY: usize = 200;

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
    // Receivers check the timestamp against their own clock (Standard Webhooks: within
    // minutes), so it is the wall clock's, whatever clock the registry runs on.
    let ts = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
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
    let (delivered, status, error) = match sent {
        Ok(resp) => {
            let status = resp.status();
            if status.is_success() {
                (true, Some(status.as_u16()), None)
            } else {
                let text = resp.text().await.unwrap_or_default();
                let mut why = format!("HTTP {}", status.as_u16());
                let text: String = text.chars().take(MAX_ERROR_BODY).collect();
                if !text.trim().is_empty() {
                    why.push_str(": ");
                    why.push_str(text.trim());
                }
                (false, Some(status.as_u16()), Some(why))
            }
        }
        Err(e) => (false, None, Some(describe(&e))),
    };
    metrics::counter!("sessiond_webhook_deliveries_total", "delivered" => if delivered { "true" } else { "false" })
        .increment(1);
    DeliveryAttempt {
        event_id,
        attempt,
        at,
        delivered,
        status,
        error,
        duration_ms: started.elapsed().as_millis().min(u128::from(u64::MAX)) as u64,
    }
}

/// A transport error in words (connection refused, timeout…), without the URL's query.
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {detail}")
    }
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
    let mut nonce = [0u8; 8];
    getrandom::getrandom(&mut nonce)
        .map_err(|e| sessiond_core::CoreError::Internal(e.to_string()))?;
    let msg_id = format!(
        "test_{}",
        nonce.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
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
