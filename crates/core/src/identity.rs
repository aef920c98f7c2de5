//! Qumulo's identity grammar: parsing identity filter strings (`ad:alice`, `uid:1001`,
//! `S-1-5-21-…`), folding names for comparison, and normalising the user identities that
//! services register (including the stable `auth_id` derived for users registered without one).
//!
//! Everything here is pure (no I/O, no clock), so every dialect and every store shares one
//! reading of an identity.

use crate::domain::{Domain, User};

/// The auth_id of WORLD's only member, `Everyone` (Qumulo's value).
pub const WORLD_AUTH_ID: u64 = 0x2_0000_0000;
/// The well-known SID of `Everyone`.
pub const EVERYONE_SID: &str = "S-1-1-0";
/// Longest identity filter string accepted, in bytes (after trimming). A filter is a query
/// parameter; anything longer is a mistake or an attack, never a real identity.
pub const MAX_IDENTITY_BYTES: usize = 1024;
/// Longest user name accepted at registration, in characters.
pub const MAX_NAME_CHARS: usize = 256;

/// Derived auth_ids live in disjoint ranges so that a uid can never collide with a gid or a
/// hashed name, and none of them with WORLD (`2<<32`).
const POSIX_UID_BASE: u64 = 3 << 32;
const POSIX_GID_BASE: u64 = 4 << 32;
const HASHED_BASE: u64 = 5 << 32;

/// What an identity filter string asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdentityQuery {
    /// A name lookup; `domain: None` matches that name in any domain. `folded` is `fold(name)`.
    Name {
        domain: Option<Domain>,
        folded: String,
    },
    /// A SID, upper-cased (`S-1-5-21-…`).
    Sid(String),
    /// A POSIX uid (`uid:N`).
    Uid(u32),
    /// A POSIX gid (`gid:N`).
    Gid(u32),
    /// Qumulo's auth_id (`auth_id:N`, and `world:Everyone`).
    AuthId(u64),
}

/// Why an identity string or a registered user was rejected. Every message names the
/// offending input, because it ends up verbatim in a 400 answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("empty identity")]
    Empty,
    #[error("identity is {len} bytes long; at most {max} are allowed")]
    TooLong { len: usize, max: usize },
    #[error("{0:?} contains a control character")]
    ControlChar(String),
    #[error(
        "unknown identity prefix {0:?} (expected local, world, ldap_user, ldap_group, ad, uid, \
         gid, auth_id, sid or name; a name containing ':' needs the name: prefix)"
    )]
    UnknownPrefix(String),
    #[error("nothing after the identity prefix \"{0}:\"")]
    EmptyValue(String),
    #[error(
        "invalid {kind} {value:?}: expected a non-negative integer (decimal, 0x…, 0o… or 0b…) \
         in range"
    )]
    BadNumber { kind: &'static str, value: String },
    #[error("invalid SID {0:?}: expected S-<revision>-<authority>-<subauthority>…")]
    BadSid(String),
    #[error("the WORLD domain only holds Everyone (SID S-1-1-0), not {0:?}")]
    WorldOnlyEveryone(String),
    #[error("a WORLD user needs the name Everyone or the SID S-1-1-0")]
    WorldNeedsEveryone,
    #[error("a user needs at least one of name, sid, uid, gid or auth_id")]
    MissingIdentity,
    #[error("empty user name")]
    EmptyName,
    #[error("user name is {len} characters long; at most {max} are allowed")]
    NameTooLong { len: usize, max: usize },
    #[error("user name {0:?} starts or ends with whitespace")]
    NameWhitespace(String),
}

/// The prefixes of the grammar, resolved case-insensitively.
#[derive(Clone, Copy)]
enum Prefix {
    Domain(Domain),
    Uid,
    Gid,
    AuthId,
    Sid,
    Name,
}

impl Prefix {
    fn parse(s: &str) -> Option<Prefix> {
        const TABLE: [(&str, Prefix); 10] = [
            ("local", Prefix::Domain(Domain::Local)),
            ("world", Prefix::Domain(Domain::World)),
            ("ldap_user", Prefix::Domain(Domain::PosixUser)),
            ("ldap_group", Prefix::Domain(Domain::PosixGroup)),
            ("ad", Prefix::Domain(Domain::ActiveDirectory)),
            ("uid", Prefix::Uid),
            ("gid", Prefix::Gid),
            ("auth_id", Prefix::AuthId),
            ("sid", Prefix::Sid),
            ("name", Prefix::Name),
        ];
        // ASCII-only comparison on purpose: a prefix is a keyword, and Unicode folding would
        // let look-alikes such as the long s (`ſid:`) or the Kelvin sign select one.
        TABLE
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(s))
            .map(|&(_, p)| p)
    }
}

