//! `GET Sessions` and `DELETE Sessions` (seed 004): the caller's own tenant's live
//! `commvault` sessions, listed and logged off through the registry (vendor dialects never
//! cross tenants, whatever the role).

use super::auth::CvCaller;
use super::dto::{logoff_ids_from_xml, LogoffRequest, SessionEntry, SessionsResponse};
use super::error::{CvError, CvResult};
use super::format::{Doc, Format, XmlOut};
use super::SERVICE;
use crate::extract::{parse_json, BodyError};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;
use sessiond_core::registry::EndScope;
use sessiond_core::rules::bulk::BulkMode;

/// Recorded on every session this dialect ends.
const LOGOFF_REASON: &str = "logged off through the Commvault API (DELETE Sessions)";

/// `GET Sessions` (Sessions.Read): every live `commvault` session of the caller's tenant.
pub async fn list(
    State(st): State<AppState>,
    format: Format,
    CvCaller(caller): CvCaller,
) -> CvResult<Response> {
    // The caller's own tenant only, also for a default-tenant admin.
    let sessions: Vec<SessionEntry> = st
        .registry
        .all_live_of_service(&caller, SERVICE)
        .await?
        .iter()
        .map(SessionEntry::from_session)
        .collect();
    let r = SessionsResponse { sessions };
    Ok(format.render(StatusCode::OK, &r, || r.to_xml()))
}

/// `DELETE Sessions` (Sessions.TerminateSession) with the seed's XML body or JSON
/// `{"sessions":[{"val":"…"}]}`. The whole body is checked before anything ends. Logoff is
/// idempotent: unknown, already-ended, other tenants' and other services' ids are skipped
/// alike (core's scope makes them "not found"), never an error.
pub async fn logoff(
    State(st): State<AppState>,
    format: Format,
    CvCaller(caller): CvCaller,
    doc: Doc,
) -> CvResult<Response> {
    let ids = match doc {
        Doc::Json(bytes) => match parse_json::<LogoffRequest>(&bytes) {
            Ok(r) => r.sessions.into_iter().map(|s| s.val).collect(),
            Err(BodyError::Data(e)) => {
                return Err(CvError::BadRequest(format!(
                    "expected {{\"sessions\":[{{\"val\":\"<sessionId>\"}}, …]}}: {e}"
                )))
            }
            Err(e) => return Err(e.into()),
        },
        Doc::Xml(root) => logoff_ids_from_xml(&root)?,
    };
    let scope = EndScope::service(caller.own_tenant(), SERVICE);
    // Best effort: every id is tried (in chunked store transactions); the per-item outcomes
    // are not reported, as Commvault's answer has no place for them.
    let done = st
        .registry
        .terminate_ids(
            &caller,
            &ids,
            BulkMode::BestEffort,
            Some(LOGOFF_REASON.to_string()),
            &scope,
            false,
        )
        .await?;
    tracing::info!(
        principal = %caller.principal,
        requested = ids.len(),
        ended = done.terminated,
        "commvault logoff"
    );
    Ok(format.render(StatusCode::OK, &json!({}), || {
        XmlOut::new("Api_LogoffUsersResponse")
    }))
}
