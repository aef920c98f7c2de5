//! Idle and absolute timeouts: when a session's deadline falls and which timeout caused it.

use crate::domain::Session;
use crate::time::Timestamp;

/// Why a session expired; recorded as `ended_by`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpiryCause {
    Idle,
    Absolute,
}

impl ExpiryCause {
    pub fn ended_by(self) -> &'static str {
        match self {
            ExpiryCause::Idle => "timeout:idle",
            ExpiryCause::Absolute => "timeout:absolute",
        }
    }
}

/// The session's deadline given its last activity: the earlier of `last_active + idle` and
/// `opened + absolute` (a zero timeout means "none"). When both fall at the same instant the
/// absolute timeout is named, as it would have ended the session regardless of activity.
pub fn deadline_with(s: &Session, last_active: Timestamp) -> Option<(Timestamp, ExpiryCause)> {
    let idle = (!s.idle_timeout.0.is_zero()).then(|| last_active.plus(s.idle_timeout.0));
    let abs = (!s.absolute_timeout.0.is_zero()).then(|| s.opened_at.plus(s.absolute_timeout.0));
    match (idle, abs) {
        (Some(i), Some(a)) if i < a => Some((i, ExpiryCause::Idle)),
        (_, Some(a)) => Some((a, ExpiryCause::Absolute)),
        (Some(i), None) => Some((i, ExpiryCause::Idle)),
        (None, None) => None,
    }
}

pub fn deadline(s: &Session) -> Option<(Timestamp, ExpiryCause)> {
    deadline_with(s, s.last_active_at)
}

/// Whether a live session is past its deadline at `now` (validate refuses it even before
/// the sweeper has ended it).
pub fn expired_at(s: &Session, last_active: Timestamp, now: Timestamp) -> Option<ExpiryCause> {
    match deadline_with(s, last_active) {
        Some((t, cause)) if t <= now => Some(cause),
        _ => None,
    }
}
