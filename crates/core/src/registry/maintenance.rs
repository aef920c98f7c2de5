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

impl Registry {
    /// Writes buffered touches in one store transaction. On failure they are put back.
    pub async fn flush_touches(&self) -> CoreResult<usize> {
        let batch = self.touches.drain();
        if batch.is_empty() {
            return Ok(0);
        }
        let n = batch.len();
        if let Err(e) = self.store.apply_touches(&batch).await {
            self.touches.restore(batch);
            return Err(e.into());
        }
        Ok(n)
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