/// Parses an identity filter string (Qumulo's `qq --identity` grammar, DESIGN.md §1).
///
/// Surrounding whitespace is ignored, both around the whole string and around the value after
/// a prefix (`ad: alice` is `ad:alice`), so a copy-pasted filter behaves as it reads.
pub fn parse_identity(s: &str) -> Result<IdentityQuery, IdentityError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(IdentityError::Empty);
    }
    if s.len() > MAX_IDENTITY_BYTES {
        return Err(IdentityError::TooLong {
            len: s.len(),
            max: MAX_IDENTITY_BYTES,
        });
    }
    if s.chars().any(char::is_control) {
        return Err(IdentityError::ControlChar(s.to_owned()));
    }
    // Only the first ':' separates; everything after it is the value, so `name:a:b` is the
    // name `a:b`. Without a ':' there is no prefix at all.
    let Some((prefix, value)) = s.split_once(':') else {
        return Ok(bare(s));
    };
    // An unknown prefix is an error rather than part of a name: a typo such as `aad:bob` must
    // be a 400, never a silently empty list.
    let kind = Prefix::parse(prefix).ok_or_else(|| IdentityError::UnknownPrefix(prefix.into()))?;
    let value = value.trim();
    if value.is_empty() {
        return Err(IdentityError::EmptyValue(prefix.to_owned()));
    }
    match kind {
        Prefix::Domain(Domain::World) => parse_world(value),
        // A SID identifies a user whatever domain the caller believed it to be in, so a
        // SID-shaped value after a domain prefix is looked up as a SID.
        Prefix::Domain(_) if is_sid(value) => Ok(IdentityQuery::Sid(upper_sid(value))),
        Prefix::Domain(domain) => Ok(IdentityQuery::Name {
            domain: Some(domain),
            folded: fold(value),
        }),
        Prefix::Uid => parse_u32("uid", value).map(IdentityQuery::Uid),
        Prefix::Gid => parse_u32("gid", value).map(IdentityQuery::Gid),
        Prefix::AuthId => parse_int_base0(value)
            .map(IdentityQuery::AuthId)
            .ok_or_else(|| bad_number("auth_id", value)),
        Prefix::Sid if is_sid(value) => Ok(IdentityQuery::Sid(upper_sid(value))),
        Prefix::Sid => Err(IdentityError::BadSid(value.to_owned())),
        // `name:` is the explicit escape hatch: even a SID-shaped value is a name here.
        Prefix::Name => Ok(IdentityQuery::Name {
            domain: None,
            folded: fold(value),
        }),
    }
}

/// A value without prefix: a SID if it looks like one, else a name in any domain.
fn bare(s: &str) -> IdentityQuery {
    if is_sid(s) {
        IdentityQuery::Sid(upper_sid(s))
    } else {
        IdentityQuery::Name {
            domain: None,
            folded: fold(s),
        }
    }
}

/// WORLD has exactly one member; Everyone's SID is accepted too since it names the same
/// identity, and both resolve to its auth_id, the one key every backend stores.
fn parse_world(value: &str) -> Result<IdentityQuery, IdentityError> {
    if is_everyone_name(value) || value.eq_ignore_ascii_case(EVERYONE_SID) {
        Ok(IdentityQuery::AuthId(WORLD_AUTH_ID))
    } else {
        Err(IdentityError::WorldOnlyEveryone(value.to_owned()))
    }
}

fn is_everyone_name(name: &str) -> bool {
    fold(name) == "everyone"
}

fn parse_u32(kind: &'static str, value: &str) -> Result<u32, IdentityError> {
    parse_int_base0(value)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| bad_number(kind, value))
}

fn bad_number(kind: &'static str, value: &str) -> IdentityError {
    IdentityError::BadNumber {
        kind,
        value: value.to_owned(),
    }
}

/// Only the leading `s` can be lower-case in a SID-shaped string (the rest is digits and
/// dashes), so ASCII upper-casing is exactly "upper-case the `s`".
fn upper_sid(s: &str) -> String {
    s.to_ascii_uppercase()
}

/// Full Unicode case folding (the `caseless` crate's `default_case_fold_str`), so ß == SS.
///
/// Stores keep this folded copy next to the name because SQLite's NOCASE folds ASCII only and
/// Redis has no collation at all.
pub fn fold(s: &str) -> String {
    caseless::default_case_fold_str(s)
}

