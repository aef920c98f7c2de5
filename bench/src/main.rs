//! sessiond bench harness: starts a release server on loopback, loads sessions through the
//! API, and prints each figure beside an anchor measured in the same run (DESIGN.md §7).
//! Figures are printed, never asserted: this is not a test.

mod backends;
mod console;
mod cpu;
mod events;
mod plot;
mod raw_sqlite;
mod results;

use backends::Backend;
use clap::Parser;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
struct Args {
    /// Live sessions to load before measuring; several sizes (`10000,100000,1000000`) each
    /// get a full run on a fresh store, and the plot shows how the figures grow
    #[arg(long, value_delimiter = ',', default_value = "100000")]
    sessions: Vec<usize>,
    /// Seconds per wrk run
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// wrk connections
    #[arg(long, default_value_t = 64)]
    connections: u32,
    /// List requests timed for the latency percentiles
    #[arg(long, default_value_t = 2000)]
    list_requests: usize,
    /// The server binary (a release build)
    #[arg(long, default_value = "target/release/sessiond")]
    server: PathBuf,
    /// Stores to measure in this run, in order: sqlite, redis (standalone), cluster (three
    /// primaries with a replica each), all started on loopback for the run
    #[arg(long, value_delimiter = ',', default_value = "sqlite,redis,cluster")]
    stores: Vec<String>,
    /// GET requests of the redis-benchmark anchor
    #[arg(long, default_value_t = 400_000)]
    redis_requests: u32,
    /// Measure the events figures instead (SQLite): latency to an SSE subscriber, and a
    /// filter terminate of this many sessions delivered to SSE subscribers and a webhook
    #[arg(long, value_name = "SESSIONS")]
    events: Option<usize>,
    /// Also write the figures with their floors and goals to STEM.md and STEM.csv
    /// (scripts/bench passes bench/results/<date>-<cores>c)
    #[arg(long, value_name = "STEM")]
    results: Option<PathBuf>,
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

type Res<T> = Result<T, String>;

/// Registrations in flight while the fixture loads through the API.
const LOAD_IN_FLIGHT: usize = 64;
/// Sessions "terminate all matching" ends through the console (issue 12: 100,000).
const CONSOLE_BULK: usize = 100_000;

fn start(
    bin: &PathBuf,
    data: &std::path::Path,
    extra: &[String],
) -> Res<(Server, String, Duration)> {
    let t0 = Instant::now();
    let mut child = Command::new(bin)
        .args([
            "serve",
            "--plain-http",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(data)
        .args(extra)
        .env("SESSIOND_ADMIN_PASSWORD", "bench-password")
        .env("SESSIOND_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let out = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(out)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .ok_or(format!("bad readiness line {line:?}"))?
        .to_string();
    Ok((Server(child), url, t0.elapsed()))
}

async fn post(http: &reqwest::Client, url: &str, tok: Option<&str>, body: Value) -> Res<Value> {
    let mut rb = http.post(url).json(&body);
    if let Some(t) = tok {
        rb = rb.bearer_auth(t);
    }
    let r = rb.send().await.map_err(|e| e.to_string())?;
    let status = r.status();
    let v: Value = r.json().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{url}: {status} {v}"));
    }
    Ok(v)
}

/// Registers `n` sessions with `conc` requests in flight; returns their tokens and the rate.
async fn load(
    http: &reqwest::Client,
    base: &str,
    tok: &str,
    n: usize,
    conc: usize,
    service: &str,
) -> Res<(Vec<String>, f64)> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (http, base, tok, next, service) = (
            http.clone(),
            base.to_string(),
            tok.to_string(),
            next.clone(),
            service.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let body = json!({"service":service,"node_id":format!("node-{}", i % 8),
                    "user":{"domain":"ACTIVE_DIRECTORY","name":format!("user{}", i % 5000)},
                    "originator":format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255),
                    "share_names":["home"]});
                let v = post(&http, &format!("{base}/api/v1/sessions"), Some(&tok), body).await?;
                out.push(v["token"].as_str().ok_or("no token")?.to_string());
            }
            Ok::<_, String>(out)
        }));
    }
    let mut tokens = Vec::with_capacity(n);
    for t in tasks {
        tokens.extend(t.await.map_err(|e| e.to_string())??);
    }
    Ok((tokens, n as f64 / t0.elapsed().as_secs_f64()))
}

/// A wrk run's throughput and where the CPU went during it.
struct Run {
    rate: f64,
    cpu: cpu::PerRequest,
}

