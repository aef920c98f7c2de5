//! Session statistics (the console's overview): live sessions per tenant and service, and
//! sessions opened and ended per hour, as a store counts them (`SessionStore::session_stats`).

use crate::domain::TenantId;
use crate::time::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;

/// Nanoseconds in an hour.
const HOUR_NS: i64 = 3_600_000_000_000;

/// The Unix hour of `t` (seconds / 3600, rounded down): the bucket a session opened or
/// ended at `t` is counted in.
pub fn hour_of(t: Timestamp) -> i64 {
    t.nanos().div_euclid(HOUR_NS)
}

/// The first instant of Unix hour `h` (saturating far outside any real clock).
pub fn hour_start(h: i64) -> Timestamp {
    Timestamp(h.saturating_mul(HOUR_NS))
}

/// Live sessions of one service in one tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LiveCount {
    pub tenant_id: TenantId,
    pub service: String,
    pub count: u64,
}

/// Sessions of one service in one tenant opened, and ended (closed, terminated or
/// expired), within one hour.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HourCount {
    pub tenant_id: TenantId,
    pub service: String,
    /// Unix hour: seconds since the epoch / 3600 ([`hour_of`]).
    pub hour: i64,
    pub opened: u64,
    pub ended: u64,
}

/// What `SessionStore::session_stats` answers. Only non-zero counts are listed: `live` in
/// (tenant, service) order, `hourly` in (hour, tenant, service) order, each key once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionStats {
    /// The first hour counted in `hourly` (Unix hour).
    pub since_hour: i64,
    pub live: Vec<LiveCount>,
    pub hourly: Vec<HourCount>,
}

/// Sums partial counts (one per query, or per shard) into a [`SessionStats`]: adds up
/// repeated keys, drops zeros and sorts. Bookkeeping only; what counts is the store's
/// contract.
#[derive(Debug, Default)]
pub struct StatsBuilder {
    live: BTreeMap<(TenantId, String), u64>,
    /// (hour, tenant, service) → (opened, ended)
    hourly: BTreeMap<(i64, TenantId, String), (u64, u64)>,
}

impl StatsBuilder {
    pub fn live(&mut self, tenant: TenantId, service: &str, n: u64) {
        let c = self.live.entry((tenant, service.to_string())).or_default();
        *c = c.saturating_add(n);
    }

    pub fn opened(&mut self, tenant: TenantId, service: &str, hour: i64, n: u64) {
        let c = self.hour(tenant, service, hour);
        c.0 = c.0.saturating_add(n);
    }

    pub fn ended(&mut self, tenant: TenantId, service: &str, hour: i64, n: u64) {
        let c = self.hour(tenant, service, hour);
        c.1 = c.1.saturating_add(n);
    }

    fn hour(&mut self, tenant: TenantId, service: &str, hour: i64) -> &mut (u64, u64) {
        self.hourly
            .entry((hour, tenant, service.to_string()))
            .or_default()
    }

    pub fn build(self, since_hour: i64) -> SessionStats {
        SessionStats {
            since_hour,
            live: self
                .live
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|((tenant_id, service), count)| LiveCount {
                    tenant_id,
                    service,
                    count,
                })
                .collect(),
            hourly: self
                .hourly
                .into_iter()
                .filter(|(_, (o, e))| *o > 0 || *e > 0)
                .map(|((hour, tenant_id, service), (opened, ended))| HourCount {
                    tenant_id,
                    service,
                    hour,
                    opened,
                    ended,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_round_down_and_start_where_they_round() {
        let t = Timestamp(1_795_392_000_000_000_000); // 2026-11-23T00:00:00Z
        assert_eq!(hour_of(t), 498_720);
        assert_eq!(hour_of(Timestamp(t.0 + HOUR_NS - 1)), 498_720);
        assert_eq!(hour_of(Timestamp(t.0 + HOUR_NS)), 498_721);
        assert_eq!(hour_of(Timestamp(-1)), -1);
        assert_eq!(hour_start(498_720), t);
        assert_eq!(hour_of(hour_start(-3)), -3);
    }

    #[test]
    fn the_builder_sums_drops_zeros_and_sorts() {
        let mut b = StatsBuilder::default();
        b.live(2, "smb", 1);
        b.live(1, "nfs", 2);
        b.live(2, "smb", 3);
        b.live(3, "gone", 0);
        b.ended(1, "smb", 11, 1);
        b.opened(1, "smb", 10, 2);
        b.opened(1, "smb", 11, 1);
        b.opened(2, "smb", 11, 0);
        let s = b.build(10);
        assert_eq!(s.since_hour, 10);
        let live: Vec<_> = s
            .live
            .iter()
            .map(|c| (c.tenant_id, c.service.as_str(), c.count))
            .collect();
        assert_eq!(live, [(1, "nfs", 2), (2, "smb", 4)]);
        let hourly: Vec<_> = s
            .hourly
            .iter()
            .map(|c| (c.hour, c.tenant_id, c.service.as_str(), c.opened, c.ended))
            .collect();
        assert_eq!(hourly, [(10, 1, "smb", 2, 0), (11, 1, "smb", 1, 1)]);
    }
}
