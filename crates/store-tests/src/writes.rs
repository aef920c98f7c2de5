//! Store-level write semantics: ending batches (atomic or not, scopes, duplicates),
//! tombstones that never come back, external-id uniqueness, touches, updates of live
//! sessions, and the sweeper's primitives (deadlines and purging).

use crate::fixtures::{
    at, end_info, ended, get, hash_of, insert, place, session, state_of, Ids, T0,
};
use sessiond_core::filter::{SessionFilter, StateFilter, TenantScope};
use sessiond_core::store::{EndOutcome, Touch};
use sessiond_core::{
    Activity, AuditRecord, Domain, HumanDuration, SessionKind, SessionState, Store, StoreError,
    Timestamp, User,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Compare-and-set ends: non-atomic batches end what is active; atomic ones end all or
/// nothing; a duplicate id in one batch is `AlreadyEnded` the second time. (Which sessions a
/// caller may end is core's rule: see `registry::end_scopes`.)
pub async fn end_sessions_semantics(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let ids = Ids::default();
    let acme = store.create_tenant("acme").await.expect("tenant").id;
    let mut live = Vec::new();
    for i in 0..12 {
        let mut s = session(ids.next(), 1, at(i));
        s.owner = if i % 2 == 0 { "svc-a" } else { "svc-b" }.into();
        s.service = if i % 3 == 0 { "vsphere" } else { "smb" }.into();
        insert(store, &s).await;
        live.push(s.id);
    }
    let foreign = session(ids.next(), acme, T0);
    insert(store, &foreign).await;
    let missing = ids.next();
    let end = end_info(SessionState::Terminated, at(50), "op");

    // Not atomic, an unknown id in the middle: the others end.
    let batch = vec![live[0].clone(), missing.clone(), live[1].clone()];
    let b = store.end_if_active(&batch, &end, false).await.expect("end");
    assert!(b.committed);
    assert_eq!(
        b.outcomes,
        vec![EndOutcome::Ended, EndOutcome::NotFound, EndOutcome::Ended]
    );
    assert_eq!(state_of(store, &live[0]).await, SessionState::Terminated);
    assert_eq!(state_of(store, &live[1]).await, SessionState::Terminated);
    let s0 = get(store, &live[0]).await;
    assert_eq!(s0.ended_at, Some(at(50)));
    assert_eq!(s0.ended_by.as_deref(), Some("op"));
    assert_eq!(s0.end_reason, end.reason);

    // Atomic with an unknown id: nothing ends, the outcomes still say why.
    let batch = vec![live[2].clone(), missing.clone(), live[3].clone()];
    let b = store.end_if_active(&batch, &end, true).await.expect("end");
    assert!(
        !b.committed,
        "an atomic batch with a bad id must not commit"
    );
    assert_eq!(b.outcomes[1], EndOutcome::NotFound);
    for id in [&live[2], &live[3]] {
        assert_eq!(state_of(store, id).await, SessionState::Active);
    }
    // Atomic with an already ended id: nothing ends either.
    let b = store
        .end_if_active(&[live[2].clone(), live[0].clone()], &end, true)
        .await
        .expect("end");
    assert!(!b.committed);
    assert_eq!(
        b.outcomes[1],
        EndOutcome::AlreadyEnded(SessionState::Terminated)
    );
    assert_eq!(state_of(store, &live[2]).await, SessionState::Active);
    // Atomic, all live: all end.
    let b = store
        .end_if_active(&[live[2].clone(), live[3].clone()], &end, true)
        .await
        .expect("end");
    assert!(b.committed);
    assert_eq!(b.outcomes, vec![EndOutcome::Ended, EndOutcome::Ended]);

    // The same id twice in one batch: ended once, then already ended.
    let b = store
        .end_if_active(&[live[10].clone(), live[10].clone()], &end, false)
        .await
        .expect("end");
    assert_eq!(
        b.outcomes,
        vec![
            EndOutcome::Ended,
            EndOutcome::AlreadyEnded(SessionState::Terminated)
        ]
    );
    // An empty batch is fine.
    let b = store.end_if_active(&[], &end, true).await.expect("end");
    assert!(b.committed && b.outcomes.is_empty());
}

/// An ended session stays ended whatever is tried: re-insert, update, touches, another end
/// (which reports `AlreadyEnded` and keeps the first end's record), deadline changes.
pub async fn tombstones_never_revive(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let ids = Ids::default();
    let mut s = session(ids.next(), 1, T0);
    s.external_id = Some("x-1".into());
    s.share_names = vec!["home".into()];
    place(store, &ids, &mut s);
    insert(store, &s).await;
    let first = end_info(SessionState::Closed, at(10), "owner");
    let b = store
        .end_if_active(std::slice::from_ref(&s.id), &first, false)
        .await
        .expect("end");
    assert_eq!(b.outcomes, vec![EndOutcome::Ended]);
    let tomb = ended(s.clone(), &first);
    assert_eq!(get(store, &s.id).await, tomb);

    // Re-inserting the same id (as a live session) is refused.
    assert!(
        store
            .insert_session(&s, &hash_of(&s.id), None, None)
            .await
            .is_err(),
        "re-inserting an ended session's id must fail"
    );
    // update_live on a tombstone is a Conflict.
    let mut changed = s.clone();
    changed.num_opens = 99;
    match store.update_live(&changed, Some(at(1_000_000))).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("update_live of a tombstone: want Conflict, got {other:?}"),
    }
    // Touches are ignored.
    store
        .apply_touches(&[Touch {
            id: s.id.clone(),
            at: at(500),
            calls: 5,
            expires_at: Some(at(10_000)),
        }])
        .await
        .expect("touches");
    // Ending again: AlreadyEnded, and the first end's record stays.
    for atomic in [false, true] {
        let again = end_info(SessionState::Terminated, at(20), "operator");
        let b = store
            .end_if_active(std::slice::from_ref(&s.id), &again, atomic)
            .await
            .expect("end");
        assert_eq!(
            b.outcomes,
            vec![EndOutcome::AlreadyEnded(SessionState::Closed)]
        );
    }
    store
        .set_deadline(&s.id, Some(at(1)))
        .await
        .expect("set_deadline");
    assert_eq!(get(store, &s.id).await, tomb, "the tombstone changed");
    assert!(
        store
            .due_for_expiry(at(1_000_000), 100)
            .await
            .expect("due")
            .is_empty(),
        "a tombstone is never due for expiry"
    );
    // Live lists don't show it; ended lists do.
    let live = SessionFilter::default();
    assert_eq!(store.count_sessions(&live).await.expect("count"), 0);
    let gone = SessionFilter {
        state: StateFilter::Ended,
        share: Some("home".into()),
        ..SessionFilter::default()
    };
    assert_eq!(store.count_sessions(&gone).await.expect("count"), 1);
}

