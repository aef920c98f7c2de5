//! `GET /v3/{project_id}/nodes/{node_id}/sessions` and `POST …/nodes/{node_id}/session`:
//! live `mongodb` sessions of one node in the caller's own tenant, listed with DDS's offset
//! paging and filters, and killed all or nothing. Translation only: the filters, the paging
//! and the kill rule are the registry's.
//!
//! A node is known when the store holds any `mongodb` session of it in the caller's tenant,
//! in any state (live, or ended within tombstone retention); otherwise both routes answer 404
//! `DBS.200013`. After retention has purged a node's last tombstone it reads as unknown.

use super::auth::DdsRequest;
use super::dto::{Empty, KillBody, SessionInfo, SessionsPage};
use super::error::{DdsError, DdsResult};
use super::SERVICE;
use crate::extract::{is_json, parse_json, BodyError};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use sessiond_core::filter::StateFilter;
use sessiond_core::registry::KillRefusal;
use sessiond_core::registry::{EndScope, ListRequest};
use sessiond_core::wire::FilterParams;

/// Page size when none is given (the SDK documents 10).
pub const DEFAULT_LIMIT: usize = 10;
/// Largest page (DESIGN.md §5; the SDK documents 1–20, sessiond allows up to 100).
pub const MAX_LIMIT: usize = 100;
/// Largest offset: the SDK's `int` range. It also keeps `offset + limit` far from overflow in
/// the registry's walk.
pub const MAX_OFFSET: u64 = i32::MAX as u64;
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

/// An integer parameter within `min..=max`; the refusal names the bounds.
fn bounded(name: &str, v: &str, min: u64, max: u64) -> DdsResult<usize> {
    match v.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => {
            usize::try_from(n).map_err(|_| out_of_bounds(name, v, min, max))
        }
        _ => Err(out_of_bounds(name, v, min, max)),
    }
}

fn out_of_bounds(name: &str, v: &str, min: u64, max: u64) -> DdsError {
    DdsError::BadRequest(format!(
        "{name} must be an integer from {min} to {max}, not {:?}",
        echo(v)
    ))
}

impl ListQuery {
    /// Empty values mean "not given", as the SDK documents for every filter ("an empty value
    /// queries all"). Unknown and repeated parameters are refused: a mistyped filter silently
    /// ignored would list (and invite killing) sessions the caller did not mean. A `limit`
    /// outside 1–100 or an `offset` beyond [`MAX_OFFSET`] is refused rather than clamped, as
    /// DDS validates its parameters.
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
                "offset" => q.offset = bounded("offset", v, 0, MAX_OFFSET)?,
                "limit" => q.limit = bounded("limit", v, 1, MAX_LIMIT as u64)?,
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

/// 404 `DBS.200013` unless the store holds a `mongodb` session of `node_id` in the caller's
/// tenant, in any state. One keyset page of one item through the registry's own list (its
/// tenant scope and privilege checks; no exact count, which would cost a scan of a big
/// node): a store that bounds its scan may answer an empty page with a cursor, so the walk
/// goes on until it finds a session or ends.
async fn require_known_node(st: &AppState, req: &DdsRequest) -> DdsResult<()> {
    let mut ask = ListRequest {
        filter: FilterParams {
            service: Some(SERVICE.to_string()),
            node_id: Some(req.node_id.clone()),
            state: Some(StateFilter::All.as_str().to_string()),
            ..FilterParams::default()
        },
        limit: Some(1),
        after: None,
    };
    loop {
        let page = st.registry.list(&req.caller, &ask).await?;
        if !page.items.is_empty() {
            return Ok(());
        }
        match page.next {
            Some(next) => ask.after = Some(next),
            None => return Err(DdsError::NodeNotFound(echo(&req.node_id))),
        }
    }
}

pub async fn list(State(st): State<AppState>, req: DdsRequest) -> DdsResult<Json<SessionsPage>> {
    let q = ListQuery::parse(&req.query)?;
    let (total_count, sessions) = st
        .registry
        .list_offset(&req.caller, &q.filter(&req.node_id), q.offset, q.limit)
        .await?;
    // Only an empty answer can be an unknown node: a normal page costs no extra count.
    if total_count == 0 {
        require_known_node(&st, &req).await?;
    }
    let now = st.registry.clock().now();
    Ok(Json(SessionsPage {
        total_count,
        sessions: sessions
            .into_iter()
            .map(|s| SessionInfo::from_session(s, now))
            .collect(),
    }))
}

pub async fn kill(State(st): State<AppState>, req: DdsRequest) -> DdsResult<Json<Empty>> {
    if !is_json(&req.headers) {
        return Err(BodyError::ContentType.into());
    }
    let body: KillBody = parse_json(&req.body).map_err(|e| match e {
        // Well-formed JSON of the wrong shape: say what is expected.
        BodyError::Data(d) => DdsError::BadRequest(format!(
            "the body must be {{\"sessions\": [\"<session id>\", …]}}: {d}"
        )),
        other => other.into(),
    })?;
    // An empty kill changes nothing, and a kill of ids on an unknown node is refused below;
    // only those two need to know whether the node exists.
    if body.sessions.is_empty() {
        require_known_node(&st, &req).await?;
    }
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
    if outcome.is_err() {
        // Nothing was killed; an unknown node outranks what was wrong with the ids.
        require_known_node(&st, &req).await?;
    }
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
        let max = ListQuery::parse(&pairs("offset=2147483647")).map(|q| q.offset);
        assert_eq!(max.ok(), Some(2_147_483_647));
        match ListQuery::parse(&pairs("limit=101")) {
            Err(DdsError::BadRequest(m)) => assert!(m.contains("1 to 100"), "{m}"),
            other => panic!("{other:?}"),
        }
        match ListQuery::parse(&pairs("offset=2147483648")) {
            Err(DdsError::BadRequest(m)) => assert!(m.contains("0 to 2147483647"), "{m}"),
            other => panic!("{other:?}"),
        }
        for bad in [
            "limit=0",
            "limit=101",
            "limit=-1",
            "limit=x",
            "offset=-1",
            "offset=1.5",
            "offset=2147483648",
            "offset=18446744073709551616",
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
