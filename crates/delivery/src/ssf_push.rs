//! One SSF push (RFC 8935): the signed SET POSTed as `application/secevent+jwt`, with the
//! stream's authorization header when the receiver gave one; 202 Accepted is delivered,
//! anything else is a failed attempt.

use crate::Target;
use sessiond_core::sinks::DeliveryAttempt;
use sessiond_core::Timestamp;
use std::time::Instant;

/// How much of a receiver's error body (RFC 8935 §2.3: `{"err", "description"}`) is logged.
const MAX_ERROR_BODY: usize = 200;

pub async fn push_set(
    target: &Target,
    token: &str,
    authorization: Option<&str>,
    event_id: u64,
    attempt: u32,
    at: Timestamp,
) -> DeliveryAttempt {
    let started = Instant::now();
    let mut rb = target
        .http
        .post(target.url.clone())
        .header("content-type", "application/secevent+jwt")
        .header("accept", "application/json")
        .body(token.to_string());
    if let Some(a) = authorization {
        rb = rb.header("authorization", a);
    }
    let (delivered, status, error) = match rb.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            if status == 202 {
                (true, Some(status), None)
            } else {
                let text: String = resp
                    .text()
                    .await
                    .unwrap_or_default()
                    .chars()
                    .take(MAX_ERROR_BODY)
                    .collect();
                let mut why = format!("HTTP {status} (a push receiver answers 202)");
                if !text.trim().is_empty() {
                    why.push_str(": ");
                    why.push_str(text.trim());
                }
                (false, Some(status), Some(why))
            }
        }
        Err(e) => (false, None, Some(crate::webhook::describe(&e))),
    };
    metrics::counter!("sessiond_ssf_pushes_total", "delivered" => if delivered { "true" } else { "false" })
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
