//! `GET Sessions`, `GET Session?userId=N` and `DELETE Sessions` (seed 004; DESIGN.md §5):
//! the caller's own tenant's `commvault` sessions, all or one user's, listed and logged off
//! through the registry (vendor dialects never cross tenants, whatever the role).

use super::auth::CvCaller;
use super::dto::{logoff_ids_from_xml, user_id, LogoffRequest, SessionEntry, SessionsResponse};
use super::error::{CvError, CvResult};
use super::format::{Doc, Format, XmlOut};
use super::SERVICE;
use crate::extract::{parse_json, query_pairs, BodyError};
use crate::AppState;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;
use sessiond_core::filter::StateFilter;
use sessiond_core::registry::EndScope;
use sessiond_core::rules::bulk::BulkMode;
use sessiond_core::rules::timeouts;
use sessiond_core::wire::FilterParams;
use sessiond_core::{Caller, Session};

/// Recorded on every session this dialect ends.
const LOGOFF_REASON: &str = "logged off through the Commvault API (DELETE Sessions)";

/// The header cvpysdk's `User.get_sessions()` sends to ask for live sessions only.
const ONLY_ACTIVE_HEADER: &str = "only-active-sessions";

/// What a sessions list asks for: one user's sessions (`?userId=N`), and whether ended ones
/// (tombstones still within retention) are listed too.
#[derive(Debug, PartialEq, Eq)]
struct ListAsk {
    user_id: Option<u64>,
    with_ended: bool,
}

/// `userId` is a non-negative decimal integer, as the `userId` of every listed entry.
fn parse_user_id(v: &str) -> CvResult<u64> {
    let ok = !v.is_empty() && v.len() <= 20 && v.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| v.parse::<u64>().ok()).flatten().ok_or_else(|| {
        CvError::BadRequest(format!(
            "userId must be a non-negative integer (a listed user.userId), not {:?}",
            v.chars().take(64).collect::<String>()
        ))
    })
}

/// The query of GET Session(s): `userId` at most once. Any other parameter is refused: a
/// misspelt filter silently ignored would list the whole tenant instead of one user.
fn user_id_of_query(raw: Option<&str>) -> CvResult<Option<u64>> {
    let mut user_id = None;
    for (k, v) in query_pairs(raw) {
        // Commvault's web server reads names case-insensitively, as it does paths.
        if !k.eq_ignore_ascii_case("userId") {
            return Err(CvError::BadRequest(format!(
                "unknown query parameter {:?} (expected userId)",
                k.chars().take(64).collect::<String>()
            )));
        }
        if user_id.replace(parse_user_id(v.trim())?).is_some() {
            return Err(CvError::BadRequest("userId given twice".into()));
        }
    }
    Ok(user_id)
}

/// `ONLY-ACTIVE-SESSIONS: true` (any case); any other value or none lists ended ones too.
fn only_active(headers: &HeaderMap) -> bool {
    headers
        .get(ONLY_ACTIVE_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// `GET Sessions` (Sessions.Read): the caller's tenant's live `commvault` sessions, or with
/// `?userId=N` that user's (then ended ones too unless `ONLY-ACTIVE-SESSIONS: true`). The
/// tenant-wide list keeps showing live sessions only, as it always has (DESIGN.md §5).
pub async fn list(
    State(st): State<AppState>,
    format: Format,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    CvCaller(caller): CvCaller,
) -> CvResult<Response> {
    let user_id = user_id_of_query(raw.as_deref())?;
    let ask = ListAsk {
        user_id,
        with_ended: user_id.is_some() && !only_active(&headers),
    };
    answer_list(&st, format, &caller, &ask).await
}

/// `GET Session?userId=N`, the documented call for one user's sessions (cvpysdk
/// `User.get_sessions()`); `userId` is required here.
pub async fn list_of_user(
    State(st): State<AppState>,
    format: Format,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    CvCaller(caller): CvCaller,
) -> CvResult<Response> {
    let user_id = user_id_of_query(raw.as_deref())?
        .ok_or_else(|| CvError::BadRequest("GET Session needs ?userId=<user id>".into()))?;
    let ask = ListAsk {
        user_id: Some(user_id),
        with_ended: !only_active(&headers),
    };
    answer_list(&st, format, &caller, &ask).await
}

async fn answer_list(
    st: &AppState,
    format: Format,
    caller: &Caller,
    ask: &ListAsk,
) -> CvResult<Response> {
    let sessions = if ask.with_ended {
        // Live or ended: tombstones are kept for the retention period, then purged.
        let every = FilterParams {
            service: Some(SERVICE.to_string()),
            state: Some(StateFilter::All.as_str().to_string()),
            ..FilterParams::default()
        };
        st.registry.all_matching(caller, every).await?
    } else {
        // The caller's own tenant only, also for a default-tenant admin.
        st.registry.all_live_of_service(caller, SERVICE).await?
    };
    let sessions: Vec<SessionEntry> = sessions
        .iter()
        // The filter compares the very value each entry shows as `user.userId`, so a user
        // whose id is derived (no stored auth_id, as every login session) is found too.
        .filter(|s| ask.user_id.is_none_or(|n| user_id(&s.user) == n))
        .map(|s| entry(st, s))
        .collect();
    let r = SessionsResponse { sessions };
    Ok(format.render(StatusCode::OK, &r, || r.to_xml()))
}

/// A session's entry, with `logoutTime` when it is no longer live: when it ended, or its
/// deadline for one already past it that the sweeper has not ended yet.
fn entry(st: &AppState, s: &Session) -> SessionEntry {
    let e = SessionEntry::from_session(s);
    if st.registry.is_live_now(s) {
        return e;
    }
    let at = s
        .ended_at
        .or_else(|| timeouts::deadline(s).map(|(t, _)| t))
        .unwrap_or_else(|| st.registry.clock().now());
    e.with_logout_time(at.secs())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_id_query() {
        assert_eq!(user_id_of_query(None).ok(), Some(None));
        assert_eq!(user_id_of_query(Some("userId=42")).ok(), Some(Some(42)));
        assert_eq!(user_id_of_query(Some("userid=42")).ok(), Some(Some(42)));
        assert_eq!(
            user_id_of_query(Some("userId=18446744073709551615")).ok(),
            Some(Some(u64::MAX))
        );
        for bad in [
            "userId=",
            "userId=-1",
            "userId=%2B1",
            "userId=1.0",
            "userId=0x10",
            "userId=abc",
            "userId=18446744073709551616",
            "userId=1&userId=1",
            "user_id=1",
        ] {
            assert!(user_id_of_query(Some(bad)).is_err(), "{bad}");
        }
    }
}
