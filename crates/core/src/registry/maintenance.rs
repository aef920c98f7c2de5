//! Background upkeep: flushing coalesced touches, expiring sessions, purging tombstones.

use super::Registry;
use crate::domain::SessionState;
use crate::error::CoreResult;
use crate::filter::TenantScope;
use crate::rules::timeouts;
use crate::store::{EndInfo, EndOutcome, EndScope};

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
        let scope = EndScope::tenant(TenantScope::All);
        loop {
            let due = self.store.due_for_expiry(now, SWEEP_BATCH).await?;
            if due.is_empty() {
                break;
            }
            let mut idle = Vec::new();
            let mut absolute = Vec::new();
            for s in &due {
                match timeouts::expired_at(s, s.last_active_at, now) {
                    Some(timeouts::ExpiryCause::Idle) => idle.push(s.id.clone()),
                    Some(timeouts::ExpiryCause::Absolute) => absolute.push(s.id.clone()),
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
                let b = self.end_sessions(&ids, &scope, &end, false).await?;
                let n = b
                    .outcomes
                    .iter()
                    .filter(|o| **o == EndOutcome::Ended)
                    .count() as u64;
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