/// Runs wrk and samples CPU use around it (sessiond's pid, the Redis primaries' ports).
fn wrk_cpu(
    url: &str,
    script: Option<&str>,
    args: &Args,
    env: &[(&str, &str)],
    pid: u32,
    redis: &[u16],
) -> Res<Run> {
    let a = cpu::sample(pid, redis);
    let (rate, requests) = wrk(url, script, args, env)?;
    let b = cpu::sample(pid, redis);
    Ok(Run {
        rate,
        cpu: cpu::per_request(a, b, requests),
    })
}

/// Runs wrk and returns its requests/s and the number of requests it completed.
fn wrk(url: &str, script: Option<&str>, args: &Args, env: &[(&str, &str)]) -> Res<(f64, f64)> {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t2",
        &format!("-c{}", args.connections),
        &format!("-d{}s", args.seconds),
        "--latency",
    ]);
    if let Some(s) = script {
        cmd.args(["-s", s]);
    }
    cmd.arg(url).envs(env.iter().copied());
    let out = cmd
        .output()
        .map_err(|e| format!("wrk: {e} (apt-get install wrk)"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let errors = String::from_utf8_lossy(&out.stderr);
    if errors.lines().count() > 0 {
        eprintln!(
            "wrk stderr (first lines): {}",
            errors.lines().take(3).collect::<Vec<_>>().join(" | ")
        );
    }
    // A throughput of error answers measures nothing: refuse the run.
    if let Some(bad) = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
    {
        return Err(format!("{url}: {} answers were not 2xx", bad.trim()));
    }
    if let Some(sock) = text.lines().find(|l| l.contains("Socket errors:")) {
        eprintln!("wrk {url}: {}", sock.trim());
    }
    let rate = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or(format!("no Requests/sec in wrk output: {text}"))?;
    // "  123456 requests in 10.00s, 12.34MB read"
    let requests = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(rate * args.seconds as f64);
    Ok((rate, requests))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// A `/proc/<pid>/status` field in MB (`VmRSS`, `RssAnon`, …).
fn status_mb(pid: u32, field: &str) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = s
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// The three bulk ends, each on its own slice of the loaded sessions: how many each ended and
/// how long it took.
struct Ends {
    n_ids: usize,
    ids_time: Duration,
    n_q: usize,
    /// The listing part of `q_time`.
    q_list: Duration,
    q_time: Duration,
    n_f: usize,
    f_time: Duration,
}

impl Ends {
    /// The Qumulo close's time per batch of 100, its listing included.
    fn close_per_batch_ms(&self) -> f64 {
        self.q_time.as_secs_f64() * 1e3 / self.n_q.div_ceil(100).max(1) as f64
    }
}

/// Everything the run measured, for [`report`].
struct Figures {
    /// Live sessions loaded for this run.
    sessions: usize,
    validate: Run,
    healthz: Run,
    /// The load through the API: one reqwest client, [`LOAD_IN_FLIGHT`] requests in flight.
    reg_rate: f64,
    /// Registrations through the API under wrk (`register.lua`, `--connections`).
    reg_wrk: f64,
    /// List latencies, sorted.
    lat: Vec<Duration>,
    /// The same lists after the bulk ends, when the users' rows are tombstones.
    lat_after: Vec<Duration>,
    /// The console's sessions page with the same filter, sorted.
    console: Vec<Duration>,
    /// The console's overview (every tenant), sorted.
    overview: Vec<Duration>,
    /// "Terminate all matching" through the console, on sessions loaded for it.
    console_bulk: console::BulkFigures,
    ends: Ends,
    /// How long `sync` took before the bulk ends (the disk's write-back backlog).
    sync_time: Duration,
    rss: Option<f64>,
    /// The heap part of `rss` (the rest is mapped file pages: SQLite's mmap).
    rss_anon: Option<f64>,
    /// Raw SQLite on the same file and disk (SQLite store only).
    raw: Option<raw_sqlite::Anchors>,
    ready: Duration,
    /// redis-benchmark GET on the same Redis, with the same number of connections.
    redis_get: Option<f64>,
    /// Redis bytes and keys per live session (primaries only; replicas hold a copy each).
    redis_per_session: Option<(f64, f64)>,
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    if let Some(n) = args.events {
        let f = events::measure(&args.server, n).await?;
        let md = events::report(&f);
        if let Some(stem) = &args.results {
            events::write(stem, &md)?;
        }
        return Ok(());
    }
    let mut all = Vec::new();
    for name in &args.stores {
        for &n in &args.sessions {
            // A fresh store per size: each size is measured from the same starting point.
            let mut backend = Backend::start(name)?;
            let fig = measure(&args, &mut backend, n).await?;
            report(&args, backend.label(), &fig);
            all.push((backend.label(), fig));
            drop(backend);
        }
    }
    summary(&all);
    if let Some(stem) = &args.results {
        results::write(&args, stem, &all)?;
        let points: Vec<plot::Point> = all
            .iter()
            .map(|(store, f)| plot::Point {
                store: store.to_string(),
                sessions: f.sessions,
                validate_per_s: f.validate.rate,
                healthz_per_s: f.healthz.rate,
                list_p99_ms: percentile(&f.lat, 0.99).as_secs_f64() * 1e3,
            })
            .collect();
        let png = stem.with_extension("png");
        plot::write_png(&png, &points)?;
        println!("plot written to {}", png.display());
    }
    Ok(())
}

/// One full run on one store: load, validate vs /healthz (and vs redis-benchmark GET on
/// Redis), list latencies, bulk ends, restart to ready.
async fn measure(args: &Args, backend: &mut Backend, sessions: usize) -> Res<Figures> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let key_file = dir.path().join("keys.toml");
    let extra = backend.serve_args(&key_file);
    // Only a shared store needs the key file (and older builds have no keygen).
    if !extra.is_empty() {
        let keygen = Command::new(&args.server)
            .args(["admin", "keygen", "--out"])
            .arg(&key_file)
            .output()
            .map_err(|e| e.to_string())?;
        if !keygen.status.success() {
            return Err(format!(
                "keygen: {}",
                String::from_utf8_lossy(&keygen.stderr)
            ));
        }
    }
    let data = dir.path().join("data");
    let (server, base, _) = start(&args.server, &data, &extra)?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .map_err(|e| e.to_string())?;
    let admin = post(
        &http,
        &format!("{base}/api/v1/auth/login"),
        None,
        json!({"username":"admin","password":"bench-password"}),
    )
    .await?;
    let admin = admin["token"].as_str().ok_or("no token")?.to_string();

    let mem_before = backend.memory();
    println!(
        "[{}] loading {} sessions through POST /api/v1/sessions …",
        backend.label(),
        sessions
    );
    let (tokens, reg_rate) = load(&http, &base, &admin, sessions, LOAD_IN_FLIGHT, "smb").await?;
    let redis_per_session = match (mem_before, backend.memory()) {
        (Some((b0, k0)), Some((b1, k1))) => Some((
            b1.saturating_sub(b0) as f64 / sessions as f64,
            k1.saturating_sub(k0) as f64 / sessions as f64,
        )),
        _ => None,
    };
    let tok_file = dir.path().join("tokens.txt");
    std::fs::File::create(&tok_file)
        .and_then(|mut f| f.write_all(tokens.join("\n").as_bytes()))
        .map_err(|e| e.to_string())?;

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/validate.lua");
    let pid = server.0.id();
    let redis = backend.all_ports();
    let healthz = wrk_cpu(&format!("{base}/healthz"), None, args, &[], pid, &redis)?;
    let validate = wrk_cpu(
        &base,
        Some(script),
        args,
        &[
            ("BENCH_TOKENS", tok_file.to_str().ok_or("path")?),
            ("BENCH_AUTH", &admin),
        ],
        pid,
        &redis,
    )?;
    let redis_get = backend.redis_get_anchor(args.connections, args.redis_requests);

    let lat = list_latencies(&http, &base, &admin, args.list_requests).await?;
    let console = console::page_latencies(&base, "bench-password", args.list_requests).await?;
    let overview = console::overview_latencies(&base, "bench-password", 10).await?;
    // Session ids are the tokens' prefixes.
    let ids: Vec<String> = tokens
        .iter()
        .filter_map(|t| t.split('.').next().map(str::to_string))
        .collect();
    let rss = status_mb(pid, "VmRSS");
    let rss_anon = status_mb(pid, "RssAnon");
    // Raw SQLite on the server's own file while the server idles (WAL: a reader needs no
    // lock the server holds), and durable updates on a scratch file on the same disk.
    let raw = match backend {
        Backend::Sqlite => Some(raw_sqlite::measure(
            &data.join("sessiond.db"),
            dir.path(),
            &ids,
            args.seconds,
        )?),
        _ => None,
    };
    // The validate run leaves the kernel writing back what its touch flushes dirtied;
    // flushing that first measures the ends themselves, not the disk's backlog (how long
    // the flush took is printed: it is that backlog).
    let t0 = Instant::now();
    let synced = Command::new("sync")
        .status()
        .map_err(|e| format!("sync: {e}"))?;
    if !synced.success() {
        return Err(format!("sync: {synced}"));
    }
    let sync_time = t0.elapsed();
    let ends = bulk_ends(&http, &base, &admin, &ids).await?;
    let lat_after = list_latencies(&http, &base, &admin, args.list_requests).await?;
    // Registration under wrk last: it adds sessions the other figures must not see.
    let reg_wrk = wrk(
        &base,
        Some(concat!(env!("CARGO_MANIFEST_DIR"), "/register.lua")),
        args,
        &[("BENCH_AUTH", &admin)],
    )?
    .0;
    // Issue 12, after every figure above (its 100,000 ends and their events would weigh
    // on them): up to 100,000 sessions of their own, ended through the console's preview
    // and confirmed chunks while a second client loads their page.
    let bulk_n = sessions.min(CONSOLE_BULK);
    println!(
        "[{}] console: terminate all matching of {bulk_n} sessions …",
        backend.label()
    );
    load(&http, &base, &admin, bulk_n, LOAD_IN_FLIGHT, "console-bulk").await?;
    let console_bulk = console::terminate_matching(&base, "bench-password", "console-bulk").await?;
    drop(server);
    let (server, _, ready) = start(&args.server, &data, &extra)?;
    drop(server);
    Ok(Figures {
        sessions,
        validate,
        healthz,
        reg_rate,
        reg_wrk,
        lat,
        lat_after,
        console,
        console_bulk,
        overview,
        ends,
        sync_time,
        rss,
        rss_anon,
        raw,
        ready,
        redis_get,
        redis_per_session,
    })
}

/// List latency: one page of 100 by identity, sequential requests, client-side timing.
/// Returns the latencies sorted.
async fn list_latencies(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
    requests: usize,
) -> Res<Vec<Duration>> {
    let mut lat = Vec::with_capacity(requests);
    for i in 0..requests {
        let url = format!(
            "{base}/api/v1/sessions?identity=ad:user{}&limit=100",
            i % 5000
        );
        let t0 = Instant::now();
        let r = http
            .get(&url)
            .bearer_auth(admin)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let ok = r.status().is_success();
        let _ = r.bytes().await;
        lat.push(t0.elapsed());
        if !ok {
            return Err(format!("list failed: {url}"));
        }
    }
    lat.sort();
    Ok(lat)
}

/// Bulk ends, each on its own slice of the loaded sessions' ids: up to 10,000 by ids in one request (the loaders interleave, so these ids are spread over
/// the whole table, as a hand-picked list would be), half of the rest closed as qq does it,
/// and everything still live by filter.
async fn bulk_ends(http: &reqwest::Client, base: &str, admin: &str, ids: &[String]) -> Res<Ends> {
    let n_ids = ids.len().min(10_000);
    let t0 = Instant::now();
    let v = post(
        http,
        &format!("{base}/api/v1/sessions/terminate"),
        Some(admin),
        json!({"ids": ids[..n_ids]}),
    )
    .await?;
    let ids_time = t0.elapsed();
    if v["terminated"].as_u64() != Some(n_ids as u64) {
        return Err(format!(
            "terminate by ids ended {} of {n_ids}",
            v["terminated"]
        ));
    }
    // Qumulo close as qq does it: list the SMB sessions in pages of 1,000, then close what
    // was listed (the session_info objects as listed) in batches of 100, one request at a
    // time; half of the rest. The listing is part of the time, as it is for qq's users.
    let rest = &ids[n_ids..];
    let n_q = rest.len() / 2;
    let t0 = Instant::now();
    let mut listed: Vec<Value> = Vec::with_capacity(n_q);
    let mut next = Some("/v1/smb/sessions/?limit=1000".to_string());
    while let Some(path) = next.take() {
        if listed.len() >= n_q {
            break;
        }
        let r = http
            .get(format!("{base}{path}"))
            .bearer_auth(admin)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !r.status().is_success() {
            return Err(format!("qumulo list {path}: {}", r.status()));
        }
        let v: Value = r.json().await.map_err(|e| e.to_string())?;
        listed.extend(
            v["session_infos"]
                .as_array()
                .ok_or("qumulo list: no session_infos")?
                .iter()
                .cloned(),
        );
        next = v["paging"]["next"].as_str().map(str::to_string);
    }
    listed.truncate(n_q);
    if listed.len() != n_q {
        return Err(format!("qumulo list found {} of {n_q}", listed.len()));
    }
    let q_list = t0.elapsed();
    for chunk in listed.chunks(100) {
        let v = post(
            http,
            &format!("{base}/v1/smb/sessions/close"),
            Some(admin),
            Value::Array(chunk.to_vec()),
        )
        .await?;
        if v.as_array()
            .is_none_or(|a| a.iter().any(|r| r["error_message"] != ""))
        {
            return Err(format!("qumulo close failed: {v}"));
        }
    }
    let q_time = t0.elapsed();
    // Everything still live, by filter (the server works through it in chunks).
    let n_f = rest.len() - n_q;
    let t0 = Instant::now();
    let v = post(
        http,
        &format!("{base}/api/v1/sessions/terminate"),
        Some(admin),
        json!({"filter": {"service": "smb"}}),
    )
    .await?;
    let f_time = t0.elapsed();
    if v["terminated"].as_u64() != Some(n_f as u64) {
        return Err(format!(
            "terminate by filter ended {} of {n_f}",
            v["terminated"]
        ));
    }
    Ok(Ends {
        n_ids,
        ids_time,
        n_q,
        q_list,
        q_time,
        n_f,
        f_time,
    })
}

/// Prints each figure beside its anchor.
fn report(args: &Args, store: &str, fig: &Figures) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let line = |label: &str, value: String, anchor: String, ratio: String| {
        println!("{label:<52} {value:>14} {anchor:>14} {ratio:>8}");
    };
    println!();
    println!(
        "sessiond bench — {} live sessions, store {store}, plain HTTP on loopback, wrk -t2 -c{} -d{}s",
        fig.sessions, args.connections, args.seconds
    );
    line("figure", "value".into(), "anchor".into(), "ratio".into());
    let (v, h) = (&fig.validate, &fig.healthz);
    line(
        "validate (uniform tokens) vs own /healthz",
        format!("{:.0}/s", v.rate),
        format!("{:.0}/s", h.rate),
        format!("{:.2}", v.rate / h.rate),
    );
    for (label, run) in [("healthz", h), ("validate", v)] {
        line(
            &format!("  CPU µs per {label}: sessiond / store / rest"),
            format!("{:.1} / {:.1}", run.cpu.server_us, run.cpu.store_us),
            format!("{:.1}", run.cpu.other_us),
            "-".into(),
        );
    }
    if let Some(raw) = &fig.raw {
        line(
            "validate vs raw SQLite point lookups (same file)",
            format!("{:.0}/s", v.rate),
            format!("{:.0}/s", raw.lookups_per_s),
            format!("{:.2}", v.rate / raw.lookups_per_s),
        );
    }
    if let Some(get) = fig.redis_get {
        line(
            "validate vs redis-benchmark GET (same Redis)",
            format!("{:.0}/s", v.rate),
            format!("{get:.0}/s"),
            format!("{:.2}", v.rate / get),
        );
    }
    if let Some((bytes, keys)) = fig.redis_per_session {
        line(
            "Redis memory per live session (primaries)",
            format!("{bytes:.0} B"),
            format!("{keys:.1} keys"),
            "-".into(),
        );
    }
    line(
        &format!("register under wrk ({} connections)", args.connections),
        format!("{:.0}/s", fig.reg_wrk),
        "-".into(),
        "-".into(),
    );
    line(
        &format!("load through the API (one client, {LOAD_IN_FLIGHT} in flight)"),
        format!("{:.0}/s", fig.reg_rate),
        "-".into(),
        "-".into(),
    );
    for (label, lat) in [("", &fig.lat), (", after the ends", &fig.lat_after)] {
        for p in [0.5, 0.99] {
            line(
                &format!("list page of 100 by identity{label}, p{:.0}", p * 100.0),
                format!("{:.2} ms", ms(percentile(lat, p))),
                "-".into(),
                "-".into(),
            );
        }
    }
    for p in [0.5, 0.99] {
        line(
            &format!("console sessions page, 100 by identity, p{:.0}", p * 100.0),
            format!("{:.2} ms", ms(percentile(&fig.console, p))),
            "-".into(),
            "-".into(),
        );
    }
    line(
        "console overview, all tenants (10 loads), p50 / max",
        format!(
            "{:.0} / {:.0} ms",
            ms(percentile(&fig.overview, 0.5)),
            ms(percentile(&fig.overview, 1.0))
        ),
        "-".into(),
        "-".into(),
    );
    let b = &fig.console_bulk;
    line(
        &format!(
            "console terminate all matching, {} sessions (chunks of 2000)",
            b.sessions
        ),
        format!(
            "{:.0} ms, chunk p99 {:.0} ms",
            ms(b.total),
            ms(percentile(&b.chunks, 0.99))
        ),
        "-".into(),
        "-".into(),
    );
    line(
        "console page of those sessions meanwhile, p50 / p99",
        format!(
            "{:.1} / {:.1} ms ({} loads)",
            ms(percentile(&b.pages_during, 0.5)),
            ms(percentile(&b.pages_during, 0.99)),
            b.pages_during.len()
        ),
        "-".into(),
        "-".into(),
    );
    line(
        "disk sync before the bulk ends (write-back backlog)",
        format!("{:.0} ms", ms(fig.sync_time)),
        "-".into(),
        "-".into(),
    );
    let e = &fig.ends;
    line(
        &format!("terminate {} ids (one request, durable)", e.n_ids),
        format!("{:.0} ms", ms(e.ids_time)),
        "-".into(),
        "-".into(),
    );
    let per_batch = e.close_per_batch_ms();
    let durable_ms = fig.raw.map(|r| r.durable_update_us / 1e3);
    line(
        &format!("qumulo close {} (list + batches of 100), per batch", e.n_q),
        format!("{per_batch:.2} ms"),
        durable_ms.map_or("-".into(), |d| format!("{d:.2} ms")),
        durable_ms.map_or("-".into(), |d| format!("{:.1}", per_batch / d)),
    );
    line(
        &format!("  of which listing {} in pages of 1,000", e.n_q),
        format!("{:.0} ms", ms(e.q_list)),
        format!("{:.0} ms", ms(e.q_time)),
        "-".into(),
    );
    line(
        &format!("terminate {} by filter", e.n_f),
        format!("{:.0} ms", ms(e.f_time)),
        "-".into(),
        "-".into(),
    );
    if let Some(r) = fig.rss {
        line(
            "server RSS after validate and lists (heap part)",
            format!("{r:.0} MB"),
            fig.rss_anon.map_or("-".into(), |a| format!("{a:.0} MB")),
            "-".into(),
        );
    }
    line(
        "restart to ready",
        format!("{:.0} ms", ms(fig.ready)),
        "-".into(),
        "-".into(),
    );
}

