//! The console's pages and fragments (askama templates under `templates/console/`) and how
//! a session is shown in them: user as `DOMAIN\name`, tenant by name, idle time in words.

use super::auth::ConsoleUser;
use super::error::ConsoleResult;
use crate::AppState;
use askama::Template;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sessiond_core::{Session, Timestamp};
use std::time::Duration;

/// The header every page has: who is signed in, and the CSRF token for its forms.
pub struct Nav {
    pub user: String,
    pub role: &'static str,
    pub tenant: String,
    pub csrf: String,
    pub admin: bool,
    pub current: &'static str,
}

impl Nav {
    pub fn of(u: &ConsoleUser, current: &'static str) -> Nav {
        Nav {
            user: u.caller.principal.clone(),
            role: u.caller.role.as_str(),
            tenant: u.tenant.clone(),
            csrf: u.csrf.clone(),
            admin: u.is_admin(),
            current,
        }
    }
}

/// An option of a `<select>`.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "console/login.html")]
pub struct LoginPage {
    pub nav: Option<Nav>,
    pub error: Option<String>,
    pub username: String,
    pub login_csrf: String,
    pub next: String,
}

#[derive(Template)]
#[template(path = "console/error.html")]
pub struct ErrorPage {
    pub nav: Option<Nav>,
    pub status: u16,
    pub message: String,
}

#[derive(Template)]
#[template(path = "console/fragment_error.html")]
pub struct ErrorFragment {
    pub status: u16,
    pub message: String,
}

/// The filter form's current values (empty: not set).
#[derive(Default)]
pub struct FilterValues {
    pub service: String,
    pub identity: String,
    pub originator: String,
    pub share: String,
    pub node_id: String,
    pub idle_gt: String,
}

#[derive(Template)]
#[template(path = "console/sessions.html")]
pub struct SessionsPage {
    pub nav: Option<Nav>,
    pub f: FilterValues,
    pub tenant_options: Vec<Opt>,
    pub state_options: Vec<Opt>,
    /// Parameters the form has no field for, kept so a shared URL keeps its whole filter.
    pub hidden: Vec<(String, String)>,
    /// The filter as a query string (no paging), for "terminate all matching".
    pub filter_query: String,
    pub error: Option<String>,
    pub can_terminate: bool,
    /// The rendered [`SessionTable`].
    pub table: String,
}

/// One row of the sessions table.
pub struct Row {
    pub id: String,
    pub user: String,
    pub service: String,
    pub tenant: String,
    pub node: String,
    pub originator: String,
    pub shares: String,
    pub opened: String,
    pub opened_iso: String,
    pub idle: String,
    pub state: &'static str,
    pub live: bool,
}

#[derive(Template)]
#[template(path = "console/sessions_table.html")]
pub struct SessionTable {
    pub rows: Vec<Row>,
    pub next_href: Option<String>,
    pub can_terminate: bool,
    pub refresh_url: String,
    /// The console's event stream for this view; empty: no live updates (an error page).
    pub events_url: String,
}

pub struct Ended {
    pub at: String,
    pub at_iso: String,
    pub by: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "console/session.html")]
pub struct SessionPage {
    pub nav: Option<Nav>,
    pub id: String,
    pub state: &'static str,
    pub ended: Option<Ended>,
    pub can_terminate: bool,
    pub fields: Vec<(&'static str, String)>,
    pub activity: Vec<(&'static str, String)>,
    pub attributes: Vec<(String, String)>,
}

pub struct ItemRow {
    pub id: String,
    pub ok: bool,
    pub message: &'static str,
}

#[derive(Template)]
#[template(path = "console/results.html")]
pub struct Results {
    pub terminated: u64,
    pub items: Vec<ItemRow>,
}

#[derive(Template)]
#[template(path = "console/preview.html")]
pub struct Preview {
    pub count: u64,
    pub sample: Vec<Row>,
    pub query: String,
    pub confirm: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "console/progress.html")]
pub struct Progress {
    pub done: u64,
    pub total: u64,
    pub next: Option<String>,
    pub query: String,
    pub confirm: String,
    pub reason: String,
}

/// A rendered template as an HTML answer.
pub fn html<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(body) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "console: rendering a page failed");
            (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "internal error",
            )
                .into_response()
        }
    }
}

/// `303 See Other` to a console path: after a form, and to the login page.
pub fn see_other(to: &str) -> Response {
    match axum::http::HeaderValue::from_str(to) {
        Ok(v) => (axum::http::StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        Err(_) => (
            axum::http::StatusCode::SEE_OTHER,
            [(header::LOCATION, "/console/")],
        )
            .into_response(),
    }
}

/// A time as the console shows it: UTC to the second.
pub fn when(t: Timestamp) -> String {
    let s = t.to_rfc3339();
    // `2026-12-01T03:45:12.123456789Z` → `2026-12-01 03:45:12Z`
    match s.split_once('.') {
        Some((head, _)) => format!("{}Z", head.replacen('T', " ", 1)),
        None => s.replacen('T', " ", 1),
    }
}

/// A duration in the largest two units: `3d 4h`, `12m 5s`, `40s`.
pub fn span(d: Duration) -> String {
    let s = d.as_secs();
    let (d_, h, m, sec) = (s / 86_400, s / 3_600 % 24, s / 60 % 60, s % 60);
    match (d_, h, m) {
        (0, 0, 0) => format!("{sec}s"),
        (0, 0, _) => format!("{m}m {sec}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d_}d {h}h"),
    }
}

/// How a session shows in a table row.
pub async fn row(st: &AppState, s: &Session, now: Timestamp) -> ConsoleResult<Row> {
    let live = s.state.is_live();
    Ok(Row {
        id: s.id.to_string(),
        user: s.user.display_name(),
        service: s.service.clone(),
        tenant: st.registry.tenant_name(s.tenant_id).await?,
        node: s.node_id.clone().unwrap_or_default(),
        originator: s.originator.clone().unwrap_or_default(),
        shares: s.share_names.join(", "),
        opened: when(s.opened_at),
        opened_iso: s.opened_at.to_rfc3339(),
        idle: if live {
            span(now.since(s.last_active_at))
        } else {
            "—".into()
        },
        state: s.state.as_str(),
        live,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_like_an_operator_writes_them() {
        assert_eq!(span(Duration::from_secs(40)), "40s");
        assert_eq!(span(Duration::from_secs(12 * 60 + 5)), "12m 5s");
        assert_eq!(span(Duration::from_secs(3 * 3600 + 60)), "3h 1m");
        assert_eq!(span(Duration::from_secs(3 * 86_400 + 4 * 3600)), "3d 4h");
    }

    #[test]
    fn times_are_shown_to_the_second() {
        let t = Timestamp::parse_rfc3339("2026-12-01T03:45:12.123456789Z").unwrap_or(Timestamp(0));
        assert_eq!(when(t), "2026-12-01 03:45:12Z");
    }

    #[test]
    fn pages_escape_what_users_typed() {
        let p = ErrorPage {
            nav: None,
            status: 400,
            message: "<script>alert(1)</script>".into(),
        };
        let out = p.render().unwrap_or_default();
        assert!(
            out.contains("&#60;script&#62;") || out.contains("&lt;script&gt;"),
            "{out}"
        );
        assert!(!out.contains("<script>alert"));
    }
}
