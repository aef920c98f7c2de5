//! One SSF push (RFC 8935): the signed SET POSTed as `application/secevent+jwt`, with the
//! stream's authorization header when the receiver gave one; 202 Accepted is delivered,
//! anything else is a failed attempt.

use crate::attempt::{attempt_of, Label};
use crate::Target;
use sessiond_core::sinks::DeliveryAttempt;
use sessiond_core::Timestamp;
use std::time::Instant;

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
    let label = Label {
        event_id,
        attempt,
        at,
    };
    let expected = " (a push receiver answers 202)";
    let a = attempt_of(rb.send().await, |s| s == 202, expected, label, started).await;
    metrics::counter!("sessiond_ssf_pushes_total", "delivered" => if a.delivered { "true" } else { "false" })
        .increment(1);
    a
}
