//! What the delivery workers ask of the registry: which sinks to push to, their leases,
//! the events each one carries, and the rule that moves a sink on after an attempt (the
//! cursor after successes; backoff, then disabling, after failures).

use super::Registry;
use crate::error::CoreResult;
use crate::events::{EventId, StoredEvent};
use crate::sinks::{
    sink_filter, AfterFailure, DeliveryAttempt, DeliveryState, Sink, SinkKind, SinkStatus,
};
use std::time::Duration;

impl Registry {
    /// Every enabled sink that events are pushed to (webhooks; SSF streams with push).
    pub async fn push_sinks(&self) -> CoreResult<Vec<Sink>> {
        let all = self
            .store
            .list_sinks(None, &crate::filter::TenantScope::All)
            .await?;
        Ok(all
            .into_iter()
            .filter(|s| s.status == SinkStatus::Enabled && self.is_push(s))
            .collect())
    }

    fn is_push(&self, s: &Sink) -> bool {
        match s.kind {
            SinkKind::Webhook => true,
            SinkKind::Ssf => crate::ssf::stream_config(s).is_ok_and(|c| c.is_push()),
        }
    }

    pub async fn sink(&self, id: &str) -> CoreResult<Option<Sink>> {
        Ok(self.store.get_sink(id).await?)
    }

    /// Takes or renews the lease that lets `holder` deliver sink `id` for `ttl`.
    pub async fn lease_sink(&self, id: &str, holder: &str, ttl: Duration) -> CoreResult<bool> {
        let now = self.clock.now();
        Ok(self
            .store
            .lease_sink(id, holder, now, now.plus(ttl))
            .await?)
    }

    /// The events after `after` that a webhook carries (read at most `limit`), and the id to
    /// continue from. (An SSF stream's are SETs: [`Registry::stream_sets`].)
    pub async fn sink_events(
        &self,
        sink: &Sink,
        after: EventId,
        limit: usize,
    ) -> CoreResult<(Vec<StoredEvent>, EventId)> {
        let filter = match sink.kind {
            SinkKind::Webhook => {
                let c = super::webhooks::webhook_config(sink)?;
                sink_filter(sink.tenant_id, &c.types, c.service.as_deref())
            }
            SinkKind::Ssf => {
                return Err(crate::error::CoreError::Internal(format!(
                    "sink {} is an SSF stream: its events are SETs",
                    sink.id
                )))
            }
        };
        self.events_page(&filter, after, limit).await
    }

    /// Records successes: every event through `through` is done, `attempts` go to the log.
    /// False when the sink moved meanwhile (another replica, an operator): reload it.
    pub async fn sink_delivered(
        &self,
        id: &str,
        expected: &DeliveryState,
        through: EventId,
        attempts: &[DeliveryAttempt],
    ) -> CoreResult<(bool, DeliveryState)> {
        let next = DeliveryState {
            cursor: through.max(expected.cursor),
            ..DeliveryState::default()
        };
        let ok = self
            .store
            .advance_sink(id, expected, &next, None, attempts)
            .await?;
        Ok((ok, next))
    }

    /// Records a failed attempt at the event after the cursor (after the successes before
    /// it, in `attempts` too): the sink retries later, or is disabled once its retry window
    /// is over. `unit` is a uniform draw in [0, 1) for the jitter.
    pub async fn sink_failed(
        &self,
        id: &str,
        expected: &DeliveryState,
        through: EventId,
        attempts: &[DeliveryAttempt],
        unit: f64,
    ) -> CoreResult<(bool, DeliveryState, AfterFailure)> {
        let now = self.clock.now();
        // Successes before the failure move the cursor and start the failure count afresh.
        let base = if through > expected.cursor {
            DeliveryState {
                cursor: through,
                ..DeliveryState::default()
            }
        } else {
            expected.clone()
        };
        let (next, what) = self.cfg.sink_retry.after_failure(&base, now, unit);
        let status = match &what {
            AfterFailure::Disable(why) => Some((SinkStatus::Disabled, Some(why.clone()))),
            AfterFailure::RetryAt(_) => None,
        };
        let ok = self
            .store
            .advance_sink(id, expected, &next, status, attempts)
            .await?;
        if ok {
            if let AfterFailure::Disable(why) = &what {
                tracing::warn!(sink = id, reason = %why, "event sink disabled");
                metrics::counter!("sessiond_sinks_disabled_total").increment(1);
            }
        }
        Ok((ok, next, what))
    }
}

impl Registry {
    /// Appends an attempt outside the event sequence (a test delivery) to a sink's log,
    /// leaving its state as it is.
    pub async fn log_sink_attempt(&self, sink: &Sink, a: &DeliveryAttempt) -> CoreResult<()> {
        let mut state = sink.delivery.clone();
        // The state is the compare-and-set's guard; should a worker move it meanwhile, read
        // it again (a few tries: the log entry is not worth more).
        for _ in 0..5 {
            if self
                .store
                .advance_sink(&sink.id, &state, &state, None, std::slice::from_ref(a))
                .await?
            {
                return Ok(());
            }
            match self.store.get_sink(&sink.id).await? {
                Some(s) => state = s.delivery,
                None => return Ok(()),
            }
        }
        Ok(())
    }
}
