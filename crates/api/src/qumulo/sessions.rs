//! `GET /v1/smb/sessions/` and `POST /v1/smb/sessions/close`: live `smb` sessions of the
//! caller's own tenant, listed and ended through the registry (vendor dialects never cross
//! tenants, whatever the role).

use super::auth::QAuthed;
use super::dto::{CloseItem, CloseResult, Paging, SessionInfo, SessionsPage};
use super::error::{QumuloError, QumuloResult};
use crate::extract::{query_pairs, BodyError, Json as Body};
use crate::AppState;
use axum::extract::{RawQuery, State};
use axum::Json;
use sessiond_core::registry::EndScope;
use sessiond_core::registry::ItemOutcome;
use sessiond_core::registry::ListRequest;
use sessiond_core::rules::bulk::BulkMode;
use sessiond_core::wire::FilterParams;
use sessiond_core::{CoreError, SessionId};

/// The service whose sessions this dialect shows.
const SERVICE_SMB: &str = "smb";
/// The list's path as clients see it (the router is nested under `/v1`); `next` starts with it.
const LIST_PATH: &str = "/v1/smb/sessions/";
/// Recorded on every session this dialect ends.
const CLOSE_REASON: &str = "closed through the Qumulo API (POST /v1/smb/sessions/close)";

/// The list's query: `identity`, `after` and `limit`, each at most once.
#[derive(Debug, PartialEq, Eq)]
struct ListQuery {
    identity: Option<String>,
    after: Option<String>,
    limit: usize,
}

impl ListQuery {
    /// Unknown and repeated parameters are refused: a mistyped filter silently ignored would
    /// list (and so let a client close) every session. `limit` above `max` is clamped, as
    /// Qumulo documents ("the system may choose a smaller limit"); an empty `after` is the
    /// first page.
    fn parse(raw: Option<&str>, max: usize) -> QumuloResult<ListQuery> {
        let mut q = ListQuery {
            identity: None,
            after: None,
            limit: max,
        };
        let mut seen: Vec<String> = Vec::new();
        for (k, v) in query_pairs(raw) {
            if seen.contains(&k) {
                return Err(QumuloError::BadRequest(format!(
                    "query parameter {k:?} given twice"
                )));
            }
            match k.as_str() {
                "identity" => q.identity = Some(v),
                "after" => q.after = Some(v).filter(|a| !a.is_empty()),
                "limit" => {
                    q.limit = match v.trim().parse::<u64>() {
                        Ok(n) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX).min(max),
                        _ => {
                            return Err(QumuloError::BadRequest(format!(
                                "limit must be a positive integer, not {v:?}"
                            )))
                        }
                    }
                }
                _ => {
                    return Err(QumuloError::BadRequest(format!(
                        "unknown query parameter {k:?} (expected identity, after, limit)"
                    )))
                }
            }
            seen.push(k);
        }
        Ok(q)
    }
}

/// The identity filter as qq itself reads it (qumulo-api 7.10.2.1,
/// `lib/identity_util.py` `build_api_identity`): a "prefix" before the first `:` that holds
/// a `=` is no prefix but part of an LDAP distinguished name (`CN=a:b,OU=x`), and the whole
/// string is a name. Core's grammar refuses unknown prefixes (a typo must not list
/// nothing), so such a filter is handed to it as the explicit `name:` form; no known prefix
/// holds a `=`, so nothing else changes.
fn identity_as_qq_reads(raw: &str) -> String {
    match raw.split_once(':') {
        Some((prefix, _)) if prefix.contains('=') => format!("name:{raw}"),
        _ => raw.to_string(),
    }
}

/// The relative URL of the page after `after`, keeping the filter and the page size.
fn next_url(after: &SessionId, limit: usize, identity: Option<&str>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("after", after.as_str());
    query.append_pair("limit", &limit.to_string());
    if let Some(identity) = identity {
        query.append_pair("identity", identity);
    }
    format!("{LIST_PATH}?{}", query.finish())
}

