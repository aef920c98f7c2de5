//! Commvault's request and answer shapes, each with its XML form, and the mapping of a
//! sessiond `Session` onto a Commvault `sessions` entry.
//!
//! Mapping of a session (documented choices; Commvault's own meanings in brackets):
//! - `sessionId` = the session id [system-generated session id].
//! - `host` = `originator`, the client's address, `""` when unknown [host name of the machine
//!   where the user is logged on].
//! - `location` = `node_id`, else `server_address`, else `""`: where the session lives, which
//!   is what a registering service knows [where the user is logged on].
//! - `loginTime` = `opened_at`, `lastAccessedTime` = `last_active_at`, Unix seconds;
//!   `logoutTime` = 0 while live, else when it ended (`ended_at`, or its deadline for one past
//!   it that the sweeper has not ended yet); only a user's listing without
//!   `ONLY-ACTIVE-SESSIONS: true` shows ended ones [0 while logged on].
//! - `consoleType` = the session attribute `consoleType` when it is a number (a connector
//!   mirroring a real CommServe keeps the original), else 30 for a login (every Commvault
//!   login here is a REST API login, and 30 is the `clientType` cvpysdk logs in with), else 0
//!   (unknown) [5 CommCell Console, 13 CLI, 14 remote web console, 19 web console].
//! - `browserSessionId` = the attribute `browserSessionId` when it is a number, else 0: an API
//!   session has no browser session [id of the browser session].
//! - `user.userName` = the user's name, `DOMAIN\name` for directory users, or its identifier
//!   in the identity grammar when it has no name (`uid:1000`) [user name].
//! - `user.userId` = the user's numeric `auth_id`, or the one core derives from the identity
//!   when the record has none (a login session's user carries only its name); the same
//!   value `?userId=N` selects by and `WhoAmI` answers [system-generated user id].

use super::error::{CvError, CvResult};
use super::format::XmlOut;
use super::xml::Element;
use serde::{Deserialize, Serialize};
use sessiond_core::identity::derive_auth_id;
use sessiond_core::{Session, SessionKind, User};

/// The `consoleType` of a Commvault REST API login (the `clientType` cvpysdk sends).
pub const CONSOLE_TYPE_API: i64 = 30;

/// True for attributes that only declare namespaces, which every XML tool may add.
fn is_xmlns(name: &str) -> bool {
    name == "xmlns" || name.starts_with("xmlns:")
}

/// Refuses attributes other than `allowed` (and namespace declarations): a misspelt one
/// would otherwise be ignored silently.
fn only_attrs(el: &Element, allowed: &[&str]) -> CvResult<()> {
    match el
        .attrs
        .iter()
        .find(|(k, _)| !is_xmlns(k) && !allowed.contains(&k.as_str()))
    {
        None => Ok(()),
        Some((k, _)) => Err(CvError::BadRequest(format!(
            "unknown attribute {k:?} on <{}> (expected {})",
            el.name,
            allowed.join(", ")
        ))),
    }
}

fn root_named(el: &Element, name: &str) -> CvResult<()> {
    if el.local_name() == name {
        Ok(())
    } else {
        Err(CvError::BadRequest(format!(
            "expected a <{name}> document, got <{}>",
            el.name
        )))
    }
}

// ---- Login -------------------------------------------------------------------------------

/// `POST Login`. cvpysdk sends `{mode, username, password, deviceId, clientType}`; members
/// other than these three (mode, deviceId, clientType, commserver, timeout) change nothing
/// here and are ignored, as Commvault does.
#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    pub username: String,
    /// Base64 of the UTF-8 password.
    pub password: String,
    #[serde(default)]
    pub domain: Option<String>,
}