/// Parses like Python's `int(x, 0)`: optional surrounding whitespace, optional `+`, prefixes
/// `0x`/`0o`/`0b` (any case), underscores allowed singly between digits (not leading or trailing,
/// not doubled, but allowed right after the base prefix as Python does), decimal literals may not
/// have leading zeros unless all zeros (`0`, `00` ok, `07` not); negative numbers and overflow
/// give `None`.
///
/// Two deliberate narrowings of Python: digits are ASCII only (Python also takes e.g. Arabic-
/// Indic digits), and any '-' sign is refused, even on `-0`, since an id written with a
/// minus is a mistake whatever its value.
pub fn parse_int_base0(s: &str) -> Option<u64> {
    let s = s.trim();
    let s = s.strip_prefix('+').unwrap_or(s);
    let radix = match s.as_bytes() {
        [b'0', b'x' | b'X', ..] => Some(16),
        [b'0', b'o' | b'O', ..] => Some(8),
        [b'0', b'b' | b'B', ..] => Some(2),
        _ => None,
    };
    if let Some(radix) = radix {
        // The first two bytes are ASCII, so slicing at 2 is on a char boundary.
        return parse_digits(&s[2..], radix, true);
    }
    let value = parse_digits(s, 10, false)?;
    // Python refuses decimal leading zeros ("07") because they once meant octal; a literal
    // made only of zeros ("00", "0_0") stays valid.
    if s.starts_with('0') && value != 0 {
        return None;
    }
    Some(value)
}

/// Digits of `radix` with Python's underscore rules; `underscore_first` allows one underscore
/// before the first digit, which Python permits right after a base prefix (`0x_1f`).
fn parse_digits(s: &str, radix: u32, underscore_first: bool) -> Option<u64> {
    let mut value: u64 = 0;
    let mut seen_digit = false;
    let mut after_underscore = false;
    for c in s.chars() {
        if c == '_' {
            if after_underscore || (!seen_digit && !underscore_first) {
                return None;
            }
            after_underscore = true;
            continue;
        }
        // to_digit accepts ASCII only, which also rejects signs and inner whitespace.
        let digit = c.to_digit(radix)?;
        value = value
            .checked_mul(u64::from(radix))?
            .checked_add(u64::from(digit))?;
        seen_digit = true;
        after_underscore = false;
    }
    (seen_digit && !after_underscore).then_some(value)
}

