//! Redis-specific behaviour: tombstone TTL, two stores (two sessiond replicas) on one Redis,
//! statistics over a data set from before them,
//! `Unavailable` within a bounded time while Redis is down and recovery when it is back,
//! and acknowledged ends surviving a Cluster primary failover.

use sessiond_core::filter::TenantScope;
use sessiond_core::stats::{hour_of, SessionStats};
use sessiond_core::store::{EndInfo, EndOutcome, SessionStore, Store};
use sessiond_core::{SessionState, StoreError};
use sessiond_redis_harness::{RedisCluster, RedisServer};
use sessiond_store_redis::{RedisOptions, RedisStore};
use sessiond_store_tests::fixtures::{at, hash_of, insert, session, Ids, T0};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

static PREFIX: AtomicUsize = AtomicUsize::new(0);

fn opts(retention: Duration) -> RedisOptions {
    RedisOptions {
        prefix: format!("t{}", PREFIX.fetch_add(1, Ordering::SeqCst)),
        retention,
        command_timeout: Duration::from_secs(2),
        ..RedisOptions::default()
    }
}

fn end(by: &str) -> EndInfo {
    EndInfo {
        state: SessionState::Terminated,
        at: at(60),
        by: by.into(),
        reason: None,
    }
}

fn raw(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .expect("client")
        .get_connection()
        .expect("connection")
}

/// The first store on a prefix records its layout; later ones follow it, a data set from
/// before the record keeps plain tags, and another shard count is refused, not misread.
#[tokio::test]
async fn the_layout_is_recorded_followed_and_guarded() {
    let server = RedisServer::start();
    let mut c = raw(&server.url());
    let o = opts(Duration::from_secs(3600));
    let a = RedisStore::connect(&server.url(), o.clone())
        .await
        .expect("connect a");
    let layout_key = format!("{{{}.dir}}:layout", o.prefix);
    let rec: String = redis::cmd("GET")
        .arg(&layout_key)
        .query(&mut c)
        .expect("get");
    assert_eq!(rec, "2:16");
    assert_ne!(
        a.shard_base(3),
        format!("{{{}.3}}", o.prefix),
        "balanced tags"
    );
    let s = session(Ids::default().next(), 1, T0);
    insert(&a, &s).await;
    let b = RedisStore::connect(&server.url(), o.clone())
        .await
        .expect("connect b");
    assert_eq!(b.session_key(&s.id), a.session_key(&s.id));
    assert!(b.get_session_auth(&s.id).await.expect("get").is_some());
    let other = RedisOptions {
        shards: 8,
        ..o.clone()
    };
    let e = RedisStore::connect(&server.url(), other)
        .await
        .expect_err("another shard count");
    assert!(e.to_string().contains("16 shards"), "{e}");
    // A data set written before the record (a directory, no layout key) keeps layout 1.
    let _: () = redis::cmd("DEL")
        .arg(&layout_key)
        .query(&mut c)
        .expect("del");
    let old = RedisStore::connect(&server.url(), o.clone())
        .await
        .expect("connect old");
    assert_eq!(old.shard_base(3), format!("{{{}.3}}", o.prefix));
    let rec: String = redis::cmd("GET")
        .arg(&layout_key)
        .query(&mut c)
        .expect("get");
    assert_eq!(rec, "1:16");
}

#[tokio::test]
async fn tombstones_get_the_retention_ttl_and_a_second_store_sees_the_end() {
    let server = RedisServer::start();
    let o = opts(Duration::from_secs(3600));
    let a = RedisStore::connect(&server.url(), o.clone())
        .await
        .expect("connect a");
    let b = RedisStore::connect(&server.url(), o.clone())
        .await
        .expect("connect b");
    assert_eq!(a.backend(), "redis");
    let ids = Ids::default();
    let s = session(ids.next(), 1, T0);
    insert(&a, &s).await;
    let key = a.session_key(&s.id);
    let mut c = raw(&server.url());
    let ttl: i64 = redis::cmd("TTL").arg(&key).query(&mut c).expect("ttl");
    assert_eq!(ttl, -1, "a live session never expires");
    let got = b
        .get_session_auth(&s.id)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(got.0, s);
    assert_eq!(got.1, hash_of(&s.id));

    let out = b
        .end_if_active(std::slice::from_ref(&s.id), &end("op"), false)
        .await
        .expect("end");
    assert_eq!(out.outcomes, vec![EndOutcome::Ended]);
    let ttl: i64 = redis::cmd("TTL").arg(&key).query(&mut c).expect("ttl");
    assert!((3500..=3600).contains(&ttl), "tombstone TTL {ttl}");
    let seen = a.get_session(&s.id).await.expect("get").expect("present");
    assert_eq!(seen.state, SessionState::Terminated);
    assert_eq!(seen.ended_by.as_deref(), Some("op"));
    // The first store cannot end it again: compare-and-set.
    let again = a
        .end_if_active(std::slice::from_ref(&s.id), &end("other"), false)
        .await
        .expect("end");
    assert_eq!(
        again.outcomes,
        vec![EndOutcome::AlreadyEnded(SessionState::Terminated)]
    );
}

