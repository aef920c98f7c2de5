//! Why an identity string or a registered user was rejected.

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
    #[error(
        "invalid realm {0:?}: 1 to {max} characters, no control characters, no backslash, no \
         leading or trailing whitespace",
        max = super::user::MAX_REALM_CHARS
    )]
    BadRealm(String),
}
