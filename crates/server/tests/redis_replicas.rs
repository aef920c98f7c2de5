//! sessiond replicas as processes over one real Redis: three processes on a Cluster of three
//! primaries with a replica each agree on everything; a primary killed with SIGKILL while
//! terminations are acknowledged loses none of them; a Redis that stalls or dies gets 503 +
//! Retry-After in every dialect, and the replicas recover by themselves.

mod common;
mod replica_checks;

use common::{key_file, Native, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sessiond_redis_harness::{RedisCluster, RedisServer};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PW: &str = "redis-replicas-admin";

fn replica(dir: &Path, i: usize, url: &str, key: &Path) -> Server {
    let data = dir.join(format!("replica-{i}"));
    std::fs::create_dir_all(&data).expect("data dir");
    Server::start_with(
        &data,
        PW,
        &[
            "--store".into(),
            url.into(),
            "--key-file".into(),
            key.display().to_string(),
            "--sweep-interval".into(),
            "1s".into(),
        ],
    )
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking task")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_sessiond_processes_on_one_redis_cluster_agree() {
    let cluster = blocking(|| RedisCluster::start(3, 1)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let key = key_file();
    let servers: Vec<Server> = (0..3)
        .map(|i| replica(dir.path(), i, &cluster.url(), key.path()))
        .collect();
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    let settle = MetricsSettle::new(&bases);
    replica_checks::register_list_terminate_validate(&bases, PW).await;
    replica_checks::confirm_from_a_works_on_b(&bases, PW).await;
    // Before the directory checks: they leave admin's logins throttled for a moment.
    replica_checks::events_reach_subscribers_of_every_replica(&bases, PW).await;
    replica_checks::ended_logins_are_refused_everywhere(&bases, PW, &settle).await;
    replica_checks::directory_changes_hold_everywhere(&bases, PW, &settle).await;
    for s in &servers {
        assert!(!s.stderr().contains("panicked"), "{}", s.stderr());
    }
    drop(servers);
    blocking(move || drop(cluster)).await;
}

/// Waits on each process's `/metrics` counters of published and applied invalidations.
struct MetricsSettle {
    bases: Vec<String>,
    http: reqwest::Client,
}

impl MetricsSettle {
    fn new(bases: &[String]) -> MetricsSettle {
        MetricsSettle {
            bases: bases.to_vec(),
            http: reqwest::Client::builder()
                .danger_accept_invalid_certs(true)
                .build()
                .expect("client"),
        }
    }

    async fn counts(&self, base: &str) -> (u64, u64) {
        let text = self
            .http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text");
        let value = |name: &str| -> u64 {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
                .map_or(0, |v| v as u64)
        };
        (
            value("sessiond_invalidations_published_total "),
            value("sessiond_invalidations_applied_total "),
        )
    }
}

impl replica_checks::Settle for MetricsSettle {
    fn settle(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            // Bounded only to turn a lost invalidation into a failure instead of a hang.
            for _ in 0..2_000 {
                let mut counts = Vec::new();
                for b in &self.bases {
                    counts.push(self.counts(b).await);
                }
                if replica_checks::settled(&counts) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            panic!("replicas did not apply every published invalidation");
        })
    }
}

/// Registers `n` sessions through `native`; returns (id, token) pairs.
async fn register_many(native: &Native, n: usize) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let (s, v) = native
            .call(
                Method::POST,
                "/sessions",
                Some(json!({"service": "smb", "user": {"name": format!("fo-{i}")}})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        out.push((
            v["session"]["id"].as_str().expect("id").to_string(),
            v["token"].as_str().expect("token").to_string(),
        ));
    }
    out
}

/// While two writers terminate sessions one by one (each acknowledged 200 recorded), a
/// primary is SIGKILLed. After its replica took over and the killed node rejoined as a
/// replica, every acknowledged termination is still terminated (and its token refused),
/// and the same sessiond process serves writes again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_terminations_survive_a_primary_failover() {
    const N: usize = 240;
    let mut cluster = blocking(|| RedisCluster::start(3, 1)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let key = key_file();
    let server = replica(dir.path(), 0, &cluster.url(), key.path());
    let native = Arc::new(Native::login(&server, PW).await);
    let sessions = register_many(&native, N).await;

    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let unavailable = Arc::new(Mutex::new(0usize));
    let queue = Arc::new(Mutex::new(
        sessions
            .iter()
            .map(|(id, _)| id.clone())
            .collect::<Vec<_>>(),
    ));
    let (halfway_tx, halfway_rx) = tokio::sync::oneshot::channel::<()>();
    let halfway = Arc::new(Mutex::new(Some(halfway_tx)));
    let mut writers = Vec::new();
    for _ in 0..2 {
        let (native, acked, unavailable, queue, halfway) = (
            native.clone(),
            acked.clone(),
            unavailable.clone(),
            queue.clone(),
            halfway.clone(),
        );
        writers.push(tokio::spawn(async move {
            loop {
                let Some(id) = queue.lock().expect("queue").pop() else {
                    break;
                };
                let (s, v) = native
                    .call(Method::DELETE, &format!("/sessions/{id}"), None)
                    .await;
                match s {
                    StatusCode::OK => {
                        assert_eq!(v["state"], "terminated", "{v}");
                        let n = {
                            let mut a = acked.lock().expect("acked");
                            a.insert(id);
                            a.len()
                        };
                        if n == N / 3 {
                            if let Some(tx) = halfway.lock().expect("halfway").take() {
                                let _ = tx.send(());
                            }
                        }
                    }
                    // During the failover: not acknowledged, so nothing is promised.
                    StatusCode::SERVICE_UNAVAILABLE => {
                        *unavailable.lock().expect("count") += 1;
                    }
                    other => panic!("DELETE {id}: unexpected {other}: {v}"),
                }
            }
        }));
    }
    halfway_rx.await.expect("a third acknowledged");
    let killed = blocking(move || {
        let port = cluster.kill_primary(0);
        cluster.wait_failover();
        (cluster, port)
    })
    .await;
    let (mut cluster, port) = killed;
    for w in writers {
        w.await.expect("writer");
    }
    // Reads work on the promoted primary at once; writes there need a replica to WAIT for.
    cluster = blocking(move || {
        cluster.restart_killed();
        cluster
    })
    .await;
    let acked = acked.lock().expect("acked").clone();
    let unavailable = *unavailable.lock().expect("count");
    eprintln!(
        "failover of primary :{port}: {} terminations acknowledged, {unavailable} answered 503",
        acked.len()
    );
    assert!(acked.len() >= N / 3, "acknowledged {}", acked.len());
    for (id, token) in &sessions {
        let v = native.session(id).await;
        if acked.contains(id) {
            assert_eq!(
                v["state"], "terminated",
                "acknowledged end of {id} was lost: {v}"
            );
            let (s, _) = native
                .call(
                    Method::POST,
                    "/sessions/validate",
                    Some(json!({"token": token})),
                )
                .await;
            assert_eq!(
                s,
                StatusCode::NOT_FOUND,
                "the token of ended {id} validates"
            );
        }
    }
    // The same process serves writes again, on every shard: end the rest.
    let rest: Vec<String> = sessions
        .iter()
        .map(|(id, _)| id.clone())
        .filter(|id| !acked.contains(id))
        .collect();
    let (s, v) = native
        .call(
            Method::POST,
            "/sessions/terminate",
            Some(json!({"ids": rest})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    for r in v["results"].as_array().expect("results") {
        assert!(
            r["ok"] == true || r["error"] == "session_ended",
            "after recovery: {r}"
        );
    }
    let (s, v) = native
        .call(
            Method::POST,
            "/sessions",
            Some(json!({"service": "smb", "user": {"name": "after-failover"}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "registration after recovery: {v}");
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
    drop(server);
    blocking(move || drop(cluster)).await;
}

/// One request per dialect while Redis cannot answer: each must be a 503 with Retry-After,
/// in that dialect's own body, within the client's bound (never a hang).
async fn every_dialect_says_503(http: &reqwest::Client, base: &str, token: &str) {
    let calls: [(&str, reqwest::RequestBuilder, &str); 5] = [
        (
            "native",
            http.get(format!("{base}/api/v1/sessions"))
                .bearer_auth(token),
            "/error/code",
        ),
        (
            "qumulo",
            http.get(format!("{base}/v1/smb/sessions/"))
                .bearer_auth(token),
            "/error_class",
        ),
        (
            "vsphere",
            http.get(format!(
                "{base}/sdk/vim25/8.0.3.0/SessionManager/SessionManager/sessionList"
            ))
            .header("vmware-api-session-id", token),
            "/_typeName",
        ),
        (
            "dds",
            http.get(format!("{base}/v3/default/nodes/n1/sessions"))
                .header("x-auth-token", token),
            "/error_code",
        ),
        (
            "commvault",
            http.get(format!("{base}/commandcenter/api/Sessions"))
                .header("authtoken", format!("QSDK {token}")),
            "/errorCode",
        ),
    ];
    for (dialect, rb, field) in calls {
        let r = rb.send().await.unwrap_or_else(|e| panic!("{dialect}: {e}"));
        let status = r.status();
        let retry = r.headers().get("retry-after").cloned();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{dialect}: {body}");
        assert!(retry.is_some(), "{dialect}: 503 without Retry-After");
        assert!(
            body.pointer(field).is_some(),
            "{dialect}: not its own error body ({field}): {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_or_dead_redis_is_503_everywhere_and_recovery_needs_no_restart() {
    let mut redis = blocking(RedisServer::start).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let key = key_file();
    let server = replica(dir.path(), 0, &redis.url(), key.path());
    let native = Native::login(&server, PW).await;
    // Bounds every call: a hang fails the test instead of stalling it.
    let http = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let ready = |http: reqwest::Client, base: String| async move {
        http.get(format!("{base}/readyz"))
            .send()
            .await
            .expect("readyz")
            .status()
    };
    assert_eq!(
        ready(http.clone(), server.base.clone()).await,
        StatusCode::OK
    );

    // Stalled: connections open, no answers.
    redis.pause();
    every_dialect_says_503(&http, &server.base, &native.token).await;
    assert_eq!(
        ready(http.clone(), server.base.clone()).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    redis.resume();
    let (s, v) = native.call(Method::GET, "/sessions", None).await;
    assert_eq!(s, StatusCode::OK, "after the stall, with data kept: {v}");

    // Dead: connection refused.
    redis = blocking(move || {
        redis.kill();
        redis
    })
    .await;
    every_dialect_says_503(&http, &server.base, &native.token).await;
    redis = blocking(move || {
        redis.restart();
        redis
    })
    .await;
    // Back (empty: this Redis keeps nothing on disk); the same process answers again.
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..50 {
        status = ready(http.clone(), server.base.clone()).await;
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, StatusCode::OK, "readyz after Redis came back");
    let (s, _) = native.call(Method::GET, "/sessions", None).await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "an answer from the (empty) store, not a 503"
    );
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
    drop(server);
    blocking(move || drop(redis)).await;
}