/// Statistics on a data set written before their keys existed: the live counts come back
/// once a store connects (the pairs of live sessions are recorded from the live indexes).
/// A pair leaves the shard's set with its last live session; hour hashes expire by
/// themselves.
#[tokio::test]
async fn stats_cover_sessions_written_before_them_and_their_keys_expire() {
    let server = RedisServer::start();
    let o = opts(Duration::from_secs(3600));
    let a = RedisStore::connect(&server.url(), o.clone())
        .await
        .expect("connect a");
    let ids = Ids::default();
    let mut made = Vec::new();
    for i in 0..40 {
        let mut s = session(ids.next(), 1 + i % 2, T0);
        s.service = if i % 2 == 0 { "smb" } else { "nfs" }.into();
        insert(&a, &s).await;
        made.push(s);
    }
    let hour = hour_of(T0);
    let live = |st: &SessionStats| -> Vec<(u32, String, u64)> {
        st.live
            .iter()
            .map(|c| (c.tenant_id, c.service.clone(), c.count))
            .collect()
    };
    let want = vec![(1, "smb".to_string(), 20), (2, "nfs".to_string(), 20)];
    let st = a
        .session_stats(&TenantScope::All, hour)
        .await
        .expect("stats");
    assert_eq!(live(&st), want);

    // As written by a version without statistics: no pairs, no marks.
    let mut c = raw(&server.url());
    for n in 0..o.shards {
        for what in ["pairs", "ready"] {
            let _: () = redis::cmd("DEL")
                .arg(format!("{}:st:{what}", a.shard_base(n)))
                .query(&mut c)
                .expect("del");
        }
    }
    let st = a
        .session_stats(&TenantScope::All, hour)
        .await
        .expect("stats");
    assert!(st.live.is_empty(), "{st:?}");
    let b = RedisStore::connect(&server.url(), o.clone())
        .await
        .expect("connect b");
    let st = b
        .session_stats(&TenantScope::All, hour)
        .await
        .expect("stats");
    assert_eq!(live(&st), want);
    for n in 0..o.shards {
        let ready: Option<String> = redis::cmd("GET")
            .arg(format!("{}:st:ready", a.shard_base(n)))
            .query(&mut c)
            .expect("get");
        assert_eq!(ready.as_deref(), Some("1"), "shard {n}");
    }

    // The nfs sessions end: their pair leaves every shard's set.
    let nfs: Vec<_> = made
        .iter()
        .filter(|s| s.service == "nfs")
        .map(|s| s.id.clone())
        .collect();
    b.end_if_active(&nfs, &end("op"), false).await.expect("end");
    for n in 0..o.shards {
        let pairs: Vec<String> = redis::cmd("SMEMBERS")
            .arg(format!("{}:st:pairs", a.shard_base(n)))
            .query(&mut c)
            .expect("smembers");
        assert!(pairs.iter().all(|p| p == "1:smb"), "shard {n}: {pairs:?}");
    }
    let st = a
        .session_stats(&TenantScope::All, hour)
        .await
        .expect("stats");
    assert_eq!(live(&st), want[..1].to_vec());
    let hourly: Vec<_> = st
        .hourly
        .iter()
        .map(|c| (c.tenant_id, c.service.as_str(), c.opened, c.ended))
        .collect();
    assert_eq!(hourly, [(1, "smb", 20, 0), (2, "nfs", 20, 20)]);

    let shard = a.shard_of(&made[0].id);
    let ttl: i64 = redis::cmd("TTL")
        .arg(format!("{}:st:h:{hour}", a.shard_base(shard)))
        .query(&mut c)
        .expect("ttl");
    assert!(
        (192 * 3600 - 60..=192 * 3600).contains(&ttl),
        "hour TTL {ttl}"
    );
}

