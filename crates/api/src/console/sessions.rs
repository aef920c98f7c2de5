//! The sessions pages: the filtered table (the native list parameters in the URL, so a view
//! can be shared), one session's detail, and ending sessions: the selected rows, or every
//! match through a dry run, its confirm token and chunked progress.

use super::auth::{ConsoleUser, Form};
use super::error::{ConsoleError, ConsoleResult, FragmentError, FragmentResult};
use super::view::{
    self, Ended, FilterValues, ItemRow, Nav, Opt, Preview, Progress, Results, SessionPage,
    SessionTable, SessionsPage,
};
use crate::native::list_params;
use crate::AppState;
use askama::Template;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use sessiond_core::registry::{BulkTerminate, ItemOutcome, ListRequest};
use sessiond_core::wire::TerminateRequest;
use sessiond_core::{CoreError, Session, SessionId};

/// Sessions ended per request of "terminate all matching": each answer comes back quickly
/// with the progress so far, and the page asks for the next chunk.
const CHUNK: u64 = 2000;
/// Rows of the dry run's sample.
const SAMPLE: usize = 10;
/// The filter fields the form shows; other list parameters travel as hidden fields.
const FORM_FIELDS: [&str; 8] = [
    "tenant",
    "service",
    "identity",
    "originator",
    "share",
    "node_id",
    "state",
    "idle_gt",
];

/// The query's pairs without empty values: a GET form submits every field, and an empty
/// field means "not filtered", not "filter on the empty string".
fn clean(raw: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn encode<'a>(pairs: impl IntoIterator<Item = &'a (String, String)>) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.into_iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .finish()
}

