//! The events figures (issue 11): acknowledged termination → SSE receipt latency, a filter
//! terminate of N sessions fully delivered to one SSE subscriber and to one webhook, and the
//! terminate's own time with three subscribers attached against none. Printed, never
//! asserted.

use crate::{load, percentile, post, start, Res};
use serde_json::json;
use sessiond_client::{Client, EventStream, EventsParams};

use sessiond_core::events::EventType;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Sequential terminations timed for the latency percentiles.
const LATENCY_SAMPLES: usize = 500;
/// A safety net for the waits below (each ends when everything arrived).
const WAIT: Duration = Duration::from_secs(600);

/// What the events run measured.
pub struct EventFigures {
    pub sessions: usize,
    pub ack_to_sse: Vec<Duration>,
    /// From sending the DELETE to the event's arrival (the event may arrive before the
    /// acknowledgement: the store announces it before it acknowledges).
    pub send_to_sse: Vec<Duration>,
    pub terminate_alone: Duration,
    pub terminate_watched: Duration,
    pub sse_all: Duration,
    /// CPU seconds of (server, this load generator) during the terminate alone, and during
    /// the watched one until every subscriber had everything.
    pub cpu_alone: (f64, f64),
    pub cpu_watched: (f64, f64),
    /// A third group's terminate with one webhook attached, and its delivery.
    pub terminate_webhook: Duration,
    pub webhook_all: Duration,
}

async fn subscribe(base: &str, token: &str) -> Res<EventStream> {
    let c = Client::new(base, true)
        .map_err(|e| e.to_string())?
        .with_token(token.to_string());
    let p = EventsParams {
        types: vec![EventType::SessionTerminated],
        ..EventsParams::default()
    };
    c.events(&p, None).await.map_err(|e| e.to_string())
}

/// A subscriber as a load generator should be: it receives the stream and counts the events
/// (`event:` lines) without decoding them, so its own CPU stays small beside the server's.
/// The instant the `n`-th arrived.
async fn raw_subscribe(base: &str, token: &str) -> Res<reqwest::Response> {
    let r = reqwest::Client::new()
        .get(format!("{base}/api/v1/events?types=session.terminated"))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("subscribe: {}", r.status()));
    }
    Ok(r)
}

async fn drain(mut r: reqwest::Response, n: usize) -> Res<Instant> {
    const MARK: &[u8] = b"\nevent: ";
    let mut seen = 0usize;
    // The end of the previous chunk, so a mark split across two chunks is counted once.
    let mut tail: Vec<u8> = Vec::new();
    while seen < n {
        let chunk = match tokio::time::timeout(WAIT, r.chunk()).await {
            Ok(Ok(Some(c))) => c,
            other => return Err(format!("subscriber stopped after {seen} of {n}: {other:?}")),
        };
        tail.extend_from_slice(&chunk);
        seen += tail.windows(MARK.len()).filter(|w| *w == MARK).count();
        let keep = tail.len().saturating_sub(MARK.len() - 1);
        tail.drain(..keep);
    }
    Ok(Instant::now())
}