#[tokio::test]
async fn unavailable_within_bounded_time_while_down_then_recovers() {
    let mut server = RedisServer::start();
    let store = RedisStore::connect(&server.url(), opts(Duration::from_secs(60)))
        .await
        .expect("connect");
    let ids = Ids::default();
    insert(&store, &session(ids.next(), 1, T0)).await;
    server.kill();
    let started = Instant::now();
    for _ in 0..3 {
        match store.get_session(&ids.next()).await {
            Err(StoreError::Unavailable(_)) => {}
            other => panic!("want Unavailable while Redis is down, got {other:?}"),
        }
        match store
            .insert_session(&session(ids.next(), 1, T0), &[0; 32], None, None)
            .await
        {
            Err(StoreError::Unavailable(_)) => {}
            other => panic!("want Unavailable while Redis is down, got {other:?}"),
        }
    }
    assert!(store.ping().await.is_err());
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "errors took {:?}",
        started.elapsed()
    );
    server.restart();
    // The same store object reconnects by itself.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if store.ping().await.is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "the store did not reconnect");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let s = session(ids.next(), 1, T0);
    insert(&store, &s).await;
    assert!(store.get_session(&s.id).await.expect("get").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_failover_keeps_every_acknowledged_end() {
    let mut cluster = tokio::task::spawn_blocking(|| RedisCluster::start(3, 1))
        .await
        .expect("cluster");
    let o = opts(Duration::from_secs(3600));
    let store = Arc::new(
        RedisStore::connect(&cluster.url(), o.clone())
            .await
            .expect("connect"),
    );
    assert_eq!(store.backend(), "redis-cluster");
    let shard0 = store.shard_base(0);
    assert_eq!(
        store.wait_replicas(),
        1,
        "replicas exist, so ends WAIT for one"
    );
    let ids = Ids::default();
    let mut all = Vec::new();
    for _ in 0..400 {
        let s = session(ids.next(), 1, T0);
        insert(store.as_ref(), &s).await;
        all.push(s.id);
    }
    let acked = Arc::new(Mutex::new(Vec::new()));
    let failed = Arc::new(AtomicUsize::new(0));
    let worker = {
        let (store, acked, failed, all) =
            (store.clone(), acked.clone(), failed.clone(), all.clone());
        tokio::spawn(async move {
            for id in all {
                // Retry each end until acknowledged: ends are idempotent.
                for _ in 0..200 {
                    match store
                        .end_if_active(std::slice::from_ref(&id), &end("op"), false)
                        .await
                    {
                        Ok(b) => {
                            assert!(matches!(
                                b.outcomes[0],
                                EndOutcome::Ended
                                    | EndOutcome::AlreadyEnded(SessionState::Terminated)
                            ));
                            acked.lock().expect("lock").push(id.clone());
                            break;
                        }
                        Err(StoreError::Unavailable(_)) => {
                            failed.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        Err(e) => panic!("end: {e}"),
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    // Let some ends through, then kill the primary of shard 0's slot.
    while acked.lock().expect("lock").len() < 50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let slot = {
        let mut c = raw(&format!(
            "redis://127.0.0.1:{}",
            cluster_port(&cluster.url())
        ));
        let s: u16 = redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(shard0.clone())
            .query(&mut c)
            .expect("keyslot");
        s
    };
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.kill_primary_of_slot(slot);
        cluster.wait_failover();
        // The promoted replica has no replica of its own until the old primary rejoins:
        // until then WAIT cannot succeed on its slots and those ends are Unavailable.
        cluster.restart_killed();
        cluster
    })
    .await
    .expect("failover");
    worker.await.expect("worker");
    let acked = acked.lock().expect("lock").clone();
    assert_eq!(
        acked.len(),
        all.len(),
        "every end was eventually acknowledged"
    );
    // Read back through a fresh store as well as the recovered one.
    let fresh = RedisStore::connect(&cluster.url(), o.clone())
        .await
        .expect("connect");
    for st in [store.as_ref(), &fresh] {
        let got = st.get_sessions(&acked).await.expect("get_sessions");
        for (id, s) in acked.iter().zip(got) {
            let s = s.unwrap_or_else(|| panic!("acknowledged end of {id} lost its session"));
            assert_eq!(
                s.state,
                SessionState::Terminated,
                "acknowledged end of {id} was lost"
            );
        }
    }
    // The store recovered without reconnecting by hand.
    let s = session(ids.next(), 1, T0);
    insert(store.as_ref(), &s).await;
    let b = store
        .end_if_active(std::slice::from_ref(&s.id), &end("op"), true)
        .await
        .expect("end");
    assert!(b.committed);
    eprintln!(
        "failover: {} ends acknowledged, {} Unavailable answers retried",
        acked.len(),
        failed.load(Ordering::SeqCst)
    );
    drop(cluster.dirs());
}

fn cluster_port(url: &str) -> u16 {
    url.trim_start_matches("redis+cluster://")
        .split(',')
        .find_map(|a| a.rsplit(':').next()?.parse().ok())
        .expect("port")
}
