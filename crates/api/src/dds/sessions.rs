//! `GET /v3/{project_id}/nodes/{node_id}/sessions` and `POST …/nodes/{node_id}/session`:
//! live `mongodb` sessions of one node in the caller's own tenant, listed with DDS's offset
//! paging and filters, and killed all or nothing. Translation only: the filters, the paging
//! and the kill rule are the registry's.

use super::auth::DdsRequest;
use super::dto::{Empty, KillBody, SessionInfo, SessionsPage};
use super::error::{DdsError, DdsResult};
use super::SERVICE;
use crate::extract::{parse_json, BodyError};
use crate::AppState;
use axum::extract::State;
use axum::http::header;
use axum::Json;
use sessiond_core::registry::EndScope;
use sessiond_core::registry::KillRefusal;
use sessiond_core::wire::FilterParams;

/// Page size when none is given (the SDK documents 10).
pub const DEFAULT_LIMIT: usize = 10;
/// Largest page (DESIGN.md §5; the SDK documents 1–20, sessiond allows up to 100).
pub const MAX_LIMIT: usize = 100;
/// Recorded on every session this dialect ends.
const KILL_REASON: &str =
    "killed through the DDS API (POST /v3/{project_id}/nodes/{node_id}/session)";
/// How much of a client-supplied value an error message echoes back.
const ECHO_LIMIT: usize = 128;

fn echo(s: &str) -> String {
    s.chars().take(ECHO_LIMIT).collect()
}

/// The list's query parameters, each at most once.
#[derive(Debug, Default, PartialEq, Eq)]
struct ListQuery {
    offset: usize,
    limit: usize,
    plan_summary: Option<String>,
    op_type: Option<String>,
    namespace: Option<String>,
    /// Microseconds.
    cost_time: Option<u64>,
}

fn number(name: &str, v: &str) -> DdsResult<u64> {
    v.trim().parse::<u64>().map_err(|_| {
        DdsError::BadRequest(format!(
            "{name} must be a non-negative integer, not {:?}",
            echo(v)
        ))
    })
}

impl ListQuery {
    /// Empty values mean "not given", as the SDK documents for every filter ("an empty value
    /// queries all"). Unknown and repeated parameters are refused: a mistyped filter silently
    /// ignored would list (and invite killing) sessions the caller did not mean. A `limit`
    /// outside 1–100 is refused rather than clamped, as DDS validates its parameters.
    fn parse(pairs: &[(String, String)]) -> DdsResult<ListQuery> {
        let mut q = ListQuery {
            limit: DEFAULT_LIMIT,
            ..ListQuery::default()
        };
        let mut seen: Vec<&str> = Vec::new();
        for (k, v) in pairs {
            if seen.contains(&k.as_str()) {
                return Err(DdsError::BadRequest(format!(
                    "query parameter {:?} given twice",
                    echo(k)
                )));
            }
            seen.push(k);
            if v.is_empty() && KNOWN.contains(&k.as_str()) {
                continue;
            }
            match k.as_str() {
                "offset" => {
                    q.offset = usize::try_from(number("offset", v)?).unwrap_or(usize::MAX);
                }
                "limit" => {
                    q.limit = match number("limit", v) {
                        Ok(n) if (1..=MAX_LIMIT as u64).contains(&n) => n as usize,
                        _ => {
                            return Err(DdsError::BadRequest(format!(
                                "limit must be an integer from 1 to {MAX_LIMIT}, not {:?}",
                                echo(v)
                            )))
                        }
                    }
                }
                "plan_summary" => q.plan_summary = Some(v.clone()),
                "type" => q.op_type = Some(v.clone()),
                "namespace" => q.namespace = Some(v.clone()),
                "cost_time" => q.cost_time = Some(number("cost_time", v)?),
                _ => {
                    return Err(DdsError::BadRequest(format!(
                        "unknown query parameter {:?} (expected one of {})",
                        echo(k),
                        KNOWN.join(", ")
                    )))
                }
            }
        }
        Ok(q)
    }

    fn filter(&self, node_id: &str) -> FilterParams {
        FilterParams {
            service: Some(SERVICE.to_string()),
            node_id: Some(node_id.to_string()),
            op_type: self.op_type.clone(),
            op_namespace: self.namespace.clone(),
            op_plan_summary: self.plan_summary.clone(),
            op_running_gt: self.cost_time.map(|us| format!("{us}us")),
            // No tenant: the caller's own (see `Registry::filter_for`).
            ..FilterParams::default()
        }
    }
}