/// A webhook receiver on loopback that counts deliveries (answers 204).
async fn receiver() -> Res<(String, Arc<AtomicU64>)> {
    let count = Arc::new(AtomicU64::new(0));
    let c = count.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let c = c.clone();
            async move {
                c.fetch_add(1, Ordering::Relaxed);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = l.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(async move { axum::serve(l, app).await });
    Ok((format!("http://{addr}/hook"), count))
}

async fn terminate_filter(
    http: &reqwest::Client,
    base: &str,
    tok: &str,
    service: &str,
    n: usize,
) -> Res<Duration> {
    let t0 = Instant::now();
    let v = post(
        http,
        &format!("{base}/api/v1/sessions/terminate"),
        Some(tok),
        json!({"filter": {"service": service}}),
    )
    .await?;
    let took = t0.elapsed();
    if v["terminated"].as_u64() != Some(n as u64) {
        return Err(format!(
            "terminate of {service} ended {} of {n}",
            v["terminated"]
        ));
    }
    Ok(took)
}

/// One run on the SQLite store with `n` sessions per group.
pub async fn measure(server: &PathBuf, n: usize) -> Res<EventFigures> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let extra = vec!["--webhooks-allow-private".to_string()];
    let (srv, base, _) = start(server, dir.path(), &extra)?;
    let pids = (srv.0.id(), std::process::id());
    let cpu = move || {
        (
            crate::cpu::process_cpu(pids.0),
            crate::cpu::process_cpu(pids.1),
        )
    };
    let http = reqwest::Client::new();
    let v = post(
        &http,
        &format!("{base}/api/v1/auth/login"),
        None,
        json!({"username": "admin", "password": "bench-password"}),
    )
    .await?;
    let tok = v["token"].as_str().ok_or("no token")?.to_string();
    println!("events: loading 3 × {n} sessions and {LATENCY_SAMPLES} more…");
    load(&http, &base, &tok, n, 64, "bench-a").await?;
    load(&http, &base, &tok, n, 64, "bench-b").await?;
    load(&http, &base, &tok, n, 64, "bench-c").await?;
    let (lat_tokens, _) = load(&http, &base, &tok, LATENCY_SAMPLES, 8, "bench-lat").await?;

    // Latency: one termination at a time, from its acknowledgement to the event's arrival.
    let mut sub = subscribe(&base, &tok).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, Instant)>();
    let reader = tokio::spawn(async move {
        while let Ok(Some(e)) = sub.next().await {
            if let Some(s) = e.session {
                if tx.send((s.id.to_string(), Instant::now())).is_err() {
                    break;
                }
            }
        }
    });
    let mut acked: HashMap<String, (Instant, Instant)> = HashMap::new();
    let mut got: HashMap<String, Instant> = HashMap::new();
    for t in &lat_tokens {
        let id = t.split('.').next().unwrap_or_default().to_string();
        let sent = Instant::now();
        let r = http
            .delete(format!("{base}/api/v1/sessions/{id}"))
            .bearer_auth(&tok)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let at = Instant::now();
        if !r.status().is_success() {
            return Err(format!("terminate {id}: {}", r.status()));
        }
        acked.insert(id, (sent, at));
        while let Ok((sid, when)) = rx.try_recv() {
            got.insert(sid, when);
        }
    }
    while got.len() < acked.len() {
        match tokio::time::timeout(WAIT, rx.recv()).await {
            Ok(Some((sid, when))) => {
                got.insert(sid, when);
            }
            _ => return Err(format!("{} of {} events arrived", got.len(), acked.len())),
        }
    }
    reader.abort();
    let since = |pick: fn(&(Instant, Instant)) -> Instant| {
        let mut v: Vec<Duration> = acked
            .iter()
            .map(|(id, t)| {
                got.get(id)
                    .map_or(Duration::ZERO, |g| g.saturating_duration_since(pick(t)))
            })
            .collect();
        v.sort();
        v
    };
    let ack_to_sse = since(|t| t.1);
    let send_to_sse = since(|t| t.0);

    // The terminate alone, then with three SSE subscribers attached.
    let c0 = cpu();
    let terminate_alone = terminate_filter(&http, &base, &tok, "bench-a", n).await?;
    let c1 = cpu();
    let cpu_alone = (c1.0 - c0.0, c1.1 - c0.1);
    let subs = [
        raw_subscribe(&base, &tok).await?,
        raw_subscribe(&base, &tok).await?,
        raw_subscribe(&base, &tok).await?,
    ];
    let c0 = cpu();
    let t0 = Instant::now();
    let drains: Vec<_> = subs
        .into_iter()
        .map(|s| tokio::spawn(drain(s, n)))
        .collect();
    let terminate_watched = terminate_filter(&http, &base, &tok, "bench-b", n).await?;
    let mut sse_all = Duration::ZERO;
    for d in drains {
        let done = d.await.map_err(|e| e.to_string())??;
        sse_all = sse_all.max(done.duration_since(t0));
    }
    let c1 = cpu();
    let cpu_watched = (c1.0 - c0.0, c1.1 - c0.1);
    // A webhook alone: the terminate, and its delivery.
    let (url, delivered) = receiver().await?;
    post(
        &http,
        &format!("{base}/api/v1/webhooks"),
        Some(&tok),
        json!({"url": url, "types": ["session.terminated"]}),
    )
    .await?;
    let t0 = Instant::now();
    let terminate_webhook = terminate_filter(&http, &base, &tok, "bench-c", n).await?;
    let webhook_all = loop {
        if delivered.load(Ordering::Relaxed) >= n as u64 {
            break t0.elapsed();
        }
        if t0.elapsed() > WAIT {
            return Err(format!(
                "the webhook got {} of {n}",
                delivered.load(Ordering::Relaxed)
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    Ok(EventFigures {
        sessions: n,
        ack_to_sse,
        send_to_sse,
        terminate_alone,
        terminate_watched,
        sse_all,
        cpu_alone,
        cpu_watched,
        terminate_webhook,
        webhook_all,
    })
}

/// The events table, printed and returned as markdown.
pub fn report(f: &EventFigures) -> String {
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
    let s = |d: Duration| format!("{:.2} s", d.as_secs_f64());
    let p50 = percentile(&f.ack_to_sse, 0.5);
    let p99 = percentile(&f.ack_to_sse, 0.99);
    let ratio = f.terminate_watched.as_secs_f64() / f.terminate_alone.as_secs_f64().max(1e-9);
    let rows: Vec<(String, String, String, bool)> = vec![
        (
            "ack → SSE receipt p50 / p99".into(),
            format!("{} / {}", ms(p50), ms(p99)),
            "p99 < 50 ms".into(),
            p99 < Duration::from_millis(50),
        ),
        (
            "DELETE sent → SSE receipt p50 / p99".into(),
            format!(
                "{} / {}",
                ms(percentile(&f.send_to_sse, 0.5)),
                ms(percentile(&f.send_to_sse, 0.99))
            ),
            "(for reference)".into(),
            true,
        ),
        (
            format!("terminate {} by filter, no subscriber", f.sessions),
            s(f.terminate_alone),
            "(anchor)".into(),
            true,
        ),
        (
            format!("terminate {} by filter, 3 SSE subscribers", f.sessions),
            format!("{} ({ratio:.2}×)", s(f.terminate_watched)),
            "< 1.20×".into(),
            ratio < 1.2,
        ),
        (
            format!("all {} delivered to every SSE subscriber", f.sessions),
            s(f.sse_all),
            "< 5 s".into(),
            f.sse_all < Duration::from_secs(5),
        ),
        (
            "CPU s (server / load generator): alone, then 3 subscribers until delivered".into(),
            format!(
                "{:.2} / {:.2}, then {:.2} / {:.2}",
                f.cpu_alone.0, f.cpu_alone.1, f.cpu_watched.0, f.cpu_watched.1
            ),
            "(for reference)".into(),
            true,
        ),
        (
            format!("terminate {} by filter, 1 webhook", f.sessions),
            s(f.terminate_webhook),
            "(for reference)".into(),
            true,
        ),
        (
            format!("all {} delivered to the webhook", f.sessions),
            s(f.webhook_all),
            "< 60 s".into(),
            f.webhook_all < Duration::from_secs(60),
        ),
    ];
    let mut md = String::from("| figure | value | target | met |\n|---|---|---|---|\n");
    for (name, value, target, met) in &rows {
        md.push_str(&format!(
            "| {name} | {value} | {target} | {} |\n",
            if *met { "yes" } else { "no" }
        ));
    }
    println!("\n{md}");
    md
}

/// Writes the events table beside the other results (`STEM-events.md`).
pub fn write(stem: &std::path::Path, md: &str) -> Res<()> {
    let path = stem.with_file_name(format!(
        "{}-events.md",
        stem.file_name()
            .and_then(|s| s.to_str())
            .unwrap_or("results")
    ));
    std::fs::write(&path, format!("# Events (SQLite store)\n\n{md}")).map_err(|e| e.to_string())?;
    println!("events results written to {}", path.display());
    Ok(())
}