impl LoginRequest {
    /// The XML form Commvault documents: `<DM2ContentIndexing_CheckCredentialReq
    /// username="…" password="…" domain="…" …/>`.
    pub fn from_xml(el: &Element) -> CvResult<Self> {
        root_named(el, "DM2ContentIndexing_CheckCredentialReq")?;
        let need = |k: &str| {
            el.attr(k)
                .map(str::to_string)
                .ok_or_else(|| CvError::BadRequest(format!("Login needs a {k} attribute")))
        };
        Ok(LoginRequest {
            username: need("username")?,
            password: need("password")?,
            domain: el.attr("domain").map(str::to_string),
        })
    }
}

/// One entry of a Login's `errList`; cvpysdk shows `errList[0].errLogMessage`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrEntry {
    pub error_code: i64,
    pub err_log_message: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub provider_id: u32,
    pub provider_domain_name: String,
}

/// The Login answer. On success `token` and `userName` are present (cvpysdk takes a login as
/// successful exactly when both are) and `errList` is empty; on failure neither is, and
/// `errList` says why. `isAccountLocked`/`remainingLockTime` report the login backoff.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(rename = "userGUID", skip_serializing_if = "Option::is_none")]
    pub user_guid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_organization: Option<Organization>,
    pub is_account_locked: bool,
    pub remaining_lock_time: u64,
    pub force_password_change: bool,
    pub err_list: Vec<ErrEntry>,
}

impl LoginResponse {
    pub fn failed(err: ErrEntry, locked_secs: Option<u64>) -> Self {
        LoginResponse {
            token: None,
            user_name: None,
            user_guid: None,
            owner_organization: None,
            is_account_locked: locked_secs.is_some(),
            remaining_lock_time: locked_secs.unwrap_or(0),
            force_password_change: false,
            err_list: vec![err],
        }
    }

    pub fn to_xml(&self) -> XmlOut {
        let mut x = XmlOut::new("DM2ContentIndexing_CheckCredentialResp");
        if let Some(t) = &self.token {
            x = x.attr("token", t);
        }
        if let Some(u) = &self.user_name {
            x = x.attr("userName", u);
        }
        if let Some(g) = &self.user_guid {
            x = x.attr("userGUID", g);
        }
        x = x
            .attr("isAccountLocked", self.is_account_locked)
            .attr("remainingLockTime", self.remaining_lock_time)
            .attr("forcePasswordChange", self.force_password_change);
        if let Some(o) = &self.owner_organization {
            x = x.child(
                XmlOut::new("ownerOrganization")
                    .attr("providerId", o.provider_id)
                    .attr("providerDomainName", &o.provider_domain_name),
            );
        }
        x.children(self.err_list.iter().map(|e| {
            XmlOut::new("errList")
                .attr("errorCode", e.error_code)
                .attr("errLogMessage", &e.err_log_message)
        }))
    }
}