/// A live (tenant, service, node, external_id) is unique: a duplicate is `Conflict`; another
/// node, service or tenant is fine; once the first has ended the id may be used again.
pub async fn external_id_unique_while_live(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let ids = Ids::default();
    let acme = store.create_tenant("acme").await.expect("tenant").id;
    let make = |tenant, service: &str, node: Option<&str>| {
        let mut s = session(ids.next(), tenant, T0);
        s.service = service.into();
        s.node_id = node.map(str::to_string);
        s.external_id = Some("77".into());
        place(store, &ids, &mut s);
        s
    };
    let first = make(1, "mongodb", Some("node-1"));
    insert(store, &first).await;
    let dup = make(1, "mongodb", Some("node-1"));
    match store
        .insert_session(&dup, &hash_of(&dup.id), None, None)
        .await
    {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("duplicate live external_id: want Conflict, got {other:?}"),
    }
    assert!(store.get_session(&dup.id).await.expect("get").is_none());
    // An id the store refuses for this external id (a store that places sessions by their
    // external id) is an error, never a second live holder.
    let mut misplaced = dup.clone();
    for _ in 0..256 {
        misplaced.id = ids.next();
        if !store.accepts_id(&misplaced.id, &misplaced) {
            let r = store
                .insert_session(&misplaced, &hash_of(&misplaced.id), None, None)
                .await;
            assert!(r.is_err(), "an id the store refused was inserted");
            assert!(store
                .get_session(&misplaced.id)
                .await
                .expect("get")
                .is_none());
            break;
        }
    }
    insert(store, &make(1, "mongodb", Some("node-2"))).await;
    insert(store, &make(1, "smb", Some("node-1"))).await;
    insert(store, &make(acme, "mongodb", Some("node-1"))).await;
    // No node is a node of its own: unique there too.
    insert(store, &make(1, "mongodb", None)).await;
    let dup_none = make(1, "mongodb", None);
    assert!(
        matches!(
            store
                .insert_session(&dup_none, &hash_of(&dup_none.id), None, None)
                .await,
            Err(StoreError::Conflict(_))
        ),
        "a duplicate external_id without node must conflict"
    );
    // After the first ends, the external id is free again.
    store
        .end_if_active(
            std::slice::from_ref(&first.id),
            &end_info(SessionState::Closed, at(5), "svc"),
            false,
        )
        .await
        .expect("end");
    insert(store, &dup).await;
    let f = SessionFilter {
        external_id: Some("77".into()),
        state: StateFilter::All,
        tenant: Some(TenantScope::One(1)),
        ..SessionFilter::default()
    };
    assert_eq!(store.count_sessions(&f).await.expect("count"), 5);
}

