//! Qumulo's identity grammar: parsing identity filter strings (`ad:alice`, `uid:1001`,
//! `S-1-5-21-…`), folding names for comparison, and normalising the user identities that
//! services register (including the stable `auth_id` derived for users registered without one).
//!
//! Everything here is pure (no I/O, no clock), so every dialect and every store shares one
//! reading of an identity.

//!
//! Files: `grammar` parses filter strings (and SIDs), `number` reads their numbers, `fold`
//! folds names, `world` holds WORLD's only member, `auth_id` derives stable auth_ids, `user`
//! normalises registered users, `error` says why any of it was refused.

mod auth_id;
mod error;
mod fold;
mod grammar;
mod number;
mod user;
mod world;

pub use auth_id::{derive_auth_id, fnv1a32};
pub use error::IdentityError;
pub use fold::fold;
pub use grammar::{is_sid, parse_identity, IdentityQuery, MAX_IDENTITY_BYTES};
pub use number::parse_int_base0;
pub use user::{normalize_user, MAX_NAME_CHARS, MAX_REALM_CHARS};
pub use world::{EVERYONE_SID, WORLD_AUTH_ID};

#[cfg(test)]
mod tests;
