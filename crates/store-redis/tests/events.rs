//! Events on a Redis Cluster beyond the conformance cases: two stores (two sessiond
//! replicas) read one event sequence and each one's signal follows the other's changes, an
//! end over many shards gives its events ids in the order of its ids;
//! relaying the same outboxes twice and concurrently moves every event once and in outbox
//! order; an event left in its outbox (the relay failed, or its replica died before
//! relaying) is relayed by the background; a failover of the node holding the global
//! stream (and some shards) loses no event of an acknowledged change and doubles none.

use sessiond_core::events::{session_event, EventDraft, EventId, EventType, StoredEvent};
use sessiond_core::store::{EndEffects, EndOutcome, EventStore, SessionStore};
use sessiond_core::{Session, SessionId, SessionState, StoreError};
use sessiond_redis_harness::RedisCluster;
use sessiond_store_redis::{RedisOptions, RedisStore};
use sessiond_store_tests::fixtures::{at, end_info, ended, hash_of, session, Ids};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

static PREFIX: AtomicUsize = AtomicUsize::new(0);

/// Far above the background period (500 ms) and a relay's few round trips.
const PATIENCE: Duration = Duration::from_secs(15);

fn opts() -> RedisOptions {
    RedisOptions {
        prefix: format!("ev{}", PREFIX.fetch_add(1, Ordering::SeqCst)),
        command_timeout: Duration::from_secs(2),
        ..RedisOptions::default()
    }
}

async fn cluster() -> RedisCluster {
    tokio::task::spawn_blocking(|| RedisCluster::start(3, 1))
        .await
        .expect("cluster")
}

async fn connect(url: &str, o: &RedisOptions) -> RedisStore {
    RedisStore::connect(url, o.clone()).await.expect("connect")
}

fn created(s: &Session) -> EventDraft {
    session_event(EventType::SessionCreated, s.opened_at, "default", s)
}

async fn insert_with_event(store: &RedisStore, s: &Session) {
    store
        .insert_session(s, &hash_of(&s.id), None, Some(&created(s)))
        .await
        .expect("insert");
}

/// Ends `sessions` in one call, each with its event; all of them must end.
async fn end_with_events(store: &RedisStore, sessions: &[Session], secs: i64) {
    let end = end_info(SessionState::Terminated, at(secs), "ops");
    let drafts: Vec<EventDraft> = sessions
        .iter()
        .map(|s| {
            let after = ended(s.clone(), &end);
            session_event(EventType::SessionTerminated, end.at, "default", &after)
        })
        .collect();
    let ids: Vec<SessionId> = sessions.iter().map(|s| s.id.clone()).collect();
    let effects = EndEffects {
        audit: None,
        events: &drafts,
    };
    let (b, _) = store
        .end_sessions(&ids, &end, false, &effects)
        .await
        .expect("end");
    assert!(b.outcomes.iter().all(|o| *o == EndOutcome::Ended), "{b:?}");
}

async fn all_events(store: &RedisStore) -> Vec<StoredEvent> {
    store.events_after(0, 100_000).await.expect("events_after")
}

