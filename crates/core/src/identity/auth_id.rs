//! The stable `auth_id` derived for users registered without one: disjoint ranges for uids,
//! gids and hashed names (FNV-1a of the domain and the folded SID or name).

use super::fold::fold;
use super::world::WORLD_AUTH_ID;
use crate::domain::{Domain, User};

/// Derived auth_ids live in disjoint ranges so that a uid can never collide with a gid or a
/// hashed name, and none of them with WORLD (`2<<32`).
const POSIX_UID_BASE: u64 = 3 << 32;
const POSIX_GID_BASE: u64 = 4 << 32;
const HASHED_BASE: u64 = 5 << 32;

/// FNV-1a 32-bit.
pub fn fnv1a32(bytes: &[u8]) -> u32 {
    const OFFSET_BASIS: u32 = 0x811c_9dc5;
    const PRIME: u32 = 0x0100_0193;
    bytes.iter().fold(OFFSET_BASIS, |hash, &b| {
        (hash ^ u32::from(b)).wrapping_mul(PRIME)
    })
}

/// The stable auth_id for a registered user without one: POSIX_USER with uid → `(3<<32)+uid`;
/// POSIX_GROUP with gid → `(4<<32)+gid`; WORLD → `0x200000000`; else, if a uid is set (any
/// domain) → `(3<<32)+uid`, else if a gid is → `(4<<32)+gid`, otherwise
/// `(5<<32) + fnv1a32(DOMAIN + ":" + fold(sid or name))`, where DOMAIN is [`Domain::as_str`]
/// (e.g. `ACTIVE_DIRECTORY`) and the sid is preferred over the name.
///
/// The value must never change for a given user: it is stored and filtered on, and a service
/// re-registering the same user must land on the same id. Folding the sid or name keeps it
/// independent of the case a service happened to send.
pub fn derive_auth_id(user: &User) -> u64 {
    match (user.domain, user.uid, user.gid) {
        (Domain::PosixUser, Some(uid), _) => POSIX_UID_BASE + u64::from(uid),
        (Domain::PosixGroup, _, Some(gid)) => POSIX_GID_BASE + u64::from(gid),
        (Domain::World, _, _) => WORLD_AUTH_ID,
        (_, Some(uid), _) => POSIX_UID_BASE + u64::from(uid),
        (_, None, Some(gid)) => POSIX_GID_BASE + u64::from(gid),
        (domain, None, None) => {
            let key = user.sid.as_deref().or(user.name.as_deref()).unwrap_or("");
            let text = format!("{}:{}", domain.as_str(), fold(key));
            HASHED_BASE + u64::from(fnv1a32(text.as_bytes()))
        }
    }
}
