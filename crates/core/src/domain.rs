//! The session record every dialect is a view of, and the tenants and principals around it.

use crate::time::{HumanDuration, Timestamp};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

pub type TenantId = u32;
/// Tenant 1, named `default`, always exists.
pub const DEFAULT_TENANT_ID: TenantId = 1;
pub const DEFAULT_TENANT_NAME: &str = "default";
/// The service name of API logins (native and Qumulo).
pub const SERVICE_SESSIOND: &str = "sessiond";

/// A session id: a ULID in its 26-character Crockford form. Ids are time-ordered, so keyset
/// paging by id is also paging by registration time.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct SessionId(String);

impl SessionId {
    /// Accepts only a well-formed ULID (upper-cased), so an id from a URL can go straight
    /// into a key lookup.
    pub fn parse(s: &str) -> Option<SessionId> {
        // A ULID is 128 bits, so its first Crockford digit is at most '7'; the ulid crate
        // would silently drop the overflow.
        if s.len() != 26 || !s.as_bytes()[0].is_ascii_digit() || s.as_bytes()[0] > b'7' {
            return None;
        }
        ulid::Ulid::from_string(s)
            .ok()
            .map(|u| SessionId(u.to_string()))
    }
    pub fn from_ulid(u: ulid::Ulid) -> SessionId {
        SessionId(u.to_string())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The smallest id a ULID can have; a cursor "after" it starts at the beginning.
    pub fn min() -> SessionId {
        SessionId("00000000000000000000000000".into())
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SessionId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SessionId::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid session id {s:?}")))
    }
}

/// Qumulo's identity domains (the seed's enum, verbatim).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Domain {
    #[default]
    Local,
    ApiNullDomain,
    World,
    PosixUser,
    PosixGroup,
    ActiveDirectory,
    ApiInvalidDomain,
    ApiReservedDomain,
    ApiInternalDomain,
    ApiOperatorDomain,
    ApiCreatorDomain,
}

impl Domain {
    pub const ALL: [Domain; 11] = [
        Domain::Local,
        Domain::ApiNullDomain,
        Domain::World,
        Domain::PosixUser,
        Domain::PosixGroup,
        Domain::ActiveDirectory,
        Domain::ApiInvalidDomain,
        Domain::ApiReservedDomain,
        Domain::ApiInternalDomain,
        Domain::ApiOperatorDomain,
        Domain::ApiCreatorDomain,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Domain::Local => "LOCAL",
            Domain::ApiNullDomain => "API_NULL_DOMAIN",
            Domain::World => "WORLD",
            Domain::PosixUser => "POSIX_USER",
            Domain::PosixGroup => "POSIX_GROUP",
            Domain::ActiveDirectory => "ACTIVE_DIRECTORY",
            Domain::ApiInvalidDomain => "API_INVALID_DOMAIN",
            Domain::ApiReservedDomain => "API_RESERVED_DOMAIN",
            Domain::ApiInternalDomain => "API_INTERNAL_DOMAIN",
            Domain::ApiOperatorDomain => "API_OPERATOR_DOMAIN",
            Domain::ApiCreatorDomain => "API_CREATOR_DOMAIN",
        }
    }
}

impl FromStr for Domain {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Domain::ALL.into_iter().find(|d| d.as_str() == s).ok_or(())
    }
}

/// A user identity as Qumulo models it. `auth_id` travels as a decimal string because it
/// exceeds 2^53 and JavaScript clients would round it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    #[serde(default)]
    pub domain: Domain,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_u64_str",
        deserialize_with = "de_opt_u64_str_or_num"
    )]
    pub auth_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    /// The directory's own name for where the user comes from (`CORP`, `VSPHERE.LOCAL`):
    /// shown, never matched. vCenter names users `VSPHERE.LOCAL\Administrator`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
}

