//! WORLD, the domain with a single member: `Everyone`, its SID and its auth_id.

use super::fold::fold;

/// The auth_id of WORLD's only member, `Everyone` (Qumulo's value).
pub const WORLD_AUTH_ID: u64 = 0x2_0000_0000;
/// The well-known SID of `Everyone`.
pub const EVERYONE_SID: &str = "S-1-1-0";

/// `name` is Everyone's, in any case.
pub(super) fn is_everyone_name(name: &str) -> bool {
    fold(name) == "everyone"
}
