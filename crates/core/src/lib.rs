//! sessiond core: the session domain, identity grammar, rules and the `Store` trait. No I/O.

pub mod domain;
pub mod error;
pub mod events;
pub mod filter;
pub mod identity;
pub mod ids;
pub mod password;
pub mod registry;
pub mod rules;
pub mod secretbox;
pub mod sinks;
pub mod ssf;
pub mod stats;
pub mod store;
pub mod time;
pub mod token;
pub mod touch;
pub mod webhook;
pub mod wire;

pub use domain::*;
pub use error::{CoreError, CoreResult};
pub use registry::{Caller, LoginInfo, Registry, RegistryConfig};
pub use store::{Store, StoreError, StoreResult};
pub use time::{Clock, HumanDuration, ManualClock, SystemClock, Timestamp};
