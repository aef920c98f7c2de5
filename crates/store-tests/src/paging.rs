//! Keyset paging under concurrent change: a walk with small pages never skips or repeats a
//! session that lives through the whole walk, while others are inserted (ahead of and
//! behind the cursor) and ended between and during page fetches.

use crate::fixtures::{end_info, insert, session, Ids, Rng, T0};
use sessiond_core::filter::{ListQuery, OriginatorFilter, SessionFilter, TenantScope};
use sessiond_core::{SessionId, SessionState, Store};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

async fn end_one(store: &dyn Store, id: &SessionId) {
    store
        .end_if_active(
            std::slice::from_ref(id),
            &end_info(SessionState::Terminated, T0, "churn"),
            false,
        )
        .await
        .expect("end_if_active");
}

/// Walks `filter` in pages of `limit` while a background task and the walker itself insert
/// and end sessions; checks every stable session is seen exactly once, in id order.
async fn walk_under_churn(store: Arc<dyn Store>, filter: SessionFilter, limit: usize, seed: u64) {
    let ids = Arc::new(Ids::default());
    let mut rng = Rng::new(seed);
    let originator = |rng: &mut Rng| {
        Some(
            if rng.chance(50) {
                "10.9.1.1"
            } else {
                "10.9.200.7"
            }
            .to_string(),
        )
    };
    // Ids drawn now but inserted later land behind the cursor of the walk.
    let early: Vec<SessionId> = (0..40).map(|_| ids.next()).collect();
    let mut stable = BTreeSet::new();
    let mut churn = Vec::new();
    for i in 0..260 {
        let mut s = session(ids.next(), 1, T0);
        s.originator = originator(&mut rng);
        insert(store.as_ref(), &s).await;
        if i % 5 < 3 {
            stable.insert(s.id);
        } else {
            churn.push(s.id);
        }
    }
    // A concurrent writer: inserts new sessions and ends churn sessions while the walk runs.
    let bg_store = store.clone();
    let bg_ids = ids.clone();
    let bg_churn: Vec<SessionId> = churn.split_off(churn.len() / 2);
    let background = tokio::spawn(async move {
        for (i, id) in bg_churn.iter().enumerate() {
            let mut s = session(bg_ids.next(), 1, T0);
            s.originator = Some("10.9.3.3".into());
            insert(bg_store.as_ref(), &s).await;
            if i % 2 == 0 {
                end_one(bg_store.as_ref(), id).await;
            }
            tokio::task::yield_now().await;
        }
    });
    let mut seen: HashMap<SessionId, usize> = HashMap::new();
    let mut last: Option<SessionId> = None;
    let mut after: Option<SessionId> = None;
    let mut early = early.into_iter();
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages < 10_000, "the walk does not end");
        let page = store
            .list_sessions(&ListQuery {
                filter: filter.clone(),
                after: after.clone(),
                limit,
            })
            .await
            .expect("list_sessions");
        for s in &page.items {
            if let Some(l) = &last {
                assert!(s.id > *l, "ids must strictly increase: {} after {l}", s.id);
            }
            last = Some(s.id.clone());
            *seen.entry(s.id.clone()).or_default() += 1;
        }
        // Between pages: insert ahead of and behind the cursor, and end churn sessions.
        for _ in 0..2 {
            let mut s = session(ids.next(), 1, T0);
            s.originator = originator(&mut rng);
            insert(store.as_ref(), &s).await;
        }
        if let Some(id) = early.next() {
            let mut s = session(id, 1, T0);
            s.originator = originator(&mut rng);
            insert(store.as_ref(), &s).await;
        }
        if let Some(id) = churn.pop() {
            end_one(store.as_ref(), &id).await;
        }
        match page.next {
            None => break,
            Some(n) => after = Some(n),
        }
    }
    background.await.expect("background writer");
    for id in &stable {
        assert_eq!(
            seen.get(id).copied(),
            Some(1),
            "stable session {id} must be listed exactly once ({filter:?})"
        );
    }
    assert!(
        seen.values().all(|n| *n == 1),
        "a session was listed twice ({filter:?})"
    );
}

/// Keyset paging never skips or repeats a session that lives through the walk, with plain
/// tenant filters and with filters a store may answer with residual conditions.
pub async fn paging_under_concurrent_changes(store: Arc<dyn Store>) {
    walk_under_churn(
        store.clone(),
        SessionFilter {
            tenant: Some(TenantScope::One(1)),
            ..SessionFilter::default()
        },
        7,
        1,
    )
    .await;
    walk_under_churn(
        store.clone(),
        SessionFilter {
            tenant: Some(TenantScope::All),
            originator: OriginatorFilter::parse("10.9.0.0/16"),
            is_guest: Some(false),
            ..SessionFilter::default()
        },
        5,
        2,
    )
    .await;
    walk_under_churn(
        store,
        SessionFilter {
            tenant: None,
            service: Some("smb".into()),
            ..SessionFilter::default()
        },
        11,
        3,
    )
    .await;
}
