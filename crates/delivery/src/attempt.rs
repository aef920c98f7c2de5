//! What one POST to a receiver came to, as an entry of the sink's attempt log: delivered or
//! not, the status, and in words what went wrong (with the start of the receiver's answer).

use sessiond_core::sinks::DeliveryAttempt;
use sessiond_core::Timestamp;
use std::time::Instant;

/// What a receiver's error body may add to the log, at most.
const MAX_ERROR_BODY: usize = 200;

/// Labels of the log entry: which event, which try, when.
pub(crate) struct Label {
    pub event_id: u64,
    pub attempt: u32,
    pub at: Timestamp,
}

/// The attempt for `sent`, which counts as delivered when `accepted(status)`; `expected`
/// says what the receiver should have answered (for the log).
pub(crate) async fn attempt_of(
    sent: Result<reqwest::Response, reqwest::Error>,
    accepted: impl Fn(u16) -> bool,
    expected: &str,
    label: Label,
    started: Instant,
) -> DeliveryAttempt {
    let (delivered, status, error) = match sent {
        Ok(resp) => {
            let status = resp.status().as_u16();
            if accepted(status) {
                (true, Some(status), None)
            } else {
                let text: String = resp
                    .text()
                    .await
                    .unwrap_or_default()
                    .chars()
                    .take(MAX_ERROR_BODY)
                    .collect();
                let mut why = format!("HTTP {status}{expected}");
                if !text.trim().is_empty() {
                    why.push_str(": ");
                    why.push_str(text.trim());
                }
                (false, Some(status), Some(why))
            }
        }
        Err(e) => (false, None, Some(describe(&e))),
    };
    DeliveryAttempt {
        event_id: label.event_id,
        attempt: label.attempt,
        at: label.at,
        delivered,
        status,
        error,
        duration_ms: started.elapsed().as_millis().min(u128::from(u64::MAX)) as u64,
    }
}

/// A transport error in words (connection refused, timeout…), without the URL's query.
fn describe(e: &reqwest::Error) -> String {
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
