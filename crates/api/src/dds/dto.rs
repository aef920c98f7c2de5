//! DDS JSON shapes (the SDK's `ListSessionsResponse`, `QuerySessionResponse`,
//! `DeleteSessionRequestBody`) and the mapping of a core `Session` onto a node session.

use serde::{Deserialize, Serialize};
use sessiond_core::{Session, Timestamp};

/// `POST …/nodes/{node_id}/session`. Unknown fields are ignored, as a vendor server would.
#[derive(Debug, Deserialize)]
pub struct KillBody {
    pub sessions: Vec<String>,
}

/// The kill's answer: an empty object, as the seed shows.
#[derive(Debug, Serialize)]
pub struct Empty {}

/// `GET …/nodes/{node_id}/sessions`.
#[derive(Debug, Serialize)]
pub struct SessionsPage {
    /// Every match, not just this page.
    pub total_count: u64,
    pub sessions: Vec<SessionInfo>,
}

/// One node session (`QuerySessionResponse`): `active` is a boolean, everything else a
/// string, `""` when sessiond has no value (the SDK types them all `str`).
#[derive(Debug, Serialize)]
pub struct SessionInfo {
    pub id: String,
    pub active: bool,
    pub operation: String,
    #[serde(rename = "type")]
    pub op_type: String,
    /// Microseconds the current operation has run.
    pub cost_time: String,
    pub plan_summary: String,
    pub host: String,
    pub client: String,
    pub description: String,
    pub namespace: String,
    pub db: String,
    pub user: String,
}

impl SessionInfo {
    /// `now` is the registry clock's, read once per page so that every row agrees.
    pub fn from_session(s: Session, now: Timestamp) -> Self {
        let active = s.activity.is_some();
        let a = s.activity.unwrap_or_default();
        // As in MongoDB's currentOp, where only a running operation has `microsecs_running`:
        // an idle session, or an operation whose start is unknown, has no running time.
        let cost_time = a
            .started_at
            .map(|t| now.since(t).as_micros().to_string())
            .unwrap_or_default();
        SessionInfo {
            id: s.id.to_string(),
            active,
            operation: a.operation.unwrap_or_default(),
            op_type: a.op_type.unwrap_or_default(),
            cost_time,
            plan_summary: a.plan_summary.unwrap_or_default(),
            host: s.server_address.unwrap_or_default(),
            client: s.originator.unwrap_or_default(),
            description: a.description.unwrap_or_default(),
            namespace: a.namespace.unwrap_or_default(),
            db: a.db.unwrap_or_default(),
            user: s.user.name.unwrap_or_default(),
        }
    }
}
