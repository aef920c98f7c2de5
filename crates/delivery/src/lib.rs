//! Outbound delivery of session events: Standard Webhooks (one signed POST per event) and
//! SSF push (one signed SET per event, RFC 8935), in order per sink, with the retry rule of core (`sinks::RetryPolicy`), by whichever replica
//! holds a sink's lease.
//!
//! Architecture invariant: delivery decides nothing about what a sink may receive or when it
//! gives up: core's registry filters the events and moves the sink's state; this crate only
//! resolves, connects, signs and reports what happened.

mod attempt;
pub mod signer;
mod ssf_push;
mod target;
mod webhook;
mod worker;

/// Wall-clock seconds since the epoch, for what receivers compare with their own clocks
/// (`webhook-timestamp`, a SET's `iat`), whatever clock the registry runs on.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Connect and response timeout of one delivery.
pub const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub use ssf_push::push_set;
pub use target::Target;
pub use webhook::{send_webhook, test_webhook};
pub use worker::{spawn, DeliveryOptions};