fn value(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// The filter part of a query (no paging).
fn filter_pairs(pairs: &[(String, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .filter(|(k, _)| k != "after")
        .cloned()
        .collect()
}

/// One page of the table for a parsed query.
async fn table(
    st: &AppState,
    user: &ConsoleUser,
    req: &ListRequest,
    pairs: &[(String, String)],
) -> ConsoleResult<SessionTable> {
    let page = st.registry.list(&user.caller, req).await?;
    let now = st.registry.clock().now();
    let mut rows = Vec::with_capacity(page.items.len());
    for s in &page.items {
        rows.push(view::row(st, s, now).await?);
    }
    let filter = filter_pairs(pairs);
    let next_href = page.next.map(|n| {
        let mut q = filter.clone();
        q.push(("after".into(), n.to_string()));
        format!("/console/sessions?{}", encode(&q))
    });
    let events: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k == "tenant" || k == "service")
        .cloned()
        .collect();
    Ok(SessionTable {
        rows,
        next_href,
        can_terminate: user.can_terminate(),
        refresh_url: format!("/console/sessions/table?{}", encode(pairs)),
        events_url: format!("/console/events?{}", encode(&events)),
    })
}

/// Whether an error is the caller's (shown inline next to the filter) rather than the
/// server's (an error page).
fn is_input_error(e: &ConsoleError) -> bool {
    e.status().is_client_error() && !matches!(e, ConsoleError::LoginNeeded)
}

/// `GET /console/sessions?…`: the filter form and the first (or `after=`) page.
pub async fn page(
    State(st): State<AppState>,
    user: ConsoleUser,
    RawQuery(raw): RawQuery,
) -> ConsoleResult<Response> {
    let pairs = clean(raw.as_deref());
    let query = encode(&pairs);
    let max_page = st.registry.config().max_page;
    let listed = match list_params(Some(&query), max_page) {
        Ok(req) => table(&st, &user, &req, &pairs).await,
        Err(e) => Err(e.into()),
    };
    let (table, error, status) = match listed {
        Ok(t) => (t.render()?, None, None),
        Err(e) if is_input_error(&e) => {
            let empty = SessionTable {
                rows: vec![],
                next_href: None,
                can_terminate: false,
                refresh_url: format!("/console/sessions/table?{query}"),
                events_url: String::new(),
            };
            (empty.render()?, Some(e.message()), Some(e.status()))
        }
        Err(e) => return Err(e),
    };
    let tenant_options = if user.is_global() {
        tenant_options(&st, &user, &value(&pairs, "tenant")).await?
    } else {
        Vec::new()
    };
    let state = value(&pairs, "state");
    let state_options = [("", "active"), ("ended", "ended"), ("all", "all")]
        .into_iter()
        .map(|(v, l)| Opt {
            value: v.into(),
            label: l.into(),
            selected: state == v || (v.is_empty() && state == "active"),
        })
        .collect();
    let p = SessionsPage {
        nav: Some(Nav::of(&user, "sessions")),
        f: FilterValues {
            service: value(&pairs, "service"),
            identity: value(&pairs, "identity"),
            originator: value(&pairs, "originator"),
            share: value(&pairs, "share"),
            node_id: value(&pairs, "node_id"),
            idle_gt: value(&pairs, "idle_gt"),
        },
        tenant_options,
        state_options,
        hidden: pairs
            .iter()
            .filter(|(k, _)| k != "after" && !FORM_FIELDS.contains(&k.as_str()))
            .cloned()
            .collect(),
        filter_query: encode(&filter_pairs(&pairs)),
        error,
        can_terminate: user.can_terminate(),
        table,
    };
    let mut r = view::html(&p);
    if let Some(s) = status {
        *r.status_mut() = s;
    }
    Ok(r)
}

/// The tenant picker of the default tenant's admin: own (no parameter), all (`*`), or one.
pub(super) async fn tenant_options(
    st: &AppState,
    user: &ConsoleUser,
    selected: &str,
) -> ConsoleResult<Vec<Opt>> {
    let mut out = vec![
        Opt {
            value: String::new(),
            label: format!("{} (own)", user.tenant),
            selected: selected.is_empty(),
        },
        Opt {
            value: "*".into(),
            label: "all tenants".into(),
            selected: selected == "*",
        },
    ];
    for t in st.registry.list_tenants(&user.caller).await? {
        if t.name != user.tenant {
            out.push(Opt {
                selected: selected == t.name,
                value: t.name.clone(),
                label: t.name,
            });
        }
    }
    Ok(out)
}

/// `GET /console/sessions/table?…`: the table alone, for the refresh control and live
/// updates.
pub async fn table_fragment(
    State(st): State<AppState>,
    user: ConsoleUser,
    RawQuery(raw): RawQuery,
) -> FragmentResult {
    let pairs = clean(raw.as_deref());
    let req = list_params(Some(&encode(&pairs)), st.registry.config().max_page)?;
    Ok(view::html(&table(&st, &user, &req, &pairs).await?))
}

/// `GET /console/sessions/{id}`: every field, the activity, and how it ended.
pub async fn detail(
    State(st): State<AppState>,
    user: ConsoleUser,
    id: Result<Path<String>, PathRejection>,
) -> ConsoleResult<Response> {
    let id = id
        .ok()
        .and_then(|Path(s)| SessionId::parse(&s))
        .ok_or(CoreError::NotFound("session"))?;
    let s = st.registry.get(&user.caller, &id).await?;
    let p = detail_page(&st, &user, &s).await?;
    Ok(view::html(&p))
}

async fn detail_page(st: &AppState, user: &ConsoleUser, s: &Session) -> ConsoleResult<SessionPage> {
    let now = st.registry.clock().now();
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
    let u = &s.user;
    let mut fields: Vec<(&'static str, String)> = vec![
        ("User", u.display_name()),
        ("Domain", u.domain.as_str().to_string()),
        ("Kind", s.kind.as_str().to_string()),
        ("Owner (registered by)", s.owner.clone()),
        ("Service", s.service.clone()),
        ("Tenant", st.registry.tenant_name(s.tenant_id).await?),
        ("Node", opt(&s.node_id)),
        ("Server address", opt(&s.server_address)),
        ("Originator", opt(&s.originator)),
        ("External id", opt(&s.external_id)),
        ("Shares", s.share_names.join(", ")),
        ("Opened", view::when(s.opened_at)),
        ("Last active", view::when(s.last_active_at)),
        ("Idle timeout", s.idle_timeout.to_string()),
        ("Absolute timeout", s.absolute_timeout.to_string()),
        ("Guest", s.is_guest.to_string()),
        ("Encrypted", s.is_encrypted.to_string()),
        ("Opens", s.num_opens.to_string()),
        ("Calls", s.call_count.to_string()),
        ("User agent", opt(&s.user_agent)),
        ("Locale", opt(&s.locale)),
    ];
    if s.state.is_live() {
        fields.insert(12, ("Idle for", view::span(now.since(s.last_active_at))));
    }
    for (label, v) in [("SID", &u.sid), ("User name", &u.name)] {
        if let Some(v) = v {
            fields.push((label, v.clone()));
        }
    }
    if let Some(uid) = u.uid {
        fields.push(("UID", uid.to_string()));
    }
    let mut activity = Vec::new();
    if let Some(a) = &s.activity {
        for (label, v) in [
            ("Operation", &a.operation),
            ("Type", &a.op_type),
            ("Namespace", &a.namespace),
            ("Database", &a.db),
            ("Plan", &a.plan_summary),
            ("Description", &a.description),
        ] {
            if let Some(v) = v {
                activity.push((label, v.clone()));
            }
        }
        if let Some(t) = a.started_at {
            activity.push(("Running since", view::when(t)));
        }
    }
    let ended = s.ended_at.map(|at| Ended {
        at: view::when(at),
        at_iso: at.to_rfc3339(),
        by: s.ended_by.clone().unwrap_or_else(|| "—".into()),
        reason: s.end_reason.clone().unwrap_or_else(|| "—".into()),
    });
    Ok(SessionPage {
        nav: Some(Nav::of(user, "sessions")),
        id: s.id.to_string(),
        state: s.state.as_str(),
        ended,
        can_terminate: user.can_terminate() && s.state.is_live(),
        fields,
        activity,
        attributes: s
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    })
}

/// Tells the page (htmx's `HX-Trigger`) that sessions ended, so the table re-reads itself
/// at once rather than waiting for the event stream.
fn changed(mut r: Response) -> Response {
    r.headers_mut().insert(
        "hx-trigger",
        axum::http::HeaderValue::from_static("sessions-changed"),
    );
    r
}

/// What a row's outcome says in the per-row results.
fn outcome_text(o: ItemOutcome) -> &'static str {
    match o {
        ItemOutcome::Ended => "terminated",
        ItemOutcome::NotFound => "not found",
        ItemOutcome::AlreadyEnded(_) => "had already ended",
        ItemOutcome::NotAttempted => "not attempted",
        ItemOutcome::OwnSession => "refused: this is your own console session",
    }
}

/// `POST /console/sessions/terminate`: the selected rows (`id=…` repeated).
pub async fn terminate(
    State(st): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    body: Bytes,
) -> FragmentResult {
    let form = user.form(&headers, &body)?;
    let ids = form.all("id");
    if ids.is_empty() {
        return Err(ConsoleError::Form("select at least one session".into()).into());
    }
    let req = TerminateRequest {
        ids: Some(ids),
        reason: form.text("reason"),
        ..TerminateRequest::default()
    };
    match st.registry.terminate_bulk(&user.caller, req).await? {
        BulkTerminate::Ids(done) => Ok(changed(view::html(&Results {
            terminated: done.terminated,
            items: done
                .items
                .into_iter()
                .map(|i| ItemRow {
                    ok: i.outcome.is_ok(),
                    message: outcome_text(i.outcome),
                    id: i.id,
                })
                .collect(),
        }))),
        _ => Err(CoreError::Internal("ids terminate answered otherwise".into()).into()),
    }
}

/// The filter a "terminate all matching" form carries (`query`, the page's filter).
fn form_filter(st: &AppState, form: &Form) -> Result<(String, ListRequest), FragmentError> {
    let query = encode(&filter_pairs(&clean(form.one("query"))));
    let req = list_params(Some(&query), st.registry.config().max_page)?;
    Ok((query, req))
}

/// `POST /console/sessions/preview`: the dry run: how many, a sample, the confirm token.
pub async fn preview(
    State(st): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    body: Bytes,
) -> FragmentResult {
    let form = user.form(&headers, &body)?;
    let (query, list) = form_filter(&st, &form)?;
    let req = TerminateRequest {
        filter: Some(list.filter),
        dry_run: true,
        ..TerminateRequest::default()
    };
    match st.registry.terminate_bulk(&user.caller, req).await? {
        BulkTerminate::DryRun {
            would_terminate,
            items,
            confirm,
        } => {
            let now = st.registry.clock().now();
            let mut sample = Vec::new();
            for s in items.iter().take(SAMPLE) {
                sample.push(view::row(&st, s, now).await?);
            }
            Ok(view::html(&Preview {
                count: would_terminate,
                sample,
                query,
                confirm,
                reason: form.text("reason").unwrap_or_default(),
            }))
        }
        _ => Err(CoreError::Internal("dry run answered otherwise".into()).into()),
    }
}

fn number(form: &Form, name: &str) -> Result<u64, FragmentError> {
    match form.text(name) {
        None => Ok(0),
        Some(v) => v
            .parse()
            .map_err(|_| ConsoleError::Form(format!("{name}: expected a number")).into()),
    }
}

/// `POST /console/sessions/terminate-matching`: one chunk of the confirmed filter
/// terminate; the answer shows the progress and, while more remain, asks for the next.
pub async fn terminate_matching(
    State(st): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    body: Bytes,
) -> FragmentResult {
    let form = user.form(&headers, &body)?;
    let (query, list) = form_filter(&st, &form)?;
    let confirm = form
        .text("confirm")
        .ok_or_else(|| ConsoleError::Form("confirm: missing; preview first".into()))?;
    let done = number(&form, "done")?;
    let total = number(&form, "total")?;
    let reason = form.text("reason");
    let req = TerminateRequest {
        filter: Some(list.filter),
        confirm: Some(confirm.clone()),
        reason: reason.clone(),
        limit: Some(CHUNK),
        after: form.text("after"),
        ..TerminateRequest::default()
    };
    match st.registry.terminate_bulk(&user.caller, req).await? {
        BulkTerminate::Filter {
            terminated,
            remaining,
            next,
        } => {
            let done = done + terminated;
            let total = match remaining {
                Some(r) => total.max(done + r),
                None => total.max(done),
            };
            let finished = next.is_none();
            let r = view::html(&Progress {
                done,
                total,
                next: next.map(|n| n.to_string()),
                query,
                confirm,
                reason: reason.unwrap_or_default(),
            });
            Ok(if finished { changed(r) } else { r })
        }
        _ => Err(CoreError::Internal("filter terminate answered otherwise".into()).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_fields_are_not_filters() {
        let p = clean(Some("identity=&service=smb&share=+&after=x"));
        assert_eq!(
            p,
            vec![
                ("service".to_string(), "smb".to_string()),
                ("after".to_string(), "x".to_string())
            ]
        );
        assert_eq!(encode(&filter_pairs(&p)), "service=smb");
    }
}
