//! The console's sessions page under the same filters as the API list bench: logs in
//! through the login form (cookie and nonce, as a browser does) and times whole pages,
//! sequentially, client-side on loopback (an upper bound of the server's time).

use crate::Res;
use std::time::{Duration, Instant};

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = text.find(start)? + start.len();
    let j = text[i..].find(end)? + i;
    Some(&text[i..j])
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

/// Page latencies, sorted: `/console/sessions?identity=ad:userN&limit=100`, the API list
/// bench's filter, rendered as the console's whole page (table, filters, tenant picker).
pub async fn page_latencies(
    base: &str,
    admin_password: &str,
    requests: usize,
) -> Res<Vec<Duration>> {
    // No redirects: the login answers 303 with the cookie.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .danger_accept_invalid_certs(true)
        .build()
        .map_err(|e| e.to_string())?;
    let cookie = login(&http, base, "admin", admin_password).await?;
    let mut lat = Vec::with_capacity(requests);
    for i in 0..requests {
        let url = format!(
            "{base}/console/sessions?identity=ad:user{}&limit=100",
            i % 5000
        );
        let t0 = Instant::now();
        let r = http
            .get(&url)
            .header("cookie", &cookie)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let ok = r.status().is_success();
        let body = r.text().await.map_err(|e| e.to_string())?;
        lat.push(t0.elapsed());
        if !ok || !body.contains("sessions-table") {
            return Err(format!("console page failed: {url}"));
        }
    }
    lat.sort();
    Ok(lat)
}