/// Waits (on the watch, never polling) until `signal` announces `n` or more.
async fn announced(signal: &mut watch::Receiver<EventId>, n: EventId, who: &str) {
    let waited = tokio::time::timeout(PATIENCE, async {
        while *signal.borrow_and_update() < n {
            signal.changed().await.expect("the store is alive");
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "{who}'s signal stayed at {} within {PATIENCE:?}, want {n}",
        *signal.borrow()
    );
}

fn what(e: &StoredEvent) -> (EventType, Option<SessionId>) {
    (e.event.kind, e.event.session_id.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_replica_reads_and_is_signalled_the_events_of_the_first() {
    let cluster = cluster().await;
    let o = opts();
    let a = connect(&cluster.url(), &o).await;
    let b = connect(&cluster.url(), &o).await;
    let mut signal_b = b.event_signal();
    signal_b.borrow_and_update();
    let ids = Ids::default();
    let s = session(ids.next(), 1, at(1));
    insert_with_event(&a, &s).await;
    end_with_events(&a, std::slice::from_ref(&s), 5).await;
    // A's call has returned: its events are readable everywhere, B is told without asking.
    let last = a.last_event_id().await.expect("last id");
    assert_eq!(last, 2);
    announced(&mut signal_b, last, "B").await;
    let seen_by_b = all_events(&b).await;
    assert_eq!(seen_by_b, all_events(&a).await);
    assert_eq!(
        seen_by_b.iter().map(what).collect::<Vec<_>>(),
        vec![
            (EventType::SessionCreated, Some(s.id.clone())),
            (EventType::SessionTerminated, Some(s.id.clone())),
        ]
    );
    assert_eq!(b.last_event_id().await.expect("last id"), last);

    // One end over many shards: its events get their ids in the order of its ids.
    let many: Vec<Session> = (0..24)
        .map(|i| session(ids.next(), 1, at(10 + i)))
        .collect();
    for s in &many {
        insert_with_event(&a, s).await;
    }
    let shards: HashSet<u16> = many.iter().map(|s| a.shard_of(&s.id)).collect();
    assert!(shards.len() > 4, "spread over shards: {shards:?}");
    let reversed: Vec<Session> = many.iter().rev().cloned().collect();
    let before = a.last_event_id().await.expect("last id");
    end_with_events(&a, &reversed, 60).await;
    let ends = b.events_after(before, 100).await.expect("events_after");
    assert_eq!(
        ends.iter().map(what).collect::<Vec<_>>(),
        reversed
            .iter()
            .map(|s| (EventType::SessionTerminated, Some(s.id.clone())))
            .collect::<Vec<_>>()
    );
    drop(cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relaying_outboxes_twice_and_concurrently_moves_each_event_once_in_order() {
    let cluster = cluster().await;
    let o = opts();
    let a = connect(&cluster.url(), &o).await;
    let b = connect(&cluster.url(), &o).await;
    // Nothing leaves the outboxes while they fill: every relay of both stores fails.
    a.set_event_relay_failing(true);
    b.set_event_relay_failing(true);
    let ids = Ids::default();
    // What each shard's outbox holds, in its order: creations, then ends in call order.
    let mut per_shard: BTreeMap<u16, Vec<(EventType, Option<SessionId>)>> = BTreeMap::new();
    let mut sessions = Vec::new();
    for i in 0..120 {
        let s = session(ids.next(), 1, at(i));
        insert_with_event(&a, &s).await;
        per_shard
            .entry(a.shard_of(&s.id))
            .or_default()
            .push((EventType::SessionCreated, Some(s.id.clone())));
        sessions.push(s);
    }
    for chunk in sessions[..60].chunks(15) {
        end_with_events(&a, chunk, 200).await;
        for s in chunk {
            per_shard
                .entry(a.shard_of(&s.id))
                .or_default()
                .push((EventType::SessionTerminated, Some(s.id.clone())));
        }
    }
    assert!(all_events(&a).await.is_empty(), "no relay has run");
    assert_eq!(a.last_event_id().await.expect("last id"), 0);

    // Six passes over every outbox at once (and both stores' background relays): they read
    // the same entries and race to move them.
    a.set_event_relay_failing(false);
    b.set_event_relay_failing(false);
    let passes = (0..6).map(|i| {
        let store = if i % 2 == 0 { &a } else { &b };
        store.relay_events_now()
    });
    for r in futures_util::future::join_all(passes).await {
        r.expect("relay pass");
    }
    let events = all_events(&a).await;
    assert_eq!(events.len(), 180, "every event once");
    let ids_in_order: Vec<EventId> = events.iter().map(|e| e.id).collect();
    assert_eq!(
        ids_in_order,
        (1..=180).collect::<Vec<_>>(),
        "ids from 1, no gap"
    );
    let distinct: HashSet<_> = events.iter().map(what).collect();
    assert_eq!(distinct.len(), 180, "no event moved twice");
    for (shard, want) in &per_shard {
        let got: Vec<_> = events
            .iter()
            .filter(|e| e.event.session_id.as_ref().map(|id| a.shard_of(id)) == Some(*shard))
            .map(what)
            .collect();
        assert_eq!(&got, want, "shard {shard} keeps its outbox order");
    }

    // Relaying again moves nothing: the outboxes were trimmed, and a re-sent entry would be
    // skipped by its recorded position.
    a.relay_events_now().await.expect("relay pass");
    b.relay_events_now().await.expect("relay pass");
    assert_eq!(all_events(&b).await, events);
    assert_eq!(b.last_event_id().await.expect("last id"), 180);
    drop(cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_left_in_an_outbox_are_relayed_in_the_background() {
    let cluster = cluster().await;
    let o = opts();
    let ids = Ids::default();

    // The relay after the change fails: the change succeeds, its event waits in the outbox
    // until a background pass of the same store moves it.
    let a = connect(&cluster.url(), &o).await;
    let mut signal_a = a.event_signal();
    a.set_event_relay_failing(true);
    let s1 = session(ids.next(), 1, at(1));
    insert_with_event(&a, &s1).await;
    assert!(all_events(&a).await.is_empty());
    a.set_event_relay_failing(false);
    announced(&mut signal_a, 1, "A").await;
    let got = all_events(&a).await;
    assert_eq!(
        got.iter().map(what).collect::<Vec<_>>(),
        vec![(EventType::SessionCreated, Some(s1.id.clone()))]
    );

    // The next change of the same shard relays the entry waiting before its own, in order,
    // before it returns (unless the background got there first: the outcome is the same).
    a.set_event_relay_failing(true);
    let waiting = session(ids.next(), 1, at(2));
    insert_with_event(&a, &waiting).await;
    a.set_event_relay_failing(false);
    let same_shard = loop {
        let id = ids.next();
        if a.shard_of(&id) == a.shard_of(&waiting.id) {
            break session(id, 1, at(3));
        }
    };
    insert_with_event(&a, &same_shard).await;
    let got = a.events_after(1, 100).await.expect("events_after");
    assert_eq!(
        got.iter().map(what).collect::<Vec<_>>(),
        vec![
            (EventType::SessionCreated, Some(waiting.id.clone())),
            (EventType::SessionCreated, Some(same_shard.id.clone())),
        ]
    );

    // A replica dies before relaying: another one's background moves its events.
    a.set_event_relay_failing(true);
    let s2 = session(ids.next(), 1, at(4));
    insert_with_event(&a, &s2).await;
    end_with_events(&a, std::slice::from_ref(&s2), 5).await;
    assert_eq!(a.last_event_id().await.expect("last id"), 3);
    drop(a);
    let b = connect(&cluster.url(), &o).await;
    let mut signal_b = b.event_signal();
    announced(&mut signal_b, 5, "B").await;
    let got = b.events_after(3, 100).await.expect("events_after");
    assert_eq!(
        got.iter().map(what).collect::<Vec<_>>(),
        vec![
            (EventType::SessionCreated, Some(s2.id.clone())),
            (EventType::SessionTerminated, Some(s2.id.clone())),
        ]
    );
    assert_eq!(got.iter().map(|e| e.id).collect::<Vec<_>>(), vec![4, 5]);
    drop(cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_of_the_event_streams_node_loses_and_doubles_no_event() {
    let mut cluster = cluster().await;
    let o = opts();
    let store = Arc::new(connect(&cluster.url(), &o).await);
    assert_eq!(store.wait_replicas(), 1);
    let ids = Ids::default();
    let mut sessions = Vec::new();
    for i in 0..200 {
        let s = session(ids.next(), 1, at(i));
        insert_with_event(&store, &s).await;
        sessions.push(s);
    }
    let done = Arc::new(AtomicUsize::new(0));
    let retried = Arc::new(AtomicUsize::new(0));
    let worker = {
        let (store, done, sessions) = (store.clone(), done.clone(), sessions.clone());
        let retried = retried.clone();
        tokio::spawn(async move {
            let end = end_info(SessionState::Terminated, at(500), "ops");
            for s in &sessions {
                let after = ended(s.clone(), &end);
                let draft = [session_event(
                    EventType::SessionTerminated,
                    end.at,
                    "default",
                    &after,
                )];
                let effects = EndEffects {
                    audit: None,
                    events: &draft,
                };
                // Ends are idempotent: retry until acknowledged.
                let mut acked = false;
                for _ in 0..300 {
                    match store
                        .end_sessions(std::slice::from_ref(&s.id), &end, false, &effects)
                        .await
                    {
                        Ok((b, _)) => {
                            assert!(matches!(
                                b.outcomes[0],
                                EndOutcome::Ended
                                    | EndOutcome::AlreadyEnded(SessionState::Terminated)
                            ));
                            acked = true;
                            break;
                        }
                        Err(StoreError::Unavailable(_)) => {
                            retried.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        Err(e) => panic!("end: {e}"),
                    }
                }
                assert!(acked, "the end of {} was never acknowledged", s.id);
                done.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    while done.load(Ordering::SeqCst) < 40 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let slot: u16 = {
        let port = cluster.ports()[0];
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}"))
            .expect("client")
            .get_connection()
            .expect("connection");
        redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(format!("{{{}.events}}:seq", o.prefix))
            .query(&mut c)
            .expect("keyslot")
    };
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.kill_primary_of_slot(slot);
        cluster.wait_failover();
        cluster.restart_killed();
        cluster
    })
    .await
    .expect("failover");
    worker.await.expect("worker");

    // Every session's two events end up in the stream once each, created first, even those
    // whose relay failed during the failover (the background moves them).
    let mut signal = store.event_signal();
    let complete = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            signal.borrow_and_update();
            let events = all_events(&store).await;
            if events.len() >= 2 * sessions.len() {
                return events;
            }
            signal.changed().await.expect("the store is alive");
        }
    })
    .await;
    let events = complete.unwrap_or_else(|_| panic!("not every event was relayed"));
    let seen: Vec<_> = events.iter().map(what).collect();
    for s in &sessions {
        let of: Vec<EventType> = seen
            .iter()
            .filter(|(_, id)| id.as_ref() == Some(&s.id))
            .map(|(kind, _)| *kind)
            .collect();
        assert_eq!(
            of,
            [EventType::SessionCreated, EventType::SessionTerminated],
            "events of {}",
            s.id
        );
    }
    assert!(events.windows(2).all(|w| w[0].id < w[1].id));
    eprintln!(
        "failover: {} events, last id {}, {} Unavailable ends retried",
        events.len(),
        events.last().map_or(0, |e| e.id),
        retried.load(Ordering::SeqCst)
    );
    drop(cluster);
}