const KNOWN: &[&str] = &[
    "offset",
    "limit",
    "plan_summary",
    "type",
    "namespace",
    "cost_time",
];

pub async fn list(State(st): State<AppState>, req: DdsRequest) -> DdsResult<Json<SessionsPage>> {
    let q = ListQuery::parse(&req.query)?;
    let (total_count, sessions) = st
        .registry
        .list_offset(&req.caller, &q.filter(&req.node_id), q.offset, q.limit)
        .await?;
    let now = st.registry.clock().now();
    Ok(Json(SessionsPage {
        total_count,
        sessions: sessions
            .into_iter()
            .map(|s| SessionInfo::from_session(s, now))
            .collect(),
    }))
}

/// Whether the body is declared JSON (`application/json`, or a `+json` type).
fn is_json(req: &DdsRequest) -> bool {
    req.headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
        .unwrap_or(false)
}

pub async fn kill(State(st): State<AppState>, req: DdsRequest) -> DdsResult<Json<Empty>> {
    if !is_json(&req) {
        return Err(BodyError::ContentType.into());
    }
    let body: KillBody = parse_json(&req.body).map_err(|e| match e {
        // Well-formed JSON of the wrong shape: say what is expected.
        BodyError::Data(d) => DdsError::BadRequest(format!(
            "the body must be {{\"sessions\": [\"<session id>\", …]}}: {d}"
        )),
        other => other.into(),
    })?;
    let scope = EndScope::service(req.caller.own_tenant(), SERVICE);
    let outcome = st
        .registry
        .kill_running(
            &req.caller,
            &scope,
            &req.node_id,
            &body.sessions,
            Some(KILL_REASON.to_string()),
        )
        .await?;
    match outcome {
        Ok(_) => Ok(Json(Empty {})),
        // Another tenant's session reads exactly like one that never existed.
        Err(KillRefusal::NotFound(id)) => Err(DdsError::BadRequest(format!(
            "session {:?} does not exist on node {:?}; nothing was killed",
            echo(&id),
            echo(&req.node_id)
        ))),
        Err(KillRefusal::Inactive(id)) => Err(DdsError::BadRequest(format!(
            "session {:?} is not active: inactive sessions cannot be terminated; nothing was \
             killed",
            echo(&id)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        crate::extract::query_pairs(Some(q))
    }

    #[test]
    fn dds_list_query_defaults_filters_and_refusals() {
        let q = ListQuery::parse(&[]).ok();
        assert_eq!(
            q,
            Some(ListQuery {
                limit: DEFAULT_LIMIT,
                ..ListQuery::default()
            })
        );
        let q = ListQuery::parse(&pairs(
            "offset=20&limit=100&type=query&namespace=shop.orders&plan_summary=COLLSCAN%20IXSCAN&cost_time=1500",
        ))
        .ok();
        assert_eq!(
            q,
            Some(ListQuery {
                offset: 20,
                limit: 100,
                plan_summary: Some("COLLSCAN IXSCAN".into()),
                op_type: Some("query".into()),
                namespace: Some("shop.orders".into()),
                cost_time: Some(1500),
            })
        );
        let f = q.map(|q| q.filter("n1")).unwrap_or_default();
        assert_eq!(f.op_running_gt.as_deref(), Some("1500us"));
        assert_eq!(f.service.as_deref(), Some("mongodb"));
        assert_eq!(f.node_id.as_deref(), Some("n1"));
        assert_eq!(f.tenant, None);
        // Empty values are "all".
        let q = ListQuery::parse(&pairs(
            "type=&namespace=&plan_summary=&cost_time=&limit=&offset=",
        ))
        .ok();
        assert_eq!(
            q,
            Some(ListQuery {
                limit: DEFAULT_LIMIT,
                ..ListQuery::default()
            })
        );
        for bad in [
            "limit=0",
            "limit=101",
            "limit=-1",
            "limit=x",
            "offset=-1",
            "offset=1.5",
            "cost_time=-5",
            "cost_time=abc",
            "foo=1",
            "limit=1&limit=2",
            "type=a&type=b",
        ] {
            assert!(
                matches!(ListQuery::parse(&pairs(bad)), Err(DdsError::BadRequest(_))),
                "{bad}"
            );
        }
    }
}