impl User {
    /// How vendor consoles name a user: `REALM\name` when the user has a realm (as vCenter
    /// shows `VSPHERE.LOCAL\Administrator`), else the plain name for local users,
    /// `DOMAIN\name` for directory users, and for a user known only by a number or SID that
    /// identifier in the identity grammar (`uid:1000`), so it is never empty when any
    /// identity is set.
    pub fn display_name(&self) -> String {
        match (&self.name, &self.realm) {
            (Some(name), Some(realm)) => format!("{realm}\\{name}"),
            (Some(name), None) => match self.domain {
                Domain::ActiveDirectory | Domain::PosixUser | Domain::PosixGroup => {
                    format!("{}\\{}", self.domain.as_str(), name)
                }
                _ => name.clone(),
            },
            (None, _) => self
                .sid
                .clone()
                .or_else(|| self.uid.map(|v| format!("uid:{v}")))
                .or_else(|| self.gid.map(|v| format!("gid:{v}")))
                .or_else(|| self.auth_id.map(|v| format!("auth_id:{v}")))
                .unwrap_or_default(),
        }
    }
}

fn ser_opt_u64_str<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(n) => s.collect_str(n),
        None => s.serialize_none(),
    }
}

fn de_opt_u64_str_or_num<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum StrOrNum {
        S(String),
        N(u64),
    }
    match Option::<StrOrNum>::deserialize(d)? {
        None => Ok(None),
        Some(StrOrNum::N(n)) => Ok(Some(n)),
        Some(StrOrNum::S(s)) => crate::identity::parse_int_base0(&s)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid auth_id {s:?}"))),
    }
}

/// Whether a session is an API login or a user session a service registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SessionKind {
    /// A principal's API login: its token authenticates API calls.
    Login,
    /// Registered by a service: its token is only ever checked through validate.
    Registered,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Login => "login",
            SessionKind::Registered => "registered",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "login" => Some(SessionKind::Login),
            "registered" => Some(SessionKind::Registered),
            _ => None,
        }
    }
}

/// `active` → `closed` | `terminated` | `expired`; the three ends are final.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SessionState {
    Active,
    Closed,
    Terminated,
    Expired,
}

impl SessionState {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Active => "active",
            SessionState::Closed => "closed",
            SessionState::Terminated => "terminated",
            SessionState::Expired => "expired",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(SessionState::Active),
            "closed" => Some(SessionState::Closed),
            "terminated" => Some(SessionState::Terminated),
            "expired" => Some(SessionState::Expired),
            _ => None,
        }
    }
    pub fn is_live(self) -> bool {
        self == SessionState::Active
    }
}

/// The operation a session is running right now (MongoDB's currentOp view); `None` = idle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Activity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub op_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
}

/// The one session record. Field names are the native API's JSON contract.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    pub id: SessionId,
    pub kind: SessionKind,
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub tenant_id: TenantId,
    pub service: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub originator: Option<String>,
    pub user: User,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    pub is_guest: bool,
    pub is_encrypted: bool,
    pub share_names: Vec<String>,
    pub num_opens: u64,
    pub call_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<Activity>,
    pub opened_at: Timestamp,
    pub last_active_at: Timestamp,
    pub idle_timeout: HumanDuration,
    pub absolute_timeout: HumanDuration,
    pub state: SessionState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<String>,
    pub attributes: BTreeMap<String, String>,
}

impl Session {
    /// The absolute deadline: the earlier of the idle and the absolute timeout (None when
    /// neither applies). Derived, never stored as truth.
    pub fn expires_at(&self) -> Option<Timestamp> {
        crate::rules::timeouts::deadline(self).map(|(t, _)| t)
    }
}

/// A tenant: everything is scoped to one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
}