/// A stable GUID for a principal (names are unique across tenants): the first 128 bits of
/// SHA-256 over the name, shaped as an RFC 9562 version-8 (custom) UUID. sessiond keeps no
/// GUID of its own; this one never changes for a name, which is what clients key on.
pub fn user_guid(principal: &str) -> String {
    let h = sessiond_core::token::hash_verifier(&format!("sessiond principal {principal}"));
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

// ---- RenewLoginToken ---------------------------------------------------------------------

/// `POST RenewLoginToken {sessionId, deviceId}`: `sessionId` is the token to renew (cvpysdk
/// sends its whole `Authtoken` value, `QSDK …`). `deviceId` is ignored: sessiond does not tie
/// tokens to devices.
#[derive(Debug, Default, Deserialize)]
pub struct RenewRequest {
    #[serde(rename = "sessionId", default)]
    pub session_id: Option<String>,
}

impl RenewRequest {
    /// XML form: any root element with a `sessionId` attribute.
    pub fn from_xml(el: &Element) -> Self {
        RenewRequest {
            session_id: el.attr("sessionId").map(str::to_string),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct RenewResponse {
    pub token: String,
}

impl RenewResponse {
    pub fn to_xml(&self) -> XmlOut {
        XmlOut::new("Api_RenewLoginTokenResp").attr("token", &self.token)
    }
}

// ---- WhoAmI ------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WhoAmIUser {
    pub user_name: String,
    pub user_id: u64,
    #[serde(rename = "userGUID")]
    pub user_guid: String,
}

/// `POST WhoAmI`: `{"user":{"userName","userId","userGUID"}}`. cvpysdk reads
/// `user.userName` from JSON, or `CvEntities_ProcessingInstructionInfo/user/@userName` from XML.
#[derive(Debug, Serialize)]
pub struct WhoAmIResponse {
    pub user: WhoAmIUser,
}

impl WhoAmIResponse {
    pub fn to_xml(&self) -> XmlOut {
        XmlOut::new("CvEntities_ProcessingInstructionInfo").child(
            XmlOut::new("user")
                .attr("userName", &self.user.user_name)
                .attr("userId", self.user.user_id)
                .attr("userGUID", &self.user.user_guid),
        )
    }
}

// ---- Sessions ----------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionUser {
    pub user_name: String,
    pub user_id: u64,
}

/// One entry of `GET Sessions`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionEntry {
    pub session_id: String,
    pub browser_session_id: i64,
    pub host: String,
    pub location: String,
    pub login_time: i64,
    pub logout_time: i64,
    pub last_accessed_time: i64,
    pub console_type: i64,
    pub user: SessionUser,
}

/// The name this console shows for a session's user (core's one rule).
pub fn user_name(u: &User) -> String {
    u.display_name()
}

/// The `userId` this console shows for a session's user, and the one `?userId=N` selects
/// by. Registration stores an auth_id; a login session's user has only a name, so the id
/// core derives from the identity stands in for it (stable for that user).
pub fn user_id(u: &User) -> u64 {
    u.auth_id.unwrap_or_else(|| derive_auth_id(u))
}

fn numeric_attr(s: &Session, key: &str) -> Option<i64> {
    s.attributes.get(key).and_then(|v| v.trim().parse().ok())
}

impl SessionEntry {
    /// See the module comment for each field's source.
    pub fn from_session(s: &Session) -> Self {
        let default_console = if s.kind == SessionKind::Login {
            CONSOLE_TYPE_API
        } else {
            0
        };
        SessionEntry {
            session_id: s.id.to_string(),
            browser_session_id: numeric_attr(s, "browserSessionId").unwrap_or(0),
            host: s.originator.clone().unwrap_or_default(),
            location: s
                .node_id
                .clone()
                .or_else(|| s.server_address.clone())
                .unwrap_or_default(),
            login_time: s.opened_at.secs(),
            logout_time: 0,
            last_accessed_time: s.last_active_at.secs(),
            console_type: numeric_attr(s, "consoleType").unwrap_or(default_console),
            user: SessionUser {
                user_name: user_name(&s.user),
                user_id: user_id(&s.user),
            },
        }
    }

    /// The entry of a session that is no longer live: `logoutTime` says when it ended.
    pub fn with_logout_time(mut self, logout_secs: i64) -> Self {
        self.logout_time = logout_secs;
        self
    }

    pub fn to_xml(&self) -> XmlOut {
        XmlOut::new("sessions")
            .attr("sessionId", &self.session_id)
            .attr("browserSessionId", self.browser_session_id)
            .attr("host", &self.host)
            .attr("location", &self.location)
            .attr("loginTime", self.login_time)
            .attr("logoutTime", self.logout_time)
            .attr("lastAccessedTime", self.last_accessed_time)
            .attr("consoleType", self.console_type)
            .child(
                XmlOut::new("user")
                    .attr("userName", &self.user.user_name)
                    .attr("userId", self.user.user_id),
            )
    }
}

#[derive(Debug, Serialize)]
pub struct SessionsResponse {
    pub sessions: Vec<SessionEntry>,
}

impl SessionsResponse {
    pub fn to_xml(&self) -> XmlOut {
        XmlOut::new("Api_GetSessionsResp").children(self.sessions.iter().map(|s| s.to_xml()))
    }
}

/// `DELETE Sessions`, JSON form `{"sessions":[{"val":"…"}]}`. Unknown members are refused
/// (as unknown XML elements and attributes are), so that a `sessionId` copied from GET's
/// answer instead of `val` is a clear 400 rather than a logoff of nothing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogoffRequest {
    pub sessions: Vec<LogoffItem>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogoffItem {
    pub val: String,
}

/// The ids of the seed's XML form: `<Api_LogoffUsersRequest>` with one `<sessions val="…"/>`
/// per session. Any other element, a `sessions` without `val`, an unknown attribute or
/// non-blank text is a 400 and nothing is logged off.
pub fn logoff_ids_from_xml(root: &Element) -> CvResult<Vec<String>> {
    root_named(root, "Api_LogoffUsersRequest")?;
    only_attrs(root, &[])?;
    if !root.text.trim().is_empty() {
        return Err(CvError::BadRequest(
            "unexpected text inside <Api_LogoffUsersRequest>".into(),
        ));
    }
    root.children
        .iter()
        .map(|c| {
            if c.local_name() != "sessions" {
                return Err(CvError::BadRequest(format!(
                    "unknown element <{}> in <Api_LogoffUsersRequest> (expected <sessions val=\"…\"/>)",
                    c.name
                )));
            }
            only_attrs(c, &["val"])?;
            if !c.children.is_empty() || !c.text.trim().is_empty() {
                return Err(CvError::BadRequest(
                    "<sessions> takes only a val attribute".into(),
                ));
            }
            c.attr("val").map(str::to_string).ok_or_else(|| {
                CvError::BadRequest("<sessions> without a val attribute".into())
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commvault::xml::parse;

    #[test]
    fn guid_is_stable_and_shaped() {
        let g = user_guid("admin");
        assert_eq!(g, user_guid("admin"));
        assert_ne!(g, user_guid("admin2"));
        assert_eq!(g.len(), 36);
        assert_eq!(&g[14..15], "8");
    }

    #[test]
    fn logoff_xml_shape() {
        let ok = parse(b"<Api_LogoffUsersRequest><sessions val=\"a\"/><sessions val=\"b\"/></Api_LogoffUsersRequest>")
            .expect("xml");
        assert_eq!(
            logoff_ids_from_xml(&ok).ok(),
            Some(vec!["a".into(), "b".into()])
        );
        for bad in [
            "<Other/>",
            "<Api_LogoffUsersRequest><session val=\"a\"/></Api_LogoffUsersRequest>",
            "<Api_LogoffUsersRequest><sessions/></Api_LogoffUsersRequest>",
            "<Api_LogoffUsersRequest><sessions sessionId=\"a\"/></Api_LogoffUsersRequest>",
            "<Api_LogoffUsersRequest>x<sessions val=\"a\"/></Api_LogoffUsersRequest>",
            "<Api_LogoffUsersRequest><sessions val=\"a\"><x/></sessions></Api_LogoffUsersRequest>",
        ] {
            let el = parse(bad.as_bytes()).expect("well-formed");
            assert!(logoff_ids_from_xml(&el).is_err(), "{bad}");
        }
        let empty = parse(b"<Api_LogoffUsersRequest xmlns:xsi=\"x\"/>").expect("xml");
        assert_eq!(logoff_ids_from_xml(&empty).ok(), Some(vec![]));
    }

    #[test]
    fn user_names() {
        let mut u = User {
            name: Some("alice".into()),
            ..User::default()
        };
        assert_eq!(user_name(&u), "alice");
        u.domain = sessiond_core::Domain::ActiveDirectory;
        assert_eq!(user_name(&u), "ACTIVE_DIRECTORY\\alice");
        let u = User {
            uid: Some(7),
            ..User::default()
        };
        assert_eq!(user_name(&u), "uid:7");
    }
}
