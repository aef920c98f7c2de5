//! Background work of a running server: the touch flusher and the sweeper, each its own
//! task, both stopping promptly when the server stops.

use sessiond_core::Registry;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Touches are flushed at least this often (DESIGN.md §1: at least once a second).
const FLUSH_EVERY: Duration = Duration::from_millis(500);

/// Starts the background tasks; the handle completes once all of them have stopped after
/// `stop` turned true.
pub fn spawn(
    registry: Arc<Registry>,
    sweep_every: Duration,
    stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    // Cache invalidations published by every replica (and this one) for as long as the
    // server runs.
    let follower = {
        let registry = registry.clone();
        tokio::spawn(async move { registry.follow_invalidations().await }).abort_handle()
    };
    // Separate tasks: a long sweep (a million sessions come due at once) must not hold up
    // the flushes, and each task notices the stop on its own.
    let flusher = tokio::spawn(flush_loop(registry.clone(), stop.clone()));
    let sweeper = tokio::spawn(sweep_loop(registry, sweep_every, stop));
    tokio::spawn(async move {
        let _ = flusher.await;
        let _ = sweeper.await;
        follower.abort();
    })
}

async fn flush_loop(registry: Arc<Registry>, mut stop: watch::Receiver<bool>) {
    let mut flush = tokio::time::interval(FLUSH_EVERY);
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = flush.tick() => {
                if let Err(e) = registry.flush_touches().await {
                    tracing::warn!(error = %e, "touch flush failed; will retry");
                }
            }
        }
    }
}

async fn sweep_loop(
    registry: Arc<Registry>,
    sweep_every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut sweep = tokio::time::interval(sweep_every.max(Duration::from_millis(100)));
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = sweep.tick() => {
                // Checked between batches: a stop during a long pass ends it there.
                let stopping = stop.clone();
                match registry.sweep_until(|| *stopping.borrow()).await {
                    Ok(r) if r.expired_idle + r.expired_absolute + r.purged > 0 => {
                        tracing::info!(expired_idle = r.expired_idle, expired_absolute = r.expired_absolute, purged = r.purged, "sweep");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "sweep failed; will retry"),
                }
                if *stop.borrow() {
                    break;
                }
            }
        }
    }
}
