//! Background upkeep: flushing coalesced touches, expiring sessions, purging tombstones.

use super::Registry;
use crate::domain::SessionState;
use crate::error::CoreResult;
use crate::rules::timeouts;
use crate::store::{EndInfo, Touch};
use crate::{StoreError, StoreResult};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub expired_idle: u64,
    pub expired_absolute: u64,
    pub purged: u64,
    /// Events older than the event retention, deleted.
    pub events_purged: u64,
}

const SWEEP_BATCH: usize = 1000;

/// Touches per store call when flushing. A flush under load holds tens of thousands; in one
/// call it would occupy the SQLite writer for a second or more, and a termination queued
/// behind it would wait that long. In chunks, it waits for one chunk at most.
pub const TOUCH_FLUSH_CHUNK: usize = 1024;

/// Sends every chunk of `batch` to `apply` at once; on failure, the touches of the chunks
/// that failed (and only those) with the first error.
async fn write_in_chunks<'a, F, Fut>(
    batch: &'a [Touch],
    apply: F,
) -> Result<(), (Vec<Touch>, StoreError)>
where
    F: Fn(&'a [Touch]) -> Fut,
    Fut: std::future::Future<Output = StoreResult<()>>,
{
    let results = futures_util::future::join_all(batch.chunks(TOUCH_FLUSH_CHUNK).map(&apply)).await;
    let mut first_error = None;
    let mut failed = Vec::new();
    for (chunk, result) in batch.chunks(TOUCH_FLUSH_CHUNK).zip(results) {
        if let Err(e) = result {
            failed.extend_from_slice(chunk);
            first_error.get_or_insert(e);
        }
    }
    match first_error {
        None => Ok(()),
        Some(e) => Err((failed, e)),
    }
}

impl Registry {
    /// Writes buffered touches to the store in chunks of [`TOUCH_FLUSH_CHUNK`], all sent at
    /// once (a store may apply consecutive chunks in one transaction). Each chunk is written
    /// or not as a whole; the chunks that failed are put back, the written ones are not, so
    /// a retry never adds a call count twice.
    pub async fn flush_touches(&self) -> CoreResult<usize> {
        let batch = self.touches.drain();
        if batch.is_empty() {
            return Ok(0);
        }
        match write_in_chunks(&batch, |chunk| self.store.apply_touches(chunk)).await {
            Ok(()) => Ok(batch.len()),
            Err((failed, e)) => {
                self.touches.restore(failed);
                Err(e.into())
            }
        }
    }

    /// One sweeper pass: flush touches (so recent activity counts), expire every session past
    /// its deadline, and purge tombstones older than the retention period.
    pub async fn sweep(&self) -> CoreResult<SweepReport> {
        self.sweep_until(|| false).await
    }

    /// [`Self::sweep`], stopping between batches once `stop()` says so: a server asked to
    /// shut down while a million sessions came due must not work through all of them first.
    /// What is left is due at the next pass (of this or another replica).
    pub async fn sweep_until(&self, stop: impl Fn() -> bool) -> CoreResult<SweepReport> {
        self.flush_touches().await?;
        let now = self.clock.now();
        let mut report = SweepReport::default();
        loop {
            if stop() {
                return Ok(report);
            }
            let due = self.store.due_for_expiry(now, SWEEP_BATCH).await?;
            if due.is_empty() {
                break;
            }
            let mut idle = Vec::new();
            let mut absolute = Vec::new();
            for s in &due {
                match timeouts::expired_at(s, s.last_active_at, now) {
                    Some(timeouts::ExpiryCause::Idle) => idle.push(s.clone()),
                    Some(timeouts::ExpiryCause::Absolute) => absolute.push(s.clone()),
                    // The stored deadline was stale (a patch raced a touch): correct it.
                    None => {
                        let d = timeouts::deadline(s).map(|(t, _)| t);
                        self.store.set_deadline(&s.id, d).await?;
                    }
                }
            }
            for (ids, cause) in [
                (idle, timeouts::ExpiryCause::Idle),
                (absolute, timeouts::ExpiryCause::Absolute),
            ] {
                if ids.is_empty() {
                    continue;
                }
                let end = EndInfo {
                    state: SessionState::Expired,
                    at: now,
                    by: cause.ended_by().to_string(),
                    reason: None,
                };
                // Several replicas may sweep at once: the compare-and-set ends each session
                // once, and only the replica that ended it counts it.
                let n = self.end_admitted(&ids, &end, false).await?.ended_count();
                match cause {
                    timeouts::ExpiryCause::Idle => report.expired_idle += n,
                    timeouts::ExpiryCause::Absolute => report.expired_absolute += n,
                }
            }
            if due.len() < SWEEP_BATCH {
                break;
            }
        }
        let before = now.minus(self.cfg.retention);
        loop {
            if stop() {
                return Ok(report);
            }
            let n = self.store.purge_ended(before, SWEEP_BATCH).await?;
            report.purged += n;
            if n < SWEEP_BATCH as u64 {
                break;
            }
        }
        let before = now.minus(super::auth::LOGIN_FAILURE_MEMORY);
        loop {
            if stop() {
                return Ok(report);
            }
            let n = self.store.purge_login_failures(before, SWEEP_BATCH).await?;
            if n < SWEEP_BATCH as u64 {
                break;
            }
        }
        let before = now.minus(self.cfg.event_retention);
        loop {
            if stop() {
                return Ok(report);
            }
            let n = self.store.purge_events(before, SWEEP_BATCH).await?;
            report.events_purged += n;
            if n < SWEEP_BATCH as u64 {
                break;
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SessionId;
    use crate::time::Timestamp;
    use std::sync::Mutex;

    fn touches(n: usize) -> Vec<Touch> {
        (0..n)
            .map(|i| Touch {
                id: SessionId::min(),
                at: Timestamp(i as i64),
                calls: 1,
                expires_at: None,
            })
            .collect()
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    #[test]
    fn only_the_chunks_that_failed_are_given_back() {
        let batch = touches(3 * TOUCH_FLUSH_CHUNK + 5);
        let calls = Mutex::new(0usize);
        // The second of four chunks fails; the others are written.
        let out = block_on(write_in_chunks(&batch, |chunk: &[Touch]| {
            let n = {
                let mut c = calls.lock().expect("lock");
                *c += 1;
                *c
            };
            let first = chunk.first().map(|t| t.at);
            async move {
                if n == 2 {
                    Err(StoreError::Unavailable(format!("chunk from {first:?}")))
                } else {
                    Ok(())
                }
            }
        }));
        let (failed, e) = out.expect_err("one chunk failed");
        assert_eq!(*calls.lock().expect("lock"), 4, "every chunk was sent");
        assert_eq!(
            failed,
            batch[TOUCH_FLUSH_CHUNK..2 * TOUCH_FLUSH_CHUNK].to_vec(),
            "exactly the failed chunk comes back"
        );
        assert!(matches!(e, StoreError::Unavailable(_)));
        let all_ok = block_on(write_in_chunks(&batch, |_: &[Touch]| async { Ok(()) }));
        assert!(all_ok.is_ok());
    }
}
