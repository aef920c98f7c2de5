//! The console's sessions page under the same filters as the API list bench: logs in
//! through the login form (cookie and nonce, as a browser does) and times whole pages,
//! sequentially, client-side on loopback (an upper bound of the server's time).

use crate::Res;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = text.find(start)? + start.len();
    let j = text[i..].find(end)? + i;
    Some(&text[i..j])
}

/// A client as the console needs it: no redirects followed (the login answers 303 with
/// the cookie).
fn client() -> Res<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())
}

/// The console cookie of a fresh login as `user`.
async fn login(http: &reqwest::Client, base: &str, user: &str, pw: &str) -> Res<String> {
    let r = http
        .get(format!("{base}/console/login"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let nonce_cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("sessiond_console_login="))
        .and_then(|c| c.split(';').next())
        .ok_or("no login cookie")?
        .to_string();
    let page = r.text().await.map_err(|e| e.to_string())?;
    let nonce = between(&page, r#"name="login_csrf" value=""#, "\"").ok_or("no nonce")?;
    let r = http
        .post(format!("{base}/console/login"))
        .header("cookie", nonce_cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("username={user}&password={pw}&login_csrf={nonce}"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("sessiond_console="))
        .and_then(|c| c.split(';').next())
        .map(str::to_string)
        .ok_or_else(|| format!("console login failed: {}", r.status()))
}

/// One console page's load time, the page read whole; an error unless it answered 2xx
/// with `marker` in it.
async fn timed_page(
    http: &reqwest::Client,
    url: &str,
    cookie: &str,
    marker: &str,
) -> Res<Duration> {
    let t0 = Instant::now();
    let r = http
        .get(url)
        .header("cookie", cookie)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let ok = r.status().is_success();
    let body = r.text().await.map_err(|e| e.to_string())?;
    let took = t0.elapsed();
    if !ok || !body.contains(marker) {
        return Err(format!("console page failed: {url}"));
    }
    Ok(took)
}

/// Page latencies, sorted: `/console/sessions?identity=ad:userN&limit=100`, the API list
/// bench's filter, rendered as the console's whole page (table, filters, tenant picker).
pub async fn page_latencies(
    base: &str,
    admin_password: &str,
    requests: usize,
) -> Res<Vec<Duration>> {
    let http = client()?;
    let cookie = login(&http, base, "admin", admin_password).await?;
    let mut lat = Vec::with_capacity(requests);
    for i in 0..requests {
        let url = format!(
            "{base}/console/sessions?identity=ad:user{}&limit=100",
            i % 5000
        );
        lat.push(timed_page(&http, &url, &cookie, "sessions-table").await?);
    }
    lat.sort();
    Ok(lat)
}

/// The overview page (`/console/?tenant=*`: live counts and seven days of hourly counts over
/// every tenant, from the store's statistics), `n` times, sorted.
pub async fn overview_latencies(base: &str, admin_password: &str, n: usize) -> Res<Vec<Duration>> {
    let http = client()?;
    let cookie = login(&http, base, "admin", admin_password).await?;
    let url = format!("{base}/console/?tenant=*");
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        lat.push(timed_page(&http, &url, &cookie, "svg").await?);
    }
    lat.sort();
    Ok(lat)
}

/// What "terminate all matching" through the console measured.
pub struct BulkFigures {
    pub sessions: u64,
    pub total: Duration,
    /// Per chunk request (2,000 ends each), sorted.
    pub chunks: Vec<Duration>,
    /// The sessions page, fetched in a loop by a second client while the chunks ran, sorted.
    pub pages_during: Vec<Duration>,
}

fn field<'a>(html: &'a str, name: &str) -> Option<&'a str> {
    between(html, &format!(r#"name="{name}" value=""#), "\"")
}

/// Ends every live session of `service` as an operator does in the console: the dry run,
/// then the confirmed chunks one after another, each answer showing the progress, while
/// another client keeps loading the page of those sessions (is the console responsive
/// meanwhile?).
pub async fn terminate_matching(
    base: &str,
    admin_password: &str,
    service: &str,
) -> Res<BulkFigures> {
    let http = client()?;
    let cookie = login(&http, base, "admin", admin_password).await?;
    let page = http
        .get(format!(
            "{base}/console/sessions?service={service}&limit=10"
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    let csrf = between(&page, r#""x-csrf-token":""#, "\"")
        .ok_or("no CSRF token on the page")?
        .to_string();
    let query = format!("service%3D{service}");
    let post = |path: &'static str, body: String| {
        http.post(format!("{base}{path}"))
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let preview = post("/console/sessions/preview", format!("query={query}"))
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    let count: u64 = between(&preview, r#"<strong id="preview-count">"#, "<")
        .and_then(|n| n.parse().ok())
        .ok_or("no count in the preview")?;
    let confirm = field(&preview, "confirm")
        .ok_or("no confirm token")?
        .to_string();

    // The second client: the page an operator would look at meanwhile.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (stop, base, pw) = (stop.clone(), base.to_string(), admin_password.to_string());
        let page = format!("/console/sessions?service={service}&limit=100");
        tokio::spawn(async move {
            let http = client()?;
            let cookie = login(&http, &base, "admin", &pw).await?;
            let mut lat = Vec::new();
            // At least one load, however quick the bulk terminate is.
            let url = format!("{base}{page}");
            loop {
                lat.push(timed_page(&http, &url, &cookie, "sessions-table").await?);
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
            }
            lat.sort();
            Ok::<_, String>(lat)
        })
    };

    let t0 = Instant::now();
    let mut chunks = Vec::new();
    let (mut done, mut after) = (0u64, String::new());
    loop {
        let body = format!(
            "query={query}&confirm={}&total={count}&done={done}&after={after}",
            form_urlencoded::byte_serialize(confirm.as_bytes()).collect::<String>()
        );
        let c0 = Instant::now();
        let r = post("/console/sessions/terminate-matching", body)
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status();
        let html = r.text().await.map_err(|e| e.to_string())?;
        chunks.push(c0.elapsed());
        if !status.is_success() {
            return Err(format!("terminate-matching: {status}: {html}"));
        }
        done = between(&html, r#"<strong id="progress-done">"#, "<")
            .and_then(|n| n.parse().ok())
            .ok_or("no progress in the answer")?;
        match field(&html, "after") {
            Some(a) => after = a.to_string(),
            None => break,
        }
    }
    let total = t0.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let pages_during = watcher.await.map_err(|e| e.to_string())??;
    if done != count {
        return Err(format!("the console ended {done} of {count}"));
    }
    chunks.sort();
    Ok(BulkFigures {
        sessions: done,
        total,
        chunks,
        pages_during,
    })
}
