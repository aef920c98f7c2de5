//! Time: nanosecond timestamps, humantime durations, and the `Clock` seam that tests control.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch. Stored as an integer everywhere so that ordering and
/// arithmetic are exact; rendered as RFC 3339 with microseconds on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const fn from_nanos(ns: i64) -> Self {
        Timestamp(ns)
    }
    pub const fn nanos(self) -> i64 {
        self.0
    }
    pub const fn millis(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }
    pub const fn secs(self) -> i64 {
        self.0.div_euclid(1_000_000_000)
    }
    /// `self + d`, saturating instead of overflowing (a 0 timeout means "none" and is
    /// handled by callers; huge configured timeouts must not wrap).
    pub fn plus(self, d: Duration) -> Timestamp {
        let add = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_add(add))
    }
    pub fn minus(self, d: Duration) -> Timestamp {
        let sub = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_sub(sub))
    }
    /// Elapsed time from `earlier` to `self`, zero when `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        if self.0 <= earlier.0 {
            Duration::ZERO
        } else {
            Duration::from_nanos((self.0 - earlier.0) as u64)
        }
    }
    pub fn to_system_time(self) -> SystemTime {
        if self.0 >= 0 {
            UNIX_EPOCH + Duration::from_nanos(self.0 as u64)
        } else {
            UNIX_EPOCH - Duration::from_nanos(self.0.unsigned_abs())
        }
    }
    pub fn from_system_time(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
            Err(e) => Timestamp(-i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX)),
        }
    }
    /// RFC 3339 UTC with microseconds, e.g. `2026-11-23T14:34:36.123456Z`.
    pub fn to_rfc3339(self) -> String {
        humantime::format_rfc3339_micros(self.to_system_time()).to_string()
    }
    /// Parses RFC 3339 (`Z` only, as humantime does; fractional seconds optional).
    pub fn parse_rfc3339(s: &str) -> Result<Self, humantime::TimestampError> {
        humantime::parse_rfc3339_weak(s.trim_end_matches('Z').trim_end_matches('z'))
            .or_else(|_| humantime::parse_rfc3339(s))
            .map(Timestamp::from_system_time)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse_rfc3339(&s)
            .map_err(|e| serde::de::Error::custom(format!("invalid RFC 3339 time {s:?}: {e}")))
    }
}

/// A duration that travels as a humantime string (`90s`, `15m`, `24h`); `0` means "none".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub fn parse(s: &str) -> Result<Self, humantime::DurationError> {
        let s = s.trim();
        if s == "0" {
            return Ok(HumanDuration(Duration::ZERO));
        }
        humantime::parse_duration(s).map(HumanDuration)
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_zero() {
            f.write_str("0s")
        } else {
            write!(f, "{}", humantime::format_duration(self.0))
        }
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        HumanDuration::parse(&s)
            .map_err(|e| serde::de::Error::custom(format!("invalid duration {s:?}: {e}")))
    }
}

/// Where "now" comes from. Every rule that depends on time asks a `Clock`, so tests drive
/// timeouts with [`ManualClock`] instead of sleeping.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_system_time(SystemTime::now())
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        ManualClock(AtomicI64::new(start.0))
    }
    /// Starts at a fixed, realistic instant (2026-11-23T00:00:00Z).
    pub fn at_default() -> Self {
        Self::new(Timestamp(1_795_392_000_000_000_000))
    }
    pub fn advance(&self, d: Duration) {
        let add = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
        self.0.fetch_add(add, Ordering::SeqCst);
    }
    pub fn set(&self, t: Timestamp) {
        self.0.store(t.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip_keeps_microseconds() {
        let t = Timestamp(1_795_444_476_123_456_000);
        let s = t.to_rfc3339();
        assert_eq!(s, "2026-11-23T14:34:36.123456Z");
        assert_eq!(Timestamp::parse_rfc3339(&s).ok(), Some(t));
        assert_eq!(
            Timestamp::parse_rfc3339("2026-11-23T14:34:36Z").ok(),
            Some(Timestamp(1_795_444_476_000_000_000))
        );
    }

    #[test]
    fn durations_parse_and_print() {
        assert_eq!(
            HumanDuration::parse("90s").ok(),
            Some(HumanDuration(Duration::from_secs(90)))
        );
        assert_eq!(
            HumanDuration::parse("0").ok(),
            Some(HumanDuration(Duration::ZERO))
        );
        assert_eq!(HumanDuration(Duration::from_secs(900)).to_string(), "15m");
        assert!(HumanDuration::parse("soon").is_err());
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::at_default();
        let a = c.now();
        assert_eq!(c.now(), a);
        c.advance(Duration::from_secs(5));
        assert_eq!(c.now().since(a), Duration::from_secs(5));
    }
}

/// Schemas for the OpenAPI document: both travel as strings.
#[cfg(feature = "openapi")]
mod schema {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    use utoipa::openapi::{RefOr, Schema};

    impl utoipa::PartialSchema for super::Timestamp {
        fn schema() -> RefOr<Schema> {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                .description(Some("RFC 3339 UTC with microseconds"))
                .into()
        }
    }
    impl utoipa::ToSchema for super::Timestamp {}

    impl utoipa::PartialSchema for super::HumanDuration {
        fn schema() -> RefOr<Schema> {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("humantime duration such as 90s, 15m, 24h; 0 = none"))
                .examples(["30m"])
                .into()
        }
    }
    impl utoipa::ToSchema for super::HumanDuration {}
}