pub async fn list(
    State(st): State<AppState>,
    QAuthed(caller): QAuthed,
    RawQuery(raw): RawQuery,
) -> QumuloResult<Json<SessionsPage>> {
    let q = ListQuery::parse(raw.as_deref(), st.registry.config().max_page)?;
    let after = match q.after.as_deref() {
        None => None,
        Some(a) => Some(
            SessionId::parse(a)
                .ok_or_else(|| CoreError::BadRequest("after: malformed cursor".into()))?,
        ),
    };
    let params = ListRequest {
        filter: FilterParams {
            service: Some(SERVICE_SMB.to_string()),
            identity: q.identity.as_deref().map(identity_as_qq_reads),
            // No tenant: the caller's own (see `Registry::filter_for`).
            ..FilterParams::default()
        },
        limit: Some(q.limit),
        after,
    };
    let page = st.registry.list(&caller, &params).await?;
    let now = st.registry.clock().now();
    // A store may bound its scan and return a short page that still has more behind it:
    // `next` follows core's cursor, never the page's length.
    let next = page
        .next
        .map(|id| next_url(&id, q.limit, q.identity.as_deref()));
    Ok(Json(SessionsPage {
        session_infos: page
            .items
            .into_iter()
            .map(|s| SessionInfo::from_session(s, now))
            .collect(),
        paging: Paging { next },
    }))
}

/// The message of one close result. An unknown location, another tenant's session and a
/// session of another service all read the same, apart from the location itself.
fn close_message(location: &str, outcome: ItemOutcome) -> String {
    match outcome {
        ItemOutcome::Ended => String::new(),
        ItemOutcome::AlreadyEnded(_) => format!("SMB session {location:?} is already closed"),
        // Unknown, another tenant's or another service's; best effort never leaves an item
        // unattempted, and Qumulo has no "own session" rule.
        ItemOutcome::NotFound | ItemOutcome::NotAttempted | ItemOutcome::OwnSession => {
            format!("no SMB session with location {location:?}")
        }
    }
}

pub async fn close(
    State(st): State<AppState>,
    QAuthed(caller): QAuthed,
    body: Result<Body<Vec<CloseItem>, QumuloError>, QumuloError>,
) -> QumuloResult<Json<Vec<CloseResult>>> {
    let items = match body {
        Ok(Body(items, _)) => items,
        // A well-formed body of the wrong shape: say what is expected. Nothing is closed.
        Err(QumuloError::Body(BodyError::Data(e))) => {
            return Err(QumuloError::BadRequest(format!(
                "the body must be a list of session_info objects, each with a string \
                 location: {e}"
            )))
        }
        Err(e) => return Err(e),
    };
    let ids: Vec<String> = items.into_iter().map(|i| i.location).collect();
    let scope = EndScope::service(caller.own_tenant(), SERVICE_SMB);
    // Best effort: every location is tried, in one store transaction per chunk, and each gets
    // its own answer in input order.
    let ended = st
        .registry
        .terminate_ids(
            &caller,
            &ids,
            BulkMode::BestEffort,
            Some(CLOSE_REASON.to_string()),
            &scope,
            false,
        )
        .await?;
    Ok(Json(
        ended
            .items
            .iter()
            .map(|r| CloseResult {
                error_message: close_message(&r.id, r.outcome),
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_query_defaults_clamps_and_refuses() {
        assert_eq!(
            ListQuery::parse(None, 1000).ok(),
            Some(ListQuery {
                identity: None,
                after: None,
                limit: 1000
            })
        );
        let q = ListQuery::parse(Some("limit=5000&identity=ad%3Aalice&after="), 1000).ok();
        assert_eq!(
            q,
            Some(ListQuery {
                identity: Some("ad:alice".into()),
                after: None,
                limit: 1000
            })
        );
        for bad in [
            "limit=0",
            "limit=-1",
            "limit=x",
            "limit=",
            "foo=1",
            "limit=1&limit=2",
        ] {
            assert!(
                matches!(
                    ListQuery::parse(Some(bad), 1000),
                    Err(QumuloError::BadRequest(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn distinguished_names_with_a_colon_are_names() {
        assert_eq!(identity_as_qq_reads("CN=a:b,OU=x"), "name:CN=a:b,OU=x");
        assert_eq!(identity_as_qq_reads("ad:alice"), "ad:alice");
        assert_eq!(identity_as_qq_reads("bogus:alice"), "bogus:alice");
        assert_eq!(identity_as_qq_reads("CN=alice"), "CN=alice");
    }

    #[test]
    fn next_url_re_encodes_identity() {
        let id = SessionId::min();
        assert_eq!(
            next_url(&id, 10, Some("ad:a b+c&d")),
            "/v1/smb/sessions/?after=00000000000000000000000000&limit=10&identity=ad%3Aa+b%2Bc%26d"
        );
        assert_eq!(
            next_url(&id, 1000, None),
            "/v1/smb/sessions/?after=00000000000000000000000000&limit=1000"
        );
    }
}
