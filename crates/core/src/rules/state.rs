//! The session state machine: `active` is the only state with a way out, and every way out
//! is final, so a tombstone can never become live again.

use crate::domain::SessionState;

/// Whether `from → to` is an allowed transition.
pub fn can_transition(from: SessionState, to: SessionState) -> bool {
    from == SessionState::Active && to != SessionState::Active
}

#[cfg(test)]
mod tests {
    use super::*;
    use SessionState::*;

    #[test]
    fn only_active_sessions_end_and_ends_are_final() {
        for to in [Closed, Terminated, Expired] {
            assert!(can_transition(Active, to));
            for from in [Closed, Terminated, Expired] {
                assert!(!can_transition(from, to));
                assert!(!can_transition(from, Active));
            }
        }
        assert!(!can_transition(Active, Active));
    }
}