/// Touches: `last_active_at` only moves forward, `call_count` adds up, the deadline follows
/// the newest touch, unknown ids are ignored.
pub async fn touches_move_forward_and_add(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let ids = Ids::default();
    let s = session(ids.next(), 1, T0);
    insert(store, &s).await;
    let touch = |secs: i64, calls: u64, exp: i64| Touch {
        id: s.id.clone(),
        at: at(secs),
        calls,
        expires_at: Some(at(exp)),
    };
    store
        .apply_touches(&[touch(10, 2, 1000)])
        .await
        .expect("touch");
    let got = get(store, &s.id).await;
    assert_eq!((got.last_active_at, got.call_count), (at(10), 2));
    // An older touch adds its calls but does not move time back.
    store
        .apply_touches(&[
            touch(5, 3, 900),
            Touch {
                id: ids.next(),
                at: at(7),
                calls: 1,
                expires_at: None,
            },
        ])
        .await
        .expect("touch");
    let got = get(store, &s.id).await;
    assert_eq!((got.last_active_at, got.call_count), (at(10), 5));
    let due = store.due_for_expiry(at(950), 10).await.expect("due");
    assert!(
        due.is_empty(),
        "an older touch must not pull the deadline in"
    );
    let due = store.due_for_expiry(at(1000), 10).await.expect("due");
    assert_eq!(due.len(), 1);
    store
        .apply_touches(&[touch(20, 0, 2000)])
        .await
        .expect("touch");
    let got = get(store, &s.id).await;
    assert_eq!((got.last_active_at, got.call_count), (at(20), 5));
    assert!(store
        .due_for_expiry(at(1999), 10)
        .await
        .expect("due")
        .is_empty());
    // A store may keep its deadline index lazily (Redis moves an early entry when it sweeps
    // past it), but the session is due at its own deadline, twice in a row, and only once.
    for _ in 0..2 {
        let due = store.due_for_expiry(at(2000), 10).await.expect("due");
        assert_eq!(due.iter().map(|d| &d.id).collect::<Vec<_>>(), vec![&s.id]);
    }
    // Only the touched fields changed.
    let mut want = s.clone();
    want.last_active_at = at(20);
    want.call_count = 5;
    assert_eq!(got, want);
    store.apply_touches(&[]).await.expect("empty touch batch");
}