/// The stores and sizes side by side.
fn summary(all: &[(&str, Figures)]) {
    if all.len() < 2 {
        return;
    }
    println!();
    println!("summary — same machine, same run");
    print!("{:<36}", "figure");
    for (name, f) in all {
        print!(" {:>16}", format!("{name} {}", f.sessions));
    }
    println!();
    let row = |label: &str, f: &dyn Fn(&Figures) -> String| {
        print!("{label:<36}");
        for (_, fig) in all {
            print!(" {:>16}", f(fig));
        }
        println!();
    };
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
    row("validate /s", &|f| format!("{:.0}", f.validate.rate));
    row("own /healthz /s", &|f| format!("{:.0}", f.healthz.rate));
    row("validate / healthz", &|f| {
        format!("{:.2}", f.validate.rate / f.healthz.rate)
    });
    row("CPU µs/validate sessiond+store", &|f| {
        format!(
            "{:.1}+{:.1}",
            f.validate.cpu.server_us, f.validate.cpu.store_us
        )
    });
    row("raw SQLite lookups /s", &|f| {
        f.raw
            .map_or("-".into(), |r| format!("{:.0}", r.lookups_per_s))
    });
    row("redis-benchmark GET /s", &|f| {
        f.redis_get.map_or("-".into(), |g| format!("{g:.0}"))
    });
    row("list 100 by identity p50", &|f| ms(percentile(&f.lat, 0.5)));
    row("list 100 by identity p99", &|f| {
        ms(percentile(&f.lat, 0.99))
    });
    row("console page by identity p99", &|f| {
        ms(percentile(&f.console, 0.99))
    });
    row("terminate ids (10k)", &|f| ms(f.ends.ids_time));
    row("terminate by filter", &|f| ms(f.ends.f_time));
    row("register under wrk /s", &|f| format!("{:.0}", f.reg_wrk));
    row("bytes per session in Redis", &|f| {
        f.redis_per_session
            .map_or("-".into(), |(b, _)| format!("{b:.0}"))
    });
    row("server RSS MB", &|f| {
        f.rss.map_or("-".into(), |r| format!("{r:.0}"))
    });
}
