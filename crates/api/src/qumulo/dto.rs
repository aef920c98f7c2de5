//! Qumulo's JSON shapes (seeds 000 and 001) and the mapping of a core `Session` onto an
//! `api_smb_session_info`.

use serde::{Deserialize, Serialize};
use sessiond_core::identity::derive_auth_id;
use sessiond_core::{Session, Timestamp};

/// `POST /v1/session/login`. Unknown fields are ignored, as a vendor server would.
#[derive(Deserialize)]
pub struct LoginBody {
    pub username: String,
    pub password: String,
}

#[derive(Serialize)]
pub struct LoginResponse {
    pub bearer_token: String,
}

/// Qumulo's duration: nanoseconds as a decimal string (they exceed 2^53).
#[derive(Debug, Serialize)]
pub struct Nanoseconds {
    pub nanoseconds: String,
}

impl Nanoseconds {
    /// The time from `from` to `now`, zero if `from` is later.
    fn between(from: Timestamp, now: Timestamp) -> Self {
        Nanoseconds {
            nanoseconds: now.since(from).as_nanos().to_string(),
        }
    }
}

/// Qumulo's `api_identity` on output: every field present, unknown ones `null`
/// (`qumulo.lib.identity_util.ApiIdentity`); `auth_id` is always a decimal string.
#[derive(Debug, Serialize)]
pub struct ApiIdentity {
    pub domain: &'static str,
    pub auth_id: String,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub sid: Option<String>,
    pub name: Option<String>,
}

/// `api_smb_session_info`: exactly the seed's fields.
#[derive(Debug, Serialize)]
pub struct SessionInfo {
    pub location: String,
    pub tenant_id: u32,
    pub originator: String,
    pub server_address: String,
    pub user: ApiIdentity,
    pub num_opens: u64,
    pub time_open: Nanoseconds,
    pub time_idle: Nanoseconds,
    pub is_guest: bool,
    pub is_encrypted: bool,
    pub share_names: Vec<String>,
}

impl SessionInfo {
    /// `now` is the registry clock's, read once per page so that every row agrees.
    pub fn from_session(s: Session, now: Timestamp) -> Self {
        // Registration always stores an auth_id; deriving it again covers older records
        // without one, and gives the same value.
        let auth_id = s.user.auth_id.unwrap_or_else(|| derive_auth_id(&s.user));
        SessionInfo {
            location: s.id.to_string(),
            tenant_id: s.tenant_id,
            // The seed types them as strings and qq compares `--ip` to `originator` as a plain
            // string, so an unknown address is "" rather than null.
            originator: s.originator.unwrap_or_default(),
            server_address: s.server_address.unwrap_or_default(),
            user: ApiIdentity {
                domain: s.user.domain.as_str(),
                auth_id: auth_id.to_string(),
                uid: s.user.uid,
                gid: s.user.gid,
                sid: s.user.sid,
                name: s.user.name,
            },
            num_opens: s.num_opens,
            time_open: Nanoseconds::between(s.opened_at, now),
            time_idle: Nanoseconds::between(s.last_active_at, now),
            is_guest: s.is_guest,
            is_encrypted: s.is_encrypted,
            share_names: s.share_names,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Paging {
    /// The relative URL of the next page, or `null` on the last one.
    pub next: Option<String>,
}

/// `GET /v1/smb/sessions/`.
#[derive(Debug, Serialize)]
pub struct SessionsPage {
    pub session_infos: Vec<SessionInfo>,
    pub paging: Paging,
}

/// One element of the close body: a session_info as GET returned it. Only `location` is
/// read; serde skips every other field whatever its type, so stale or odd values are fine.
#[derive(Debug, Deserialize)]
pub struct CloseItem {
    pub location: String,
}

/// One element of the close answer: `""` on success, otherwise why.
#[derive(Debug, Serialize)]
pub struct CloseResult {
    pub error_message: String,
}