/// A session reads back exactly as written (every field, nanosecond times, u64 extremes),
/// with its token hash; `update_live` rewrites the mutable fields and nothing else.
pub async fn session_round_trip_and_update(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let ids = Ids::default();
    let mut s = session(ids.next(), 1, Timestamp(T0.0 + 123_456_789));
    s.kind = SessionKind::Login;
    s.owner = "ops@example".into();
    s.external_id = Some("op-1".into());
    s.service = "mongodb".into();
    s.node_id = Some("node-7".into());
    s.server_address = Some("10.0.0.1".into());
    s.originator = Some("2001:db8::42".into());
    s.user = User {
        domain: Domain::ActiveDirectory,
        name: Some("Zoë Straße".into()),
        sid: Some("S-1-5-21-1-2-3-4".into()),
        uid: Some(u32::MAX),
        gid: Some(0),
        auth_id: Some(u64::MAX),
        full_name: Some("Zoë 🦀".into()),
        realm: Some("CORP.EXAMPLE".into()),
    };
    s.user_agent = Some("pymongo/4".into());
    s.locale = Some("fr".into());
    s.is_guest = true;
    s.is_encrypted = true;
    s.share_names = vec!["b".into(), "a".into(), "a".into()];
    s.num_opens = u64::MAX;
    s.call_count = 42;
    s.activity = Some(Activity {
        operation: Some("getmore".into()),
        op_type: None,
        namespace: Some("db.c".into()),
        db: None,
        plan_summary: Some("IXSCAN { a: 1 }".into()),
        description: Some("\"quoted\" \\ text".into()),
        started_at: Some(Timestamp(T0.0 + 1)),
    });
    s.last_active_at = Timestamp(T0.0 + 999_999_999);
    s.idle_timeout = HumanDuration(Duration::new(61, 7));
    s.absolute_timeout = HumanDuration(Duration::ZERO);
    s.attributes = BTreeMap::from([("a".into(), "1".into()), ("é".into(), "".into())]);
    place(store, &ids, &mut s);
    insert(store, &s).await;
    assert_eq!(get(store, &s.id).await, s);
    let (auth, hash) = store
        .get_session_auth(&s.id)
        .await
        .expect("get_session_auth")
        .expect("present");
    assert_eq!(auth, s);
    assert_eq!(hash, hash_of(&s.id));
    assert!(store.get_session(&ids.next()).await.expect("get").is_none());

    // update_live: mutable fields change; identity keys, times, counts and state do not.
    let mut u = s.clone();
    u.activity = None;
    u.num_opens = 3;
    u.share_names = vec!["c".into()];
    u.attributes = BTreeMap::new();
    u.user_agent = None;
    u.locale = Some("de".into());
    u.user.realm = None;
    u.idle_timeout = HumanDuration(Duration::from_secs(5));
    let mut sneaky = u.clone();
    sneaky.tenant_id = 77;
    sneaky.service = "smb".into();
    sneaky.owner = "mallory".into();
    sneaky.last_active_at = at(-5);
    sneaky.call_count = 0;
    sneaky.state = SessionState::Terminated;
    store
        .update_live(&sneaky, Some(at(5)))
        .await
        .expect("update_live");
    assert_eq!(get(store, &s.id).await, u);
    let by_share = |v: &str| SessionFilter {
        share: Some(v.into()),
        tenant: Some(TenantScope::One(1)),
        ..SessionFilter::default()
    };
    assert_eq!(
        store.count_sessions(&by_share("c")).await.expect("count"),
        1
    );
    assert_eq!(
        store.count_sessions(&by_share("a")).await.expect("count"),
        0
    );
    let due = store.due_for_expiry(at(5), 10).await.expect("due");
    assert_eq!(due.len(), 1, "update_live stores the new deadline");
    match store.update_live(&session(ids.next(), 1, T0), None).await {
        Err(StoreError::NotFound) => {}
        other => panic!("update_live of an unknown id: want NotFound, got {other:?}"),
    }
}

/// Sessions whose deadline a touch moved later never come due early (a store may keep its
/// deadline index lazily and move early entries as it meets them), and a due session behind
/// thousands of early entries is found by one call: the sweep stops at an empty answer.
pub async fn touched_sessions_never_come_due_early(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let ids = Ids::default();
    let mut touched = Vec::new();
    // Enough that every Redis shard holds more early entries than one due.lua call examines
    // (4 × limit + 100 = 108 with the limit of 2 below; about 150 per shard of 16).
    for _ in 0..2400 {
        let s = session(ids.next(), 1, at(0));
        store
            .insert_session(&s, &hash_of(&s.id), Some(at(100)), None)
            .await
            .expect("insert");
        touched.push(s.id);
    }
    let due_one = session(ids.next(), 1, at(0));
    store
        .insert_session(&due_one, &hash_of(&due_one.id), Some(at(500)), None)
        .await
        .expect("insert");
    let touches: Vec<Touch> = touched
        .iter()
        .map(|id| Touch {
            id: id.clone(),
            at: at(50),
            calls: 0,
            expires_at: Some(at(10_000)),
        })
        .collect();
    store.apply_touches(&touches).await.expect("touch");
    let found: Vec<_> = store
        .due_for_expiry(at(600), 2)
        .await
        .expect("due")
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(
        found,
        vec![due_one.id.clone()],
        "only the untouched one is due"
    );
    let mut all: Vec<_> = store
        .due_for_expiry(at(10_000), 5000)
        .await
        .expect("due")
        .into_iter()
        .map(|s| s.id)
        .collect();
    all.sort();
    let mut want = touched.clone();
    want.push(due_one.id.clone());
    want.sort();
    assert_eq!(all, want, "at their deadline every one is due");
}

