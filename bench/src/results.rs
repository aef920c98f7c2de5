//! The results files of a run (`--results STEM` writes `STEM.md` and `STEM.csv`): every
//! figure beside its anchor, and beside the floor and goal the issues set for that store
//! (issue 10 for SQLite, issue 8 for the Redis Cluster). "met" is judged here only to save
//! the reader arithmetic; nothing fails on it: this is a bench, not a test.

use super::{percentile, Args, Figures};
use std::fmt::Write as _;
use std::path::Path;

/// Which way a figure is better.
#[derive(Clone, Copy)]
enum Better {
    Higher,
    Lower,
}

/// A target: the floor that must hold and the goal to aim for.
#[derive(Clone, Copy)]
struct Target {
    floor: f64,
    goal: Option<f64>,
    better: Better,
}

const fn higher(floor: f64, goal: f64) -> Option<Target> {
    Some(Target {
        floor,
        goal: Some(goal),
        better: Better::Higher,
    })
}

const fn lower(floor: f64, goal: Option<f64>) -> Option<Target> {
    Some(Target {
        floor,
        goal,
        better: Better::Lower,
    })
}

/// One row of the table.
struct Row {
    store: String,
    figure: String,
    value: f64,
    unit: &'static str,
    anchor: Option<f64>,
    target: Option<Target>,
}

impl Row {
    fn met(&self) -> &'static str {
        let Some(t) = self.target else {
            return "-";
        };
        let beats = |bound: f64| match t.better {
            Better::Higher => self.value >= bound,
            Better::Lower => self.value < bound,
        };
        match (beats(t.floor), t.goal.map(beats)) {
            (true, Some(true)) => "goal",
            (true, _) => "floor",
            (false, _) => "no",
        }
    }
}

/// The targets of `figure` on `store`: issue 10's table for SQLite (its per-session bulk
/// floors are its totals divided by their counts: 3 s per 100,000 by filter, 10 s per
/// 340,000 closed), issue 8's for the Redis Cluster.
fn target(store: &str, figure: &str) -> Option<Target> {
    match (store, figure) {
        ("sqlite", "validate / own healthz") => higher(0.6, 0.85),
        ("sqlite", "list 100 by identity p99") => lower(5.0, Some(2.0)),
        ("sqlite", "terminate 10000 ids") => lower(300.0, Some(100.0)),
        ("sqlite", "terminate by filter, per session") => lower(30.0, Some(10.0)),
        ("sqlite", "qumulo close (batches of 100), per session") => lower(29.4, Some(14.7)),
        ("sqlite", "register (one client, 32 in flight)") => higher(20_000.0, 40_000.0),
        ("sqlite", "server RSS") => lower(300.0, Some(200.0)),
        ("sqlite", "restart to ready") => lower(2_000.0, Some(500.0)),
        ("redis-cluster", "validate / own healthz") => higher(0.5, 0.5),
        ("redis-cluster", "list 100 by identity p99") => lower(10.0, None),
        ("redis-cluster", "terminate 10000 ids") => lower(1_000.0, None),
        _ => None,
    }
}

fn rows(all: &[(&str, Figures)]) -> Vec<Row> {
    let mut out = Vec::new();
    for (store, f) in all {
        let mut add = |figure: String, value: f64, unit: &'static str, anchor: Option<f64>| {
            let target = target(store, &figure);
            out.push(Row {
                store: store.to_string(),
                figure,
                value,
                unit,
                anchor,
                target,
            });
        };
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        let per = |d: std::time::Duration, n: usize| d.as_secs_f64() * 1e6 / n.max(1) as f64;
        add(
            "validate / own healthz".into(),
            f.validate.rate / f.healthz.rate,
            "ratio",
            None,
        );
        add(
            "validate".into(),
            f.validate.rate,
            "req/s",
            Some(f.healthz.rate),
        );
        add(
            "CPU per validate, sessiond".into(),
            f.validate.cpu.server_us,
            "µs",
            Some(f.healthz.cpu.server_us),
        );
        add(
            "list 100 by identity p50".into(),
            ms(percentile(&f.lat, 0.5)),
            "ms",
            None,
        );
        add(
            "list 100 by identity p99".into(),
            ms(percentile(&f.lat, 0.99)),
            "ms",
            None,
        );
        add(
            format!("terminate {} ids", f.ends.n_ids),
            ms(f.ends.ids_time),
            "ms",
            None,
        );
        add(
            "terminate by filter, per session".into(),
            per(f.ends.f_time, f.ends.n_f),
            "µs",
            None,
        );
        add(
            "qumulo close (batches of 100), per session".into(),
            per(f.ends.q_time, f.ends.n_q),
            "µs",
            None,
        );
        add(
            "register (one client, 32 in flight)".into(),
            f.reg_rate,
            "/s",
            None,
        );
        if let Some(r) = f.rss {
            add("server RSS".into(), r, "MB", None);
        }
        add("restart to ready".into(), ms(f.ready), "ms", None);
        if let Some((bytes, _)) = f.redis_per_session {
            add("Redis memory per live session".into(), bytes, "B", None);
        }
        if let Some(get) = f.redis_get {
            add(
                "validate vs redis-benchmark GET".into(),
                f.validate.rate,
                "req/s",
                Some(get),
            );
        }
    }
    out
}

fn num(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn markdown(args: &Args, rows: &[Row]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# sessiond bench: {} live sessions, {} cores\n\n`sessiond-bench --sessions {} \
         --seconds {} --connections {} --stores {}` (scripts/bench). Anchors are measured in \
         the same run; per-session bulk figures are the issue's totals divided by their counts. \
         Register is one client with 32 requests in flight, not the issue's wrk loader.\n",
        args.sessions,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        args.sessions,
        args.seconds,
        args.connections,
        args.stores.join(","),
    );
    s.push_str("| store | figure | value | unit | anchor | ratio | floor | goal | met |\n");
    s.push_str("|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        let anchor = r.anchor.map_or("-".into(), num);
        let ratio = r.anchor.map_or("-".into(), |a| num(r.value / a));
        let floor = r.target.map_or("-".into(), |t| num(t.floor));
        let goal = r.target.and_then(|t| t.goal).map_or("-".into(), num);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {anchor} | {ratio} | {floor} | {goal} | {} |",
            r.store,
            r.figure,
            num(r.value),
            r.unit,
            r.met()
        );
    }
    s
}

fn csv(rows: &[Row]) -> String {
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    let mut s = String::from("store,figure,value,unit,anchor,floor,goal,met\n");
    for r in rows {
        let _ = writeln!(
            s,
            "{},\"{}\",{},{},{},{},{},{}",
            r.store,
            r.figure.replace('"', "\"\""),
            r.value,
            r.unit,
            opt(r.anchor),
            opt(r.target.map(|t| t.floor)),
            opt(r.target.and_then(|t| t.goal)),
            r.met()
        );
    }
    s
}

/// Writes `STEM.md` and `STEM.csv`.
pub fn write(args: &Args, stem: &Path, all: &[(&str, Figures)]) -> Result<(), String> {
    let rows = rows(all);
    if let Some(dir) = stem.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let md = stem.with_extension("md");
    let csv_path = stem.with_extension("csv");
    std::fs::write(&md, markdown(args, &rows)).map_err(|e| format!("{}: {e}", md.display()))?;
    std::fs::write(&csv_path, csv(&rows)).map_err(|e| format!("{}: {e}", csv_path.display()))?;
    println!(
        "\nresults written to {} and {}",
        md.display(),
        csv_path.display()
    );
    Ok(())
}
