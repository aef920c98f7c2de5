//! The identity filter grammar (Qumulo's `qq --identity`, DESIGN.md §1): prefixes, values,
//! SIDs, and what a filter string asks for ([`IdentityQuery`]).

use super::error::IdentityError;
use super::fold::fold;
use super::number::parse_int_base0;
use super::world::{is_everyone_name, EVERYONE_SID, WORLD_AUTH_ID};
use crate::domain::Domain;

/// Longest identity filter string accepted, in bytes (after trimming). A filter is a query
/// parameter; anything longer is a mistake or an attack, never a real identity.
pub const MAX_IDENTITY_BYTES: usize = 1024;

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
