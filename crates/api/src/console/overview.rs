//! `/console/`: live sessions per service and tenant, and per service a chart (SVG drawn on
//! the server) of the sessions opened and ended per hour over the last seven days, from
//! the store's statistics.

use super::auth::ConsoleUser;
use super::error::ConsoleResult;
use super::view::{self, Nav, Opt};
use crate::AppState;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use sessiond_core::stats::SessionStats;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Hours the chart spans: the registry counts from the hour that began seven days ago, so
/// the window holds that hour, the 167 after it and the current one.
const HOURS: i64 = 7 * 24 + 1;

pub struct ServiceCard {
    pub service: String,
    pub service_q: String,
    pub live: u64,
}

pub struct LiveRow {
    pub tenant: String,
    pub service: String,
    pub count: u64,
}

pub struct Chart {
    pub service: String,
    pub opened: u64,
    pub ended: u64,
    pub svg: String,
}

#[derive(Template)]
#[template(path = "console/overview.html")]
pub struct OverviewPage {
    pub nav: Option<Nav>,
    pub tenant_options: Vec<Opt>,
    /// `&tenant=…` for the cards' links, or empty.
    pub tenant_q: String,
    pub total_live: u64,
    pub services: Vec<ServiceCard>,
    pub live: Vec<LiveRow>,
    pub charts: Vec<Chart>,
}

pub async fn page(
    State(st): State<AppState>,
    user: ConsoleUser,
    RawQuery(raw): RawQuery,
) -> ConsoleResult<Response> {
    let tenant = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "tenant")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty());
    let stats = st
        .registry
        .session_stats(&user.caller, tenant.as_deref())
        .await?;
    let mut live = Vec::new();
    let mut per_service: BTreeMap<String, u64> = BTreeMap::new();
    for l in &stats.live {
        *per_service.entry(l.service.clone()).or_default() += l.count;
        live.push(LiveRow {
            tenant: st.registry.tenant_name(l.tenant_id).await?,
            service: l.service.clone(),
            count: l.count,
        });
    }
    let tenant_options = if user.is_global() {
        super::sessions::tenant_options(&st, &user, tenant.as_deref().unwrap_or("")).await?
    } else {
        Vec::new()
    };
    let tenant_q = tenant
        .map(|t| {
            let q = form_urlencoded::Serializer::new(String::new())
                .append_pair("tenant", &t)
                .finish();
            format!("&{q}")
        })
        .unwrap_or_default();
    let p = OverviewPage {
        nav: Some(Nav::of(&user, "overview")),
        tenant_options,
        tenant_q,
        total_live: per_service.values().sum(),
        services: per_service
            .into_iter()
            .map(|(service, live)| ServiceCard {
                service_q: form_urlencoded::byte_serialize(service.as_bytes()).collect(),
                service,
                live,
            })
            .collect(),
        live,
        charts: charts(&stats),
    };
    Ok(view::html(&p))
}

/// One chart per service with any opened or ended session in the window.
fn charts(stats: &SessionStats) -> Vec<Chart> {
    let mut series: BTreeMap<&str, (Vec<u64>, Vec<u64>)> = BTreeMap::new();
    for h in &stats.hourly {
        let i = h.hour - stats.since_hour;
        if !(0..HOURS).contains(&i) {
            continue;
        }
        let (o, e) = series
            .entry(h.service.as_str())
            .or_insert_with(|| (vec![0; HOURS as usize], vec![0; HOURS as usize]));
        o[i as usize] += h.opened;
        e[i as usize] += h.ended;
    }
    series
        .into_iter()
        .map(|(service, (o, e))| Chart {
            service: service.to_string(),
            opened: o.iter().sum(),
            ended: e.iter().sum(),
            svg: svg(service, stats.since_hour, &o, &e),
        })
        .collect()
}

const W: i64 = 860;
const H: i64 = 180;
const LEFT: i64 = 48;
const BOTTOM: i64 = 24;
const TOP: i64 = 8;

/// Both series as bars side by side in each hour's slot, scaled to the larger maximum; a
/// label for the maximum and the date at each midnight. Colours come from the style sheet
/// (classes), since the CSP allows no inline style.
fn svg(service: &str, since_hour: i64, opened: &[u64], ended: &[u64]) -> String {
    let max = opened
        .iter()
        .chain(ended.iter())
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_w = W - LEFT - 4;
    let plot_h = H - BOTTOM - TOP;
    let slot = plot_w as f64 / HOURS as f64;
    let bar = (slot / 2.0 - 0.3).max(0.5);
    let mut s = String::new();
    let title = xml_escape(service);
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="Sessions of {title} opened and ended per hour over the last 7 days" xmlns="http://www.w3.org/2000/svg">"#
    );
    let base = TOP + plot_h;
    let _ = write!(
        s,
        r#"<line class="axis" x1="{LEFT}" y1="{base}" x2="{}" y2="{base}"/><line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}"/>"#,
        W - 4
    );
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" text-anchor="end">{max}</text><text x="{}" y="{base}" text-anchor="end">0</text>"#,
        LEFT - 4,
        TOP + 10,
        LEFT - 4
    );
    for (series, class, offset) in [(opened, "opened", 0.0), (ended, "ended", slot / 2.0)] {
        for (i, &n) in series.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let h = (n as f64 / max as f64 * plot_h as f64).max(1.0);
            let x = LEFT as f64 + i as f64 * slot + offset;
            let _ = write!(
                s,
                r#"<rect class="{class}" x="{x:.1}" y="{:.1}" width="{bar:.1}" height="{h:.1}"><title>{n} {class}</title></rect>"#,
                base as f64 - h
            );
        }
    }
    // A tick and the date at each midnight (UTC).
    for i in 0..HOURS {
        let hour = since_hour + i;
        if hour % 24 != 0 {
            continue;
        }
        let x = LEFT as f64 + i as f64 * slot;
        let day = sessiond_core::stats::hour_start(hour).to_rfc3339();
        let label = day.get(5..10).unwrap_or("");
        let _ = write!(
            s,
            r#"<line class="axis" x1="{x:.1}" y1="{base}" x2="{x:.1}" y2="{}"/><text x="{x:.1}" y="{}" text-anchor="middle">{label}</text>"#,
            base + 4,
            H - 6
        );
    }
    s.push_str("</svg>");
    s
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessiond_core::stats::HourCount;

    #[test]
    fn charts_place_each_hour_and_escape_names() {
        let since = 490_000;
        let stats = SessionStats {
            since_hour: since,
            live: vec![],
            hourly: vec![
                HourCount {
                    tenant_id: 1,
                    service: "<smb>".into(),
                    hour: since + 5,
                    opened: 4,
                    ended: 2,
                },
                HourCount {
                    tenant_id: 2,
                    service: "<smb>".into(),
                    hour: since + 5,
                    opened: 1,
                    ended: 0,
                },
                HourCount {
                    tenant_id: 1,
                    service: "<smb>".into(),
                    hour: since + HOURS - 1,
                    opened: 0,
                    ended: 7,
                },
            ],
        };
        let c = charts(&stats);
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].opened, c[0].ended), (5, 9), "the current hour counts");
        assert!(c[0].svg.contains("&lt;smb&gt;") && !c[0].svg.contains("<smb>"));
        assert!(c[0].svg.contains("<title>5 opened</title>"));
        assert!(c[0].svg.contains("<title>2 ended</title>"));
        assert!(c[0].svg.contains("<title>7 ended</title>"));
    }
}
