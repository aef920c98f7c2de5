//! Background work of a running server: the touch flusher and the sweeper.

use sessiond_core::Registry;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Touches are flushed at least this often (DESIGN.md §1: at least once a second).
const FLUSH_EVERY: Duration = Duration::from_millis(500);

pub fn spawn(
    registry: Arc<Registry>,
    sweep_every: Duration,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        // Cache invalidations published by every replica (and this one) for as long as the
        // server runs.
        let follower = {
            let registry = registry.clone();
            tokio::spawn(async move { registry.follow_invalidations().await }).abort_handle()
        };
        let mut flush = tokio::time::interval(FLUSH_EVERY);
        let mut sweep = tokio::time::interval(sweep_every.max(Duration::from_millis(100)));
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.changed() => {
                    follower.abort();
                    break;
                }
                _ = flush.tick() => {
                    if let Err(e) = registry.flush_touches().await {
                        tracing::warn!(error = %e, "touch flush failed; will retry");
                    }
                }
                _ = sweep.tick() => {
                    match registry.sweep().await {
                        Ok(r) if r.expired_idle + r.expired_absolute + r.purged > 0 => {
                            tracing::info!(expired_idle = r.expired_idle, expired_absolute = r.expired_absolute, purged = r.purged, "sweep");
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "sweep failed; will retry"),
                    }
                }
            }
        }
    })
}
