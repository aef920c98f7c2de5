//! Validating and normalising the user identity a service registers.

use super::auth_id::derive_auth_id;
use super::error::IdentityError;
use super::grammar::is_sid;
use super::world::{is_everyone_name, EVERYONE_SID, WORLD_AUTH_ID};
use crate::domain::{Domain, User};

/// Longest user name accepted at registration, in characters.
pub const MAX_NAME_CHARS: usize = 256;
/// Longest realm accepted at registration, in characters (directory names are short).
pub const MAX_REALM_CHARS: usize = 128;

/// Validates and normalises a user for registration: at least one of name/sid/uid/gid/auth_id
/// must be set (else [`IdentityError::MissingIdentity`]); a sid must satisfy [`is_sid`] and is
/// stored upper-cased; a name must be non-empty, at most [`MAX_NAME_CHARS`] characters, free of
/// control characters; the WORLD domain requires the name `Everyone` (case-insensitive) or the
/// SID `S-1-1-0` and forces auth_id [`WORLD_AUTH_ID`]; auth_id is set to [`derive_auth_id`] when
/// absent.
///
/// Names also may not start or end with whitespace: filters trim their input, so such a
/// name could be registered but never found again.
///
/// On error the user may be partly normalised (e.g. its SID upper-cased); callers reject it
/// anyway.
pub fn normalize_user(user: &mut User) -> Result<(), IdentityError> {
    if user.name.is_none()
        && user.sid.is_none()
        && user.uid.is_none()
        && user.gid.is_none()
        && user.auth_id.is_none()
    {
        return Err(IdentityError::MissingIdentity);
    }
    if let Some(name) = &user.name {
        check_name(name)?;
    }
    if let Some(realm) = &user.realm {
        check_realm(realm)?;
    }
    if let Some(sid) = &mut user.sid {
        if !is_sid(sid) {
            return Err(IdentityError::BadSid(sid.clone()));
        }
        sid.make_ascii_uppercase();
    }
    if user.domain == Domain::World {
        // Every identity given must be Everyone's; a WORLD user named "bob" or carrying another
        // SID is contradictory, and guessing which half to trust would be worse than a 400.
        if let Some(name) = user.name.as_deref().filter(|n| !is_everyone_name(n)) {
            return Err(IdentityError::WorldOnlyEveryone(name.to_owned()));
        }
        if let Some(sid) = user.sid.as_deref().filter(|s| *s != EVERYONE_SID) {
            return Err(IdentityError::WorldOnlyEveryone(sid.to_owned()));
        }
        if user.name.is_none() && user.sid.is_none() {
            return Err(IdentityError::WorldNeedsEveryone);
        }
        user.auth_id = Some(WORLD_AUTH_ID);
    }
    if user.auth_id.is_none() {
        user.auth_id = Some(derive_auth_id(user));
    }
    Ok(())
}

/// A realm is shown as `REALM\name`, so a backslash in it would make the shown name ambiguous.
fn check_realm(realm: &str) -> Result<(), IdentityError> {
    let len = realm.chars().count();
    if len == 0
        || len > MAX_REALM_CHARS
        || realm.chars().any(|c| c.is_control() || c == '\\')
        || realm.trim() != realm
    {
        return Err(IdentityError::BadRealm(realm.to_owned()));
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), IdentityError> {
    if name.is_empty() {
        return Err(IdentityError::EmptyName);
    }
    let len = name.chars().count();
    if len > MAX_NAME_CHARS {
        return Err(IdentityError::NameTooLong {
            len,
            max: MAX_NAME_CHARS,
        });
    }
    if name.chars().any(char::is_control) {
        return Err(IdentityError::ControlChar(name.to_owned()));
    }
    if name.trim() != name {
        return Err(IdentityError::NameWhitespace(name.to_owned()));
    }
    Ok(())
}
