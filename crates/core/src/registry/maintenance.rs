//! Background upkeep: flushing coalesced touches, expiring sessions, purging tombstones.

use super::Registry;
use crate::domain::SessionState;
use crate::error::CoreResult;
use crate::rules::timeouts;
use crate::store::EndInfo;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub expired_idle: u64,
    pub expired_absolute: u64,
    pub purged: u64,
}

const SWEEP_BATCH: usize = 1000;

/// Touches per store call when flushing. A flush under load holds tens of thousands; in one
/// call it would occupy the SQLite writer for a second or more, and a termination queued
/// behind it would wait that long. In chunks, it waits for one chunk at most.
pub const TOUCH_FLUSH_CHUNK: usize = 1024;

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
        let results = futures_util::future::join_all(
            batch
                .chunks(TOUCH_FLUSH_CHUNK)
                .map(|chunk| self.store.apply_touches(chunk)),
        )
        .await;
        let mut first_error = None;
        let mut failed = Vec::new();
        for (chunk, result) in batch.chunks(TOUCH_FLUSH_CHUNK).zip(results) {
            if let Err(e) = result {
                failed.extend_from_slice(chunk);
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            None => Ok(batch.len()),
            Some(e) => {
                self.touches.restore(failed);
                Err(e.into())
            }
        }
    }

    /// One sweeper pass: flush touches (so recent activity counts), expire every session past
    /// its deadline, and purge tombstones older than the retention period.
    pub async fn sweep(&self) -> CoreResult<SweepReport> {
        self.flush_touches().await?;
        let now = self.clock.now();
        let mut report = SweepReport::default();
        loop {
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
            let n = self.store.purge_ended(before, SWEEP_BATCH).await?;
            report.purged += n;
            if n < SWEEP_BATCH as u64 {
                break;
            }
        }
        Ok(report)
    }
}