/// Roles and what they may do (names follow vSphere's privilege style).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    Viewer,
    Service,
    Operator,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Service => "service",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "viewer" => Some(Role::Viewer),
            "service" => Some(Role::Service),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
    pub fn has(self, p: Privilege) -> bool {
        use Privilege::*;
        match self {
            Role::Admin => true,
            Role::Viewer => matches!(p, SessionsRead),
            Role::Service => matches!(p, SessionsRead | SessionsRegister),
            Role::Operator => matches!(p, SessionsRead | SessionsTerminate),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Privilege {
    SessionsRead,
    SessionsRegister,
    SessionsTerminate,
    SystemAdmin,
}

impl Privilege {
    pub fn as_str(self) -> &'static str {
        match self {
            Privilege::SessionsRead => "Sessions.Read",
            Privilege::SessionsRegister => "Sessions.Register",
            Privilege::SessionsTerminate => "Sessions.TerminateSession",
            Privilege::SystemAdmin => "System.Admin",
        }
    }
}

/// An API user. The password hash is an argon2id PHC string; it never leaves the server.
#[derive(Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub tenant_id: TenantId,
    pub role: Role,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: Timestamp,
}

impl fmt::Debug for Principal {
    // Hand-written so that a stray `{:?}` in a log line cannot leak the hash.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("name", &self.name)
            .field("tenant_id", &self.tenant_id)
            .field("role", &self.role)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// An access key of a principal (AK/SK request signing, DDS dialect). The secret is kept
/// only sealed (see `secretbox`); it is shown once, when the key is created.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub access_key: String,
    pub principal: String,
    pub tenant_id: TenantId,
    pub created_at: Timestamp,
    pub sealed_secret: Vec<u8>,
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKey")
            .field("access_key", &self.access_key)
            .field("principal", &self.principal)
            .field("tenant_id", &self.tenant_id)
            .finish_non_exhaustive()
    }
}

/// One audit record: who did what to which resource, when and from where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub at: Timestamp,
    pub actor: String,
    pub tenant_id: TenantId,
    pub action: String,
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Valid service names: `[a-z0-9_-]{1,32}`.
pub fn valid_service(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Valid tenant names: `[a-z0-9][a-z0-9_-]{0,63}`.
pub fn valid_tenant_name(s: &str) -> bool {
    let b = s.as_bytes();
    (1..=64).contains(&b.len())
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-')
}

/// Valid principal names: 1–64 characters of `[A-Za-z0-9._@-]`, so that names are safe in
/// URLs, logs and `DOMAIN\name` renderings.
pub fn valid_principal_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_privileges_follow_the_table() {
        assert!(Role::Viewer.has(Privilege::SessionsRead));
        assert!(!Role::Viewer.has(Privilege::SessionsTerminate));
        assert!(Role::Service.has(Privilege::SessionsRegister));
        assert!(!Role::Service.has(Privilege::SessionsTerminate));
        assert!(Role::Operator.has(Privilege::SessionsTerminate));
        assert!(!Role::Operator.has(Privilege::SessionsRegister));
        assert!(!Role::Operator.has(Privilege::SystemAdmin));
        assert!(Role::Admin.has(Privilege::SystemAdmin));
    }

    #[test]
    fn names_are_validated() {
        assert!(valid_service("smb"));
        assert!(!valid_service("SMB"));
        assert!(!valid_service(""));
        assert!(valid_tenant_name("0123456789abcdef0123456789abcdef"));
        assert!(!valid_tenant_name("-acme"));
        assert!(!valid_tenant_name("Acme"));
        assert!(valid_principal_name("ops.team@x"));
        assert!(!valid_principal_name("a b"));
    }

    #[test]
    fn session_id_parse_normalises_and_rejects() {
        let u = ulid::Ulid::from_parts(1, 2);
        let s = u.to_string();
        assert_eq!(SessionId::parse(&s.to_lowercase()).map(|i| i.0), Some(s));
        assert!(SessionId::parse("nope").is_none());
        assert!(SessionId::parse("ZZZZZZZZZZZZZZZZZZZZZZZZZZ").is_none());
    }
}

#[cfg(feature = "openapi")]
mod schema {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    use utoipa::openapi::{RefOr, Schema};

    impl utoipa::PartialSchema for super::SessionId {
        fn schema() -> RefOr<Schema> {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("ULID, time-ordered"))
                .examples(["01JD8X3Q2M5K7T9V1W3Y5Z7A9C"])
                .into()
        }
    }
    impl utoipa::ToSchema for super::SessionId {}
}
