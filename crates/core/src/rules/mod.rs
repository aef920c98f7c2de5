//! Business rules that every store and dialect shares: timeouts, the state machine, bulk modes.

pub mod bulk;
pub mod state;
pub mod timeouts;
