//! Sink cases: records round-trip, the delivery state moves only by compare-and-set (so two
//! replicas never both advance one sink), attempt logs keep the newest, leases belong to one
//! holder until they run out, and deleting a sink takes its log with it.

use crate::fixtures::at;
use sessiond_core::filter::TenantScope;
use sessiond_core::sinks::{
    DeliveryAttempt, DeliveryState, Sink, SinkKind, SinkStatus, MAX_LOGGED_ATTEMPTS,
};
use sessiond_core::{Store, StoreError};
use std::sync::Arc;

fn sink(id: &str, kind: SinkKind, tenant: u32, created: i64) -> Sink {
    Sink {
        id: id.into(),
        kind,
        tenant_id: tenant,
        created_by: "ops".into(),
        created_at: at(created),
        config: format!("{{\"url\":\"https://rx.example/{id}\"}}"),
        sealed_secret: Some(vec![0, 1, 2, 255]),
        status: SinkStatus::Enabled,
        status_reason: None,
        delivery: DeliveryState {
            cursor: 10,
            ..DeliveryState::default()
        },
    }
}

fn attempt(event_id: u64, n: u32, delivered: bool) -> DeliveryAttempt {
    DeliveryAttempt {
        event_id,
        attempt: n,
        at: at(100 + i64::from(n)),
        delivered,
        status: Some(if delivered { 204 } else { 500 }),
        error: (!delivered).then(|| "HTTP 500".to_string()),
        duration_ms: 3,
    }
}

pub async fn sink_store_semantics(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let a = sink("wh_a", SinkKind::Webhook, 1, 1);
    let b = sink("ssf_b", SinkKind::Ssf, 2, 2);
    store.create_sink(&a).await.expect("create a");
    store.create_sink(&b).await.expect("create b");
    assert!(matches!(
        store.create_sink(&a).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.get_sink("wh_a").await.expect("get"), Some(a.clone()));
    assert_eq!(store.get_sink("nope").await.expect("get"), None);
    let all = store
        .list_sinks(None, &TenantScope::All)
        .await
        .expect("list");
    assert_eq!(all, vec![a.clone(), b.clone()], "oldest first");
    let hooks = store
        .list_sinks(Some(SinkKind::Webhook), &TenantScope::All)
        .await
        .expect("list");
    assert_eq!(hooks, vec![a.clone()]);
    let two = store
        .list_sinks(None, &TenantScope::One(2))
        .await
        .expect("list");
    assert_eq!(two, vec![b.clone()]);

    // Updates change the record, never the delivery state.
    let mut changed = a.clone();
    changed.config = "{\"url\":\"https://rx.example/moved\"}".into();
    changed.status = SinkStatus::Paused;
    changed.status_reason = Some("maintenance".into());
    changed.delivery.cursor = 999;
    store.update_sink(&changed).await.expect("update");
    let got = store.get_sink("wh_a").await.expect("get").expect("there");
    assert_eq!(got.config, changed.config);
    assert_eq!(got.status, SinkStatus::Paused);
    assert_eq!(got.status_reason.as_deref(), Some("maintenance"));
    assert_eq!(got.delivery.cursor, 10);
    assert!(matches!(
        store
            .update_sink(&sink("ghost", SinkKind::Webhook, 1, 1))
            .await,
        Err(StoreError::NotFound)
    ));

    // Compare-and-set: only from the state the caller read.
    let s0 = got.delivery.clone();
    let s1 = DeliveryState {
        cursor: 10,
        attempts: 1,
        failing_since: Some(at(101)),
        next_attempt_at: Some(at(102)),
    };
    assert!(store
        .advance_sink("wh_a", &s0, &s1, None, &[attempt(11, 1, false)])
        .await
        .expect("advance"));
    assert!(
        !store
            .advance_sink("wh_a", &s0, &s1, None, &[attempt(11, 9, false)])
            .await
            .expect("stale advance"),
        "a second writer from the same state loses"
    );
    let s2 = DeliveryState {
        cursor: 11,
        ..DeliveryState::default()
    };
    let disabled = Some((SinkStatus::Disabled, Some("gave up".to_string())));
    assert!(store
        .advance_sink("wh_a", &s1, &s2, disabled, &[attempt(11, 2, true)])
        .await
        .expect("advance"));
    let got = store.get_sink("wh_a").await.expect("get").expect("there");
    assert_eq!(got.delivery, s2);
    assert_eq!(got.status, SinkStatus::Disabled);
    assert_eq!(got.status_reason.as_deref(), Some("gave up"));
    assert_eq!(
        got.created_at, a.created_at,
        "a status change keeps the record"
    );
    assert_eq!(got.sealed_secret, a.sealed_secret);
    let log = store.list_attempts("wh_a", 10).await.expect("log");
    assert_eq!(
        log,
        vec![attempt(11, 2, true), attempt(11, 1, false)],
        "newest first"
    );
    assert!(!store
        .advance_sink("ghost", &s0, &s1, None, &[])
        .await
        .expect("advance a missing sink"));

    // The log keeps the newest MAX_LOGGED_ATTEMPTS.
    let many: Vec<DeliveryAttempt> = (0..MAX_LOGGED_ATTEMPTS as u32 + 5)
        .map(|n| attempt(12, n, true))
        .collect();
    assert!(store
        .advance_sink("wh_a", &s2, &s2, None, &many)
        .await
        .expect("advance"));
    let log = store.list_attempts("wh_a", 1000).await.expect("log");
    assert_eq!(log.len(), MAX_LOGGED_ATTEMPTS);
    assert_eq!(log[0].attempt, MAX_LOGGED_ATTEMPTS as u32 + 4);

    // Leases: one holder until it runs out.
    assert!(store
        .lease_sink("wh_a", "r1", at(200), at(210))
        .await
        .expect("lease"));
    assert!(!store
        .lease_sink("wh_a", "r2", at(205), at(215))
        .await
        .expect("lease"));
    assert!(store
        .lease_sink("wh_a", "r1", at(205), at(215))
        .await
        .expect("renew"));
    assert!(!store
        .lease_sink("wh_a", "r2", at(214), at(224))
        .await
        .expect("lease"));
    assert!(store
        .lease_sink("wh_a", "r2", at(215), at(225))
        .await
        .expect("expired"));
    assert!(!store
        .lease_sink("wh_a", "r1", at(216), at(226))
        .await
        .expect("taken"));

    // Deleting takes the log and the lease.
    assert!(store.delete_sink("wh_a").await.expect("delete"));
    assert!(!store.delete_sink("wh_a").await.expect("delete again"));
    assert_eq!(store.get_sink("wh_a").await.expect("get"), None);
    assert!(store
        .list_attempts("wh_a", 10)
        .await
        .expect("log")
        .is_empty());
    store.create_sink(&a).await.expect("the id is free again");
    assert!(store
        .lease_sink("wh_a", "r3", at(216), at(226))
        .await
        .expect("a fresh lease"));
}