/// `due_for_expiry` lists live sessions at or past their deadline, oldest deadline first,
/// up to `limit`; `set_deadline` moves it; `purge_ended` deletes only tombstones ended
/// before the cut-off, at most `limit` per call, side rows included.
pub async fn sweeper_primitives(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let ids = Ids::default();
    let mut made = Vec::new();
    for (i, deadline) in [Some(300), Some(100), None, Some(200), Some(100_000)]
        .into_iter()
        .enumerate()
    {
        let mut s = session(ids.next(), 1, at(i as i64));
        s.share_names = vec!["home".into()];
        store
            .insert_session(&s, &hash_of(&s.id), deadline.map(at), None)
            .await
            .expect("insert");
        made.push(s.id);
    }
    let due = store.due_for_expiry(at(300), 10).await.expect("due");
    let due_ids: Vec<_> = due.iter().map(|s| s.id.clone()).collect();
    assert_eq!(
        due_ids,
        vec![made[1].clone(), made[3].clone(), made[0].clone()]
    );
    let due = store.due_for_expiry(at(300), 2).await.expect("due");
    assert_eq!(due.len(), 2, "limit applies");
    store
        .set_deadline(&made[1], Some(at(400)))
        .await
        .expect("set_deadline");
    store
        .set_deadline(&made[3], None)
        .await
        .expect("set_deadline");
    let due = store.due_for_expiry(at(300), 10).await.expect("due");
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].id, made[0]);

    // Tombstones ended at 1000, 2000, 3000; one live session stays.
    for (k, i) in [0usize, 1, 3].into_iter().enumerate() {
        store
            .end_if_active(
                std::slice::from_ref(&made[i]),
                &end_info(
                    SessionState::Expired,
                    at(1000 * (k as i64 + 1)),
                    "timeout:idle",
                ),
                false,
            )
            .await
            .expect("end");
    }
    assert_eq!(store.purge_ended(at(1000), 10).await.expect("purge"), 0);
    assert_eq!(store.purge_ended(at(3000), 1).await.expect("purge"), 1);
    assert!(store.get_session(&made[0]).await.expect("get").is_none());
    assert_eq!(store.purge_ended(at(3000), 10).await.expect("purge"), 1);
    assert!(store.get_session(&made[1]).await.expect("get").is_none());
    assert!(store.get_session(&made[3]).await.expect("get").is_some());
    assert_eq!(
        store
            .purge_ended(Timestamp(i64::MAX), 10)
            .await
            .expect("purge"),
        1
    );
    let ended_home = SessionFilter {
        state: StateFilter::All,
        share: Some("home".into()),
        tenant: Some(TenantScope::One(1)),
        ..SessionFilter::default()
    };
    assert_eq!(
        store.count_sessions(&ended_home).await.expect("count"),
        2,
        "purged sessions leave no trace in share lists"
    );
    for id in [&made[2], &made[4]] {
        assert_eq!(state_of(store, id).await, SessionState::Active);
    }
}

/// An end with its audit record (`end_if_active_audited`): the record is appended only when
/// the step ends exactly the expected number of sessions and commits, and then exactly once;
/// a store may also never append it (the default), and then it is not there either.
pub async fn audited_ends_append_only_when_the_count_holds(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let ids = Ids::default();
    let mut live = Vec::new();
    for i in 0..4 {
        let s = session(ids.next(), 1, at(i));
        insert(store, &s).await;
        live.push(s.id);
    }
    let rec = |target: &str| AuditRecord {
        at: at(50),
        actor: "ops".into(),
        tenant_id: 1,
        action: "sessions.terminate".into(),
        target: target.into(),
        origin: None,
        detail: Some("why".into()),
    };
    let end = end_info(SessionState::Terminated, at(50), "ops");
    let listed = |target: &'static str| async move {
        store
            .list_audit(&TenantScope::All, 100)
            .await
            .expect("audit")
            .iter()
            .filter(|r| r.target == target)
            .count()
    };
    let (b, audited) = store
        .end_if_active_audited(&live[..2], &end, false, &rec("2 of 2 ids"), 2)
        .await
        .expect("end");
    assert!(b.committed);
    assert_eq!(b.outcomes, vec![EndOutcome::Ended, EndOutcome::Ended]);
    assert_eq!(listed("2 of 2 ids").await, usize::from(audited));
    // live[1] has ended already: one end where two were expected, so no record.
    let (b, audited) = store
        .end_if_active_audited(&live[1..3], &end, false, &rec("2 of 2 again"), 2)
        .await
        .expect("end");
    assert_eq!(
        b.outcomes,
        vec![
            EndOutcome::AlreadyEnded(SessionState::Terminated),
            EndOutcome::Ended
        ]
    );
    assert!(!audited);
    assert_eq!(listed("2 of 2 again").await, 0);
    // Atomic and not all live: nothing ends, nothing is recorded.
    let (b, audited) = store
        .end_if_active_audited(&live[2..4], &end, true, &rec("atomic"), 1)
        .await
        .expect("end");
    assert!(!b.committed);
    assert!(!audited);
    assert_eq!(listed("atomic").await, 0);
    assert_eq!(state_of(store, &live[3]).await, SessionState::Active);
}
