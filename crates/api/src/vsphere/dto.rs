//! VI/JSON data objects of this dialect: ManagedObjectReference, UserSession, ServiceContent
//! and the request bodies, with the mapping from a sessiond `Session` to a `UserSession`.

use serde::{Deserialize, Serialize};
use sessiond_core::{Session, Timestamp, User};

/// The locale a session reports when its client named none (vCenter's default is `en`).
pub const DEFAULT_LOCALE: &str = "en";

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MoRef {
    #[serde(rename = "_typeName")]
    pub type_name: &'static str,
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

impl MoRef {
    pub fn new(kind: &str, value: &str) -> Self {
        MoRef {
            type_name: "ManagedObjectReference",
            kind: kind.to_string(),
            value: value.to_string(),
        }
    }
    pub fn session_manager() -> Self {
        MoRef::new("SessionManager", "SessionManager")
    }
}

/// `UserSession`: every property is required in the VI/JSON schema, so absent values are
/// rendered as empty strings rather than left out.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserSession {
    #[serde(rename = "_typeName")]
    pub type_name: &'static str,
    pub key: String,
    pub user_name: String,
    pub full_name: String,
    pub login_time: Timestamp,
    pub last_active_time: Timestamp,
    pub locale: String,
    pub message_locale: String,
    pub extension_session: bool,
    pub ip_address: String,
    pub user_agent: String,
    pub call_count: u64,
}

/// The name this console shows for a session's user (core's one rule).
pub fn user_name(u: &User) -> String {
    u.display_name()
}

impl UserSession {
    pub fn from_session(s: &Session) -> Self {
        let user_name = user_name(&s.user);
        let locale = s
            .locale
            .clone()
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| DEFAULT_LOCALE.to_string());
        UserSession {
            type_name: "UserSession",
            key: s.id.to_string(),
            full_name: s
                .user
                .full_name
                .clone()
                .unwrap_or_else(|| user_name.clone()),
            user_name,
            login_time: s.opened_at,
            last_active_time: s.last_active_at,
            // sessiond has no message catalogs of its own to fall back on, so messages use
            // the session's locale as given.
            message_locale: locale.clone(),
            locale,
            extension_session: false,
            ip_address: s.originator.clone().unwrap_or_default(),
            user_agent: s.user_agent.clone().unwrap_or_default(),
            call_count: s.call_count,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AboutInfo {
    #[serde(rename = "_typeName")]
    pub type_name: &'static str,
    pub name: String,
    pub full_name: String,
    pub vendor: String,
    pub version: String,
    pub build: String,
    pub os_type: String,
    pub product_line_id: String,
    pub api_type: String,
    pub api_version: String,
}

/// The schema requires `rootFolder`, `propertyCollector` and `about`; the first two name the
/// objects vCenter uses, and every call on them answers `MethodNotFound` here.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceContent {
    #[serde(rename = "_typeName")]
    pub type_name: &'static str,
    pub root_folder: MoRef,
    pub property_collector: MoRef,
    pub about: AboutInfo,
    pub session_manager: MoRef,
}

/// `LoginRequestType`. Unknown members (a `_typeName` some clients add) are ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    pub user_name: String,
    pub password: String,
    #[serde(default)]
    pub locale: Option<String>,
}

#[derive(Deserialize)]
pub struct SessionIsActiveRequest {
    #[serde(rename = "sessionID")]
    pub session_id: String,
    #[serde(rename = "userName")]
    pub user_name: String,
}

#[derive(Deserialize)]
pub struct TerminateSessionRequest {
    #[serde(rename = "sessionId")]
    pub session_id: Vec<String>,
}

/// A locale as vSphere clients send them (`en`, `en_US`, `de-DE`, `zh_Hans_CN`): a language
/// tag of letters, then up to four subtags, at most 35 characters.
pub fn valid_locale(l: &str) -> bool {
    let mut parts = l.split(['_', '-']);
    let lang_ok = parts
        .next()
        .is_some_and(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    let mut n = 0;
    let rest_ok = parts.all(|p| {
        n += 1;
        (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    l.len() <= 35 && lang_ok && rest_ok && n <= 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_follow_vsphere() {
        let mut u = User {
            name: Some("alice".into()),
            ..User::default()
        };
        assert_eq!(user_name(&u), "alice");
        u.domain = sessiond_core::Domain::ActiveDirectory;
        assert_eq!(user_name(&u), "ACTIVE_DIRECTORY\\alice");
        let u = User {
            uid: Some(1000),
            ..User::default()
        };
        assert_eq!(user_name(&u), "uid:1000");
    }

    #[test]
    fn locales() {
        for ok in ["en", "en_US", "de-DE", "zh_Hans_CN"] {
            assert!(valid_locale(ok), "{ok}");
        }
        for bad in [
            "",
            "e",
            "en__US",
            "en US",
            "1en",
            &"a".repeat(40),
            "en_US\n",
        ] {
            assert!(!valid_locale(bad), "{bad:?}");
        }
    }
}