/// True when `s` (after upper-casing a leading 's') matches S-\d+-\d+(-\d+)+ .
pub fn is_sid(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("S-").or_else(|| s.strip_prefix("s-")) else {
        return false;
    };
    let mut groups = 0usize;
    for group in rest.split('-') {
        // ASCII digits only: `\d` in the design means 0-9, and a SID is an ASCII string.
        if group.is_empty() || !group.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        groups += 1;
    }
    // Revision, authority and at least one sub-authority.
    groups >= 3
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn name(domain: Option<Domain>, n: &str) -> IdentityQuery {
        IdentityQuery::Name {
            domain,
            folded: fold(n),
        }
    }

    fn sid(s: &str) -> IdentityQuery {
        IdentityQuery::Sid(s.to_owned())
    }

    // ---- parse_identity: prefixes -------------------------------------------------------

    #[test]
    fn domain_prefixes_select_the_domain() {
        let cases = [
            ("local:alice", Domain::Local),
            ("Local:alice", Domain::Local),
            ("ldap_user:alice", Domain::PosixUser),
            ("LDAP_USER:alice", Domain::PosixUser),
            ("ldap_group:staff", Domain::PosixGroup),
            ("Ldap_Group:staff", Domain::PosixGroup),
            ("ad:alice", Domain::ActiveDirectory),
            ("AD:alice", Domain::ActiveDirectory),
        ];
        for (input, domain) in cases {
            let value = &input[input.find(':').map_or(0, |i| i + 1)..];
            assert_eq!(
                parse_identity(input),
                Ok(name(Some(domain), value)),
                "{input}"
            );
        }
    }

    #[test]
    fn names_are_folded() {
        assert_eq!(
            parse_identity("ad:Alice"),
            Ok(IdentityQuery::Name {
                domain: Some(Domain::ActiveDirectory),
                folded: "alice".into()
            })
        );
        assert_eq!(
            parse_identity("STRASSE"),
            Ok(IdentityQuery::Name {
                domain: None,
                folded: "strasse".into()
            })
        );
        assert_eq!(parse_identity("Straße"), parse_identity("STRASSE"));
    }

    #[test]
    fn sid_shaped_value_after_domain_prefix_is_a_sid() {
        assert_eq!(
            parse_identity("ad:s-1-5-21-1-2-3"),
            Ok(sid("S-1-5-21-1-2-3"))
        );
        assert_eq!(
            parse_identity("local:S-1-5-32-544"),
            Ok(sid("S-1-5-32-544"))
        );
    }

    #[test]
    fn typed_ids() {
        assert_eq!(parse_identity("uid:1001"), Ok(IdentityQuery::Uid(1001)));
        assert_eq!(parse_identity("UID:1_000"), Ok(IdentityQuery::Uid(1000)));
        assert_eq!(parse_identity("uid:0x10"), Ok(IdentityQuery::Uid(16)));
        assert_eq!(
            parse_identity("uid:4294967295"),
            Ok(IdentityQuery::Uid(u32::MAX))
        );
        assert_eq!(parse_identity("gid:100"), Ok(IdentityQuery::Gid(100)));
        assert_eq!(parse_identity("GID:0b101"), Ok(IdentityQuery::Gid(5)));
        assert_eq!(
            parse_identity("auth_id:0x200000000"),
            Ok(IdentityQuery::AuthId(WORLD_AUTH_ID))
        );
        assert_eq!(
            parse_identity("auth_id:513"),
            Ok(IdentityQuery::AuthId(513))
        );
        assert_eq!(
            parse_identity("AUTH_ID:0X1F"),
            Ok(IdentityQuery::AuthId(31))
        );
        assert_eq!(
            parse_identity("auth_id:18446744073709551615"),
            Ok(IdentityQuery::AuthId(u64::MAX))
        );
        assert_eq!(
            parse_identity("sid:S-1-5-21-1-2-3"),
            Ok(sid("S-1-5-21-1-2-3"))
        );
        assert_eq!(
            parse_identity("SID:s-1-5-21-1-2-3"),
            Ok(sid("S-1-5-21-1-2-3"))
        );
        assert_eq!(parse_identity("name:bob"), Ok(name(None, "bob")));
        assert_eq!(parse_identity("NAME:Bob"), Ok(name(None, "bob")));
    }

    #[test]
    fn bad_numbers_are_errors() {
        let bad = |kind: &'static str, value: &str| {
            Err(IdentityError::BadNumber {
                kind,
                value: value.into(),
            })
        };
        assert_eq!(parse_identity("uid:-1"), bad("uid", "-1"));
        assert_eq!(parse_identity("uid:4294967296"), bad("uid", "4294967296"));
        assert_eq!(parse_identity("gid:abc"), bad("gid", "abc"));
        assert_eq!(parse_identity("uid:07"), bad("uid", "07"));
        assert_eq!(
            parse_identity("auth_id:18446744073709551616"),
            bad("auth_id", "18446744073709551616")
        );
        assert_eq!(parse_identity("auth_id:0x"), bad("auth_id", "0x"));
    }

    #[test]
    fn sids_bare_and_typed() {
        assert_eq!(parse_identity("s-1-1-0"), Ok(sid(EVERYONE_SID)));
        assert_eq!(parse_identity("S-1-1-0"), Ok(sid(EVERYONE_SID)));
        assert_eq!(
            parse_identity("  S-1-5-21-9-8-7-1001 "),
            Ok(sid("S-1-5-21-9-8-7-1001"))
        );
        assert_eq!(
            parse_identity("sid:S-1"),
            Err(IdentityError::BadSid("S-1".into()))
        );
        assert_eq!(
            parse_identity("sid:S-1-5"),
            Err(IdentityError::BadSid("S-1-5".into()))
        );
        assert_eq!(
            parse_identity("sid:bob"),
            Err(IdentityError::BadSid("bob".into()))
        );
        // Too few groups for a SID: just a name.
        assert_eq!(parse_identity("S-1-5"), Ok(name(None, "s-1-5")));
        // `name:` forces a name even when the value looks like a SID.
        assert_eq!(parse_identity("name:S-1-1-0"), Ok(name(None, "s-1-1-0")));
    }

    #[test]
    fn world_only_accepts_everyone() {
        let world = Ok(IdentityQuery::AuthId(WORLD_AUTH_ID));
        assert_eq!(parse_identity("world:Everyone"), world);
        assert_eq!(parse_identity("WORLD:everyone"), world);
        assert_eq!(parse_identity("World:EVERYONE"), world);
        assert_eq!(parse_identity("world:S-1-1-0"), world);
        assert_eq!(parse_identity("world:s-1-1-0"), world);
        assert_eq!(
            parse_identity("world:bob"),
            Err(IdentityError::WorldOnlyEveryone("bob".into()))
        );
        assert_eq!(
            parse_identity("world:S-1-5-21-1-2-3"),
            Err(IdentityError::WorldOnlyEveryone("S-1-5-21-1-2-3".into()))
        );
    }

    #[test]
    fn unknown_prefix_and_empty_values() {
        assert_eq!(
            parse_identity("foo:bar"),
            Err(IdentityError::UnknownPrefix("foo".into()))
        );
        assert_eq!(
            parse_identity(":bar"),
            Err(IdentityError::UnknownPrefix("".into()))
        );
        assert_eq!(
            parse_identity("DOMAIN\\a:b"),
            Err(IdentityError::UnknownPrefix("DOMAIN\\a".into()))
        );
        // A look-alike of `sid` (long s, U+017F) is not the keyword.
        assert_eq!(
            parse_identity("\u{17f}id:S-1-1-0"),
            Err(IdentityError::UnknownPrefix("\u{17f}id".into()))
        );
        assert_eq!(
            parse_identity("local:"),
            Err(IdentityError::EmptyValue("local".into()))
        );
        assert_eq!(
            parse_identity("UID:  "),
            Err(IdentityError::EmptyValue("UID".into()))
        );
        assert_eq!(
            parse_identity("name:"),
            Err(IdentityError::EmptyValue("name".into()))
        );
        assert_eq!(parse_identity("name:a:b"), Ok(name(None, "a:b")));
        assert_eq!(
            parse_identity("ad:a:b"),
            Ok(name(Some(Domain::ActiveDirectory), "a:b"))
        );
    }

    #[test]
    fn whitespace_length_and_control_chars() {
        assert_eq!(parse_identity(""), Err(IdentityError::Empty));
        assert_eq!(parse_identity("   \t\n"), Err(IdentityError::Empty));
        assert_eq!(parse_identity("  ad: alice  "), parse_identity("ad:alice"));
        assert_eq!(parse_identity("bob smith"), Ok(name(None, "bob smith")));
        let long = "a".repeat(MAX_IDENTITY_BYTES + 1);
        assert_eq!(
            parse_identity(&long),
            Err(IdentityError::TooLong {
                len: MAX_IDENTITY_BYTES + 1,
                max: MAX_IDENTITY_BYTES
            })
        );
        let limit = "a".repeat(MAX_IDENTITY_BYTES);
        assert_eq!(parse_identity(&limit), Ok(name(None, &limit)));
        assert_eq!(
            parse_identity("bob\0"),
            Err(IdentityError::ControlChar("bob\0".into()))
        );
        assert_eq!(
            parse_identity("ad:a\tb"),
            Err(IdentityError::ControlChar("ad:a\tb".into()))
        );
        assert_eq!(
            parse_identity("a\u{85}b"),
            Err(IdentityError::ControlChar("a\u{85}b".into()))
        );
    }

    #[test]
    fn error_messages_name_the_input() {
        let msg = |s: &str| parse_identity(s).map_err(|e| e.to_string()).err();
        assert!(msg("foo:bar").is_some_and(|m| m.contains("\"foo\"") && m.contains("name:")));
        assert!(msg("uid:-1").is_some_and(|m| m.contains("uid") && m.contains("\"-1\"")));
        assert!(msg("sid:S-1").is_some_and(|m| m.contains("\"S-1\"")));
        assert!(msg("world:bob").is_some_and(|m| m.contains("\"bob\"")));
        assert!(msg("local:").is_some_and(|m| m.contains("\"local:\"")));
    }

    // ---- parse_int_base0 ----------------------------------------------------------------

    #[test]
    fn python_int_base0_edge_cases() {
        let cases: [(&str, Option<u64>); 30] = [
            ("0", Some(0)),
            ("00", Some(0)),
            ("0_0", Some(0)),
            ("07", None),
            ("0_7", None),
            ("0x_1f", Some(31)),
            ("0X1F", Some(31)),
            ("0o17", Some(15)),
            ("0O_7", Some(7)),
            ("0b1_01", Some(5)),
            ("0B11", Some(3)),
            ("0b2", None),
            ("0x", None),
            ("0x_", None),
            ("0x__1", None),
            ("1__0", None),
            ("_1", None),
            ("1_", None),
            ("1_000", Some(1000)),
            (" 42 ", Some(42)),
            (" \t0b11\n", Some(3)),
            ("+5", Some(5)),
            ("+ 5", None),
            ("++5", None),
            ("-5", None),
            ("-0", None),
            ("18446744073709551615", Some(u64::MAX)),
            ("18446744073709551616", None),
            ("0x1_0000_0000_0000_0000", None),
            ("1e3", None),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_int_base0(input), expected, "{input:?}");
        }
        assert_eq!(parse_int_base0(""), None);
        assert_eq!(parse_int_base0("   "), None);
        assert_eq!(parse_int_base0("+"), None);
        // Non-ASCII digits (Python would take these) are refused.
        assert_eq!(parse_int_base0("\u{661}\u{662}"), None);
    }

    // ---- is_sid, fold, fnv --------------------------------------------------------------

    #[test]
    fn sid_shape() {
        assert!(is_sid("S-1-1-0"));
        assert!(is_sid("s-1-5-21-1-2-3"));
        assert!(!is_sid("S-1-1"));
        assert!(!is_sid("S-1-1-"));
        assert!(!is_sid("S--1-1-0"));
        assert!(!is_sid("S-1-1-0-x"));
        assert!(!is_sid(" S-1-1-0"));
        assert!(!is_sid("SID-1-1-0"));
        assert!(!is_sid("S-1-\u{661}-0"));
        assert!(!is_sid(""));
    }

    #[test]
    fn fold_is_full_unicode_case_folding() {
        assert_eq!(fold("ß"), fold("SS"));
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("Σ"), fold("σ"));
        assert_eq!(fold("ς"), fold("σ"));
        assert_eq!(fold("ΟΔΥΣΣΕΥΣ"), fold("οδυσσευς"));
        // KELVIN SIGN folds to a plain k.
        assert_eq!(fold("\u{212a}"), "k");
        assert_eq!(fold("\u{212a}elvin"), fold("KELVIN"));
        assert_eq!(fold("Alice"), "alice");
    }

    #[test]
    fn fnv1a32_reference_vectors() {
        assert_eq!(fnv1a32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a32(b"foobar"), 0xbf9c_f968);
    }

    // ---- derive_auth_id -----------------------------------------------------------------

    fn user(domain: Domain) -> User {
        User {
            domain,
            ..User::default()
        }
    }

    #[test]
    fn derive_auth_id_posix_and_world() {
        let mut u = user(Domain::PosixUser);
        u.uid = Some(1001);
        u.gid = Some(100);
        assert_eq!(derive_auth_id(&u), 12_884_902_889); // (3<<32)+1001

        let mut g = user(Domain::PosixGroup);
        g.gid = Some(100);
        g.uid = Some(7);
        assert_eq!(derive_auth_id(&g), 17_179_869_284); // (4<<32)+100

        let mut w = user(Domain::World);
        w.name = Some("Everyone".into());
        w.uid = Some(5);
        assert_eq!(derive_auth_id(&w), 0x2_0000_0000);
    }

    #[test]
    fn derive_auth_id_uid_or_gid_in_any_domain() {
        let mut a = user(Domain::ActiveDirectory);
        a.name = Some("alice".into());
        a.uid = Some(5);
        assert_eq!(derive_auth_id(&a), (3 << 32) + 5);

        let mut l = user(Domain::Local);
        l.gid = Some(7);
        assert_eq!(derive_auth_id(&l), (4 << 32) + 7);

        // A POSIX group that only has a uid still gets the uid range.
        let mut g = user(Domain::PosixGroup);
        g.uid = Some(9);
        assert_eq!(derive_auth_id(&g), (3 << 32) + 9);
    }

    #[test]
    fn derive_auth_id_hashes_sid_or_folded_name() {
        // Expected values computed independently (Python FNV-1a over the UTF-8 bytes).
        let mut a = user(Domain::ActiveDirectory);
        a.sid = Some("S-1-5-21-1-2-3".into());
        a.name = Some("Alice".into());
        // fnv1a32("ACTIVE_DIRECTORY:s-1-5-21-1-2-3") = 0xbb6543cb: the SID wins over the name.
        assert_eq!(derive_auth_id(&a), (5 << 32) + 0xbb65_43cb);
        assert_eq!(derive_auth_id(&a), 24_618_812_363);

        let mut b = user(Domain::ActiveDirectory);
        b.name = Some("ALICE".into());
        // fnv1a32("ACTIVE_DIRECTORY:alice") = 0x1708cc1d
        assert_eq!(derive_auth_id(&b), (5 << 32) + 0x1708_cc1d);

        let mut l = user(Domain::Local);
        l.name = Some("Alice".into());
        // fnv1a32("LOCAL:alice") = 0x5c75663e
        assert_eq!(derive_auth_id(&l), (5 << 32) + 0x5c75_663e);

        let mut s1 = user(Domain::Local);
        s1.name = Some("Straße".into());
        let mut s2 = user(Domain::Local);
        s2.name = Some("STRASSE".into());
        // fnv1a32("LOCAL:strasse") = 0x4bd595a9
        assert_eq!(derive_auth_id(&s1), (5 << 32) + 0x4bd5_95a9);
        assert_eq!(derive_auth_id(&s1), derive_auth_id(&s2));

        // Nothing to hash but the domain (only reachable for a user normalize_user rejects).
        // fnv1a32("API_NULL_DOMAIN:") = 0x3faa36f8
        assert_eq!(
            derive_auth_id(&user(Domain::ApiNullDomain)),
            (5 << 32) + 0x3faa_36f8
        );
    }

    // ---- normalize_user -----------------------------------------------------------------

    #[test]
    fn normalize_requires_some_identity() {
        let mut u = user(Domain::Local);
        u.full_name = Some("Nobody".into());
        assert_eq!(normalize_user(&mut u), Err(IdentityError::MissingIdentity));
    }

    #[test]
    fn normalize_keeps_a_given_auth_id() {
        let mut u = user(Domain::ActiveDirectory);
        u.auth_id = Some(42);
        assert_eq!(normalize_user(&mut u), Ok(()));
        assert_eq!(u.auth_id, Some(42));

        let mut p = user(Domain::PosixUser);
        p.uid = Some(1001);
        p.auth_id = Some(7);
        assert_eq!(normalize_user(&mut p), Ok(()));
        assert_eq!(p.auth_id, Some(7));
    }

    #[test]
    fn normalize_derives_auth_id_and_upper_cases_sid() {
        // The default domain is LOCAL.
        let mut u = User {
            sid: Some("s-1-5-21-1-2-3".into()),
            ..User::default()
        };
        assert_eq!(normalize_user(&mut u), Ok(()));
        assert_eq!(u.sid.as_deref(), Some("S-1-5-21-1-2-3"));
        // fnv1a32("LOCAL:s-1-5-21-1-2-3") = 0x72c55bee
        assert_eq!(u.auth_id, Some((5 << 32) + 0x72c5_5bee));

        let mut p = user(Domain::PosixUser);
        p.uid = Some(1001);
        p.name = Some("alice".into());
        assert_eq!(normalize_user(&mut p), Ok(()));
        assert_eq!(p.auth_id, Some(12_884_902_889));
    }

    #[test]
    fn normalize_rejects_bad_sids_and_names() {
        let mut s = User {
            sid: Some("S-1-5".into()),
            ..User::default()
        };
        assert_eq!(
            normalize_user(&mut s),
            Err(IdentityError::BadSid("S-1-5".into()))
        );

        let with_name = |n: &str| {
            let mut u = User {
                name: Some(n.to_owned()),
                ..User::default()
            };
            normalize_user(&mut u)
        };
        assert_eq!(with_name(""), Err(IdentityError::EmptyName));
        assert_eq!(with_name(&"é".repeat(MAX_NAME_CHARS)), Ok(()));
        assert_eq!(
            with_name(&"a".repeat(MAX_NAME_CHARS + 1)),
            Err(IdentityError::NameTooLong {
                len: MAX_NAME_CHARS + 1,
                max: MAX_NAME_CHARS
            })
        );
        assert_eq!(
            with_name("a\nb"),
            Err(IdentityError::ControlChar("a\nb".into()))
        );
        assert_eq!(
            with_name(" bob"),
            Err(IdentityError::NameWhitespace(" bob".into()))
        );
        assert_eq!(
            with_name("bob "),
            Err(IdentityError::NameWhitespace("bob ".into()))
        );
        // Colons and inner spaces are fine: `name:a:b` and `bob smith` find them.
        assert_eq!(with_name("a:b"), Ok(()));
        assert_eq!(with_name("bob smith"), Ok(()));
    }

    #[test]
    fn normalize_world_is_only_everyone() {
        let mut w = user(Domain::World);
        w.name = Some("everyone".into());
        w.auth_id = Some(5);
        assert_eq!(normalize_user(&mut w), Ok(()));
        assert_eq!(w.auth_id, Some(WORLD_AUTH_ID));

        let mut ws = user(Domain::World);
        ws.sid = Some("s-1-1-0".into());
        assert_eq!(normalize_user(&mut ws), Ok(()));
        assert_eq!(ws.sid.as_deref(), Some(EVERYONE_SID));
        assert_eq!(ws.auth_id, Some(WORLD_AUTH_ID));

        let mut bob = user(Domain::World);
        bob.name = Some("bob".into());
        assert_eq!(
            normalize_user(&mut bob),
            Err(IdentityError::WorldOnlyEveryone("bob".into()))
        );

        let mut mixed = user(Domain::World);
        mixed.name = Some("Everyone".into());
        mixed.sid = Some("S-1-5-21-1-2-3".into());
        assert_eq!(
            normalize_user(&mut mixed),
            Err(IdentityError::WorldOnlyEveryone("S-1-5-21-1-2-3".into()))
        );

        let mut anonymous = user(Domain::World);
        anonymous.uid = Some(0);
        assert_eq!(
            normalize_user(&mut anonymous),
            Err(IdentityError::WorldNeedsEveryone)
        );
    }

    #[test]
    fn normalized_user_is_found_by_its_filters() {
        // What normalize_user stores must be what parse_identity asks for.
        let mut u = user(Domain::ActiveDirectory);
        u.name = Some("Straße".into());
        u.sid = Some("s-1-5-21-1-2-3".into());
        assert_eq!(normalize_user(&mut u), Ok(()));
        let stored_name = u.name.as_deref().map(fold);
        assert_eq!(
            parse_identity("ad:STRASSE"),
            Ok(IdentityQuery::Name {
                domain: Some(Domain::ActiveDirectory),
                folded: stored_name.unwrap_or_default()
            })
        );
        assert_eq!(
            parse_identity("sid:s-1-5-21-1-2-3"),
            Ok(IdentityQuery::Sid(u.sid.clone().unwrap_or_default()))
        );
        let auth_id = u.auth_id.unwrap_or_default();
        assert_eq!(
            parse_identity(&format!("auth_id:{auth_id:#x}")),
            Ok(IdentityQuery::AuthId(auth_id))
        );
    }

    // ---- properties ---------------------------------------------------------------------

    proptest! {
        #[test]
        fn parse_never_panics_on_any_string(s in ".*") {
            let _ = parse_identity(&s);
        }

        #[test]
        fn parse_never_panics_on_printable_strings(s in "\\PC*") {
            let _ = parse_identity(&s);
        }

        #[test]
        fn parse_never_panics_near_the_grammar(
            s in "(?i)(local|world|ldap_user|ldap_group|ad|uid|gid|auth_id|sid|name|x)?:? ?\
                  [sS0-9xob_+-]{0,24}"
        ) {
            let _ = parse_identity(&s);
        }

        #[test]
        fn uid_and_gid_round_trip(n in any::<u32>()) {
            prop_assert_eq!(parse_identity(&format!("uid:{n}")), Ok(IdentityQuery::Uid(n)));
            prop_assert_eq!(parse_identity(&format!("gid:{n}")), Ok(IdentityQuery::Gid(n)));
            prop_assert_eq!(parse_identity(&format!("UID:{n:#x}")), Ok(IdentityQuery::Uid(n)));
        }

        #[test]
        fn uid_above_u32_is_an_error(n in (u64::from(u32::MAX) + 1)..=u64::MAX) {
            let is_bad_number = matches!(
                parse_identity(&format!("uid:{n}")),
                Err(IdentityError::BadNumber { kind: "uid", .. })
            );
            prop_assert!(is_bad_number);
        }

        #[test]
        fn auth_id_round_trips(n in any::<u64>()) {
            prop_assert_eq!(parse_identity(&format!("auth_id:{n}")), Ok(IdentityQuery::AuthId(n)));
            prop_assert_eq!(
                parse_identity(&format!("auth_id:{n:#x}")),
                Ok(IdentityQuery::AuthId(n))
            );
        }

        #[test]
        fn generated_sids_parse_bare_and_typed(
            s in "[sS]-1-[0-9]{1,12}(-[0-9]{1,12}){1,6}"
        ) {
            let expected = Ok(IdentityQuery::Sid(s.to_uppercase()));
            prop_assert!(is_sid(&s));
            prop_assert_eq!(parse_identity(&s), expected.clone());
            prop_assert_eq!(parse_identity(&format!("sid:{s}")), expected.clone());
            prop_assert_eq!(parse_identity(&format!("ad:{s}")), expected);
        }

        #[test]
        fn generated_names_parse(n in "\\p{L}[\\p{L}\\p{N}._-]{0,30}") {
            prop_assert_eq!(
                parse_identity(&format!("ad:{n}")),
                if is_sid(&n) {
                    Ok(IdentityQuery::Sid(n.to_uppercase()))
                } else {
                    Ok(IdentityQuery::Name {
                        domain: Some(Domain::ActiveDirectory),
                        folded: fold(&n),
                    })
                }
            );
            prop_assert_eq!(
                parse_identity(&n),
                if is_sid(&n) {
                    Ok(IdentityQuery::Sid(n.to_uppercase()))
                } else {
                    Ok(IdentityQuery::Name { domain: None, folded: fold(&n) })
                }
            );
            prop_assert_eq!(
                parse_identity(&format!("name:{n}")),
                Ok(IdentityQuery::Name { domain: None, folded: fold(&n) })
            );
        }

        #[test]
        fn letter_names_are_never_sids(n in "[a-zA-Z]{1,30}") {
            prop_assert_eq!(
                parse_identity(&format!("ad:{n}")),
                Ok(IdentityQuery::Name {
                    domain: Some(Domain::ActiveDirectory),
                    folded: fold(&n),
                })
            );
            prop_assert_eq!(
                parse_identity(&n),
                Ok(IdentityQuery::Name { domain: None, folded: n.to_lowercase() })
            );
        }

        #[test]
        fn parse_int_base0_agrees_with_formatting(n in any::<u64>()) {
            for text in [
                format!("{n}"),
                format!("{n:#x}"),
                format!("0X{n:X}"),
                format!("{n:#o}"),
                format!("0O{n:o}"),
                format!("{n:#b}"),
                format!("0B{n:b}"),
                format!(" +{n} "),
            ] {
                prop_assert_eq!(parse_int_base0(&text), Some(n), "{}", text);
            }
        }

        #[test]
        fn parse_int_base0_accepts_grouped_digits(n in any::<u64>()) {
            // Group decimal digits in threes with underscores, as Python literals often are.
            let digits = n.to_string();
            let grouped: String = digits
                .chars()
                .rev()
                .enumerate()
                .flat_map(|(i, c)| {
                    let sep = (i > 0 && i % 3 == 0).then_some('_');
                    sep.into_iter().chain(std::iter::once(c))
                })
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            prop_assert_eq!(parse_int_base0(&grouped), Some(n), "{}", grouped);
        }

        #[test]
        fn parse_int_base0_never_panics(s in "\\PC{0,40}") {
            let _ = parse_int_base0(&s);
        }

        #[test]
        fn fold_is_idempotent(s in "\\PC{0,40}") {
            let once = fold(&s);
            prop_assert_eq!(fold(&once), once);
        }

        #[test]
        fn hashed_auth_ids_stay_in_their_range(n in "\\PC{1,40}") {
            let mut u = user(Domain::ActiveDirectory);
            u.name = Some(n);
            let id = derive_auth_id(&u);
            prop_assert!(((5u64 << 32)..(6u64 << 32)).contains(&id));
        }
    }
}
