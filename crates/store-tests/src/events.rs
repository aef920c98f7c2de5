//! Event cases: each change's event is written with the change (and only when the change
//! happens), ids increase and are never reused, retention deletes from the front; through
//! the registry, every change a session or principal goes through reports its event, and
//! the event's session is exactly what `GET` shows after the change.

use crate::fixtures::{at, end_info, get, insert, login, session, Env, Ids};
use sessiond_core::events::{
    principal_event, session_event, Event, EventDraft, EventFilter, EventId, EventType, StoredEvent,
};
use sessiond_core::filter::TenantScope;
use sessiond_core::registry::{EndScope, EventsRequest};
use sessiond_core::store::{EndEffects, EndOutcome};
use sessiond_core::wire::{CreatePrincipal, RegisterRequest, UpdatePrincipal};
use sessiond_core::{
    Domain, HumanDuration, Principal, Role, Session, SessionState, Store, Timestamp, User,
};
use std::sync::Arc;
use std::time::Duration;

async fn after(store: &dyn Store, from: EventId) -> Vec<StoredEvent> {
    store
        .events_after(from, 10_000)
        .await
        .expect("events_after")
}

fn parsed(e: &StoredEvent) -> Event {
    serde_json::from_str(&e.to_json()).unwrap_or_else(|err| panic!("event {}: {err}", e.id))
}

fn ended_event(s: &Session, state: SessionState, when: Timestamp) -> EventDraft {
    let end = end_info(state, when, "ops");
    let after = crate::fixtures::ended(s.clone(), &end);
    let kind = EventType::for_end(state).expect("an end");
    session_event(kind, when, "t1", &after)
}

/// The store writes an event only with a change that happened, in id order, readable and
/// signalled when the call returns; paging, retention and id reuse.
pub async fn events_are_written_with_their_changes(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let ids = Ids::default();
    let start = store.last_event_id().await.expect("last id");
    let mut signal = store.event_signal();
    signal.borrow_and_update();

    // An insert and its event.
    let mut live = Vec::new();
    for i in 0..4 {
        let s = session(ids.next(), 1, at(i));
        let ev = session_event(EventType::SessionCreated, at(i), "t1", &s);
        store
            .insert_session(&s, &crate::fixtures::hash_of(&s.id), None, Some(&ev))
            .await
            .expect("insert");
        live.push(s);
    }
    // A session inserted without one (fixtures) writes none.
    let quiet = session(ids.next(), 1, at(5));
    insert(store, &quiet).await;
    let created = after(store, start).await;
    assert_eq!(created.len(), 4, "{created:?}");
    let last = store.last_event_id().await.expect("last id");
    assert_eq!(created.last().map(|e| e.id), Some(last));
    assert!(
        *signal.borrow_and_update() >= last,
        "the signal announces every event an acknowledged change wrote"
    );
    for (e, s) in created.iter().zip(&live) {
        assert!(e.id > start);
        assert_eq!(e.event.kind, EventType::SessionCreated);
        assert_eq!(e.event.session_id.as_ref(), Some(&s.id));
        assert_eq!(e.event.service.as_deref(), Some("smb"));
        assert_eq!(e.event.tenant_id, 1);
        assert_eq!(parsed(e).session.as_ref(), Some(s));
    }
    assert!(
        created.windows(2).all(|w| w[0].id < w[1].id),
        "ids increase"
    );

    // An end writes the events of what it ended: not of an id already ended, not of an
    // unknown one, once for a repeated id, in the order of the ids.
    let when = at(50);
    let end = end_info(SessionState::Terminated, when, "ops");
    store
        .end_if_active(std::slice::from_ref(&live[0].id), &end, false)
        .await
        .expect("end without events");
    let unknown = ids.next();
    let drafts: Vec<EventDraft> = [&live[0], &live[2], &live[1]]
        .iter()
        .map(|s| ended_event(s, SessionState::Terminated, when))
        .collect();
    let call_ids = vec![
        live[0].id.clone(),
        unknown.clone(),
        live[2].id.clone(),
        live[1].id.clone(),
        live[2].id.clone(),
    ];
    let (b, _) = store
        .end_sessions(
            &call_ids,
            &end,
            false,
            &EndEffects {
                audit: None,
                events: &drafts,
            },
        )
        .await
        .expect("end");
    assert_eq!(
        b.outcomes,
        vec![
            EndOutcome::AlreadyEnded(SessionState::Terminated),
            EndOutcome::NotFound,
            EndOutcome::Ended,
            EndOutcome::Ended,
            EndOutcome::AlreadyEnded(SessionState::Terminated),
        ]
    );
    let ends = after(store, last).await;
    let got: Vec<_> = ends
        .iter()
        .map(|e| (e.event.kind, e.event.session_id.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (EventType::SessionTerminated, Some(live[2].id.clone())),
            (EventType::SessionTerminated, Some(live[1].id.clone())),
        ]
    );
    assert_eq!(
        parsed(&ends[0]).session,
        Some(get(store, &live[2].id).await)
    );
    let last = store.last_event_id().await.expect("last id");
    assert!(*signal.borrow_and_update() >= last);

    // An atomic end that does not commit writes no event.
    let draft = [ended_event(&live[3], SessionState::Closed, when)];
    let (b, _) = store
        .end_sessions(
            &[live[3].id.clone(), live[1].id.clone()],
            &end_info(SessionState::Closed, when, "ops"),
            true,
            &EndEffects {
                audit: None,
                events: &draft,
            },
        )
        .await
        .expect("atomic end");
    assert!(!b.committed);
    assert!(after(store, last).await.is_empty());

    // A principal's change and its event.
    let p = Principal {
        name: "evented".into(),
        tenant_id: 1,
        role: Role::Viewer,
        password_hash: "h".into(),
        disabled: false,
        created_at: at(1),
    };
    store.create_principal(&p).await.expect("principal");
    let disabled = Principal {
        disabled: true,
        ..p.clone()
    };
    let ev = principal_event(at(60), "t1", &disabled);
    store
        .update_principal(&disabled, Some(&ev))
        .await
        .expect("update");
    let got = after(store, last).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].event.kind, EventType::PrincipalDisabled);
    assert_eq!(got[0].event.session_id, None);
    assert_eq!(
        parsed(&got[0]).principal.map(|p| p.name),
        Some("evented".into())
    );
    // A change that fails writes no event.
    let ghost = Principal {
        name: "ghost".into(),
        ..disabled.clone()
    };
    assert!(store.update_principal(&ghost, Some(&ev)).await.is_err());
    let newest = store.last_event_id().await.expect("last id");
    assert_eq!(newest, got[0].id);

    // Paging by cursor reads the same sequence.
    let all = after(store, start).await;
    let mut paged = Vec::new();
    let mut cursor = start;
    loop {
        let page = store.events_after(cursor, 2).await.expect("page");
        let Some(last) = page.last() else { break };
        assert!(page.len() <= 2);
        cursor = last.id;
        paged.extend(page);
    }
    assert_eq!(paged, all);

    // Retention deletes events written before the cutoff, from the front; ids are never
    // given again, even once every event is gone.
    let purged = store.purge_events(at(50), 1000).await.expect("purge");
    let rest = after(store, start).await;
    assert!(
        rest.iter().all(|e| e.event.at >= at(50)),
        "purged {purged}, left {rest:?}"
    );
    assert_eq!(rest.len(), 3, "the two ends and the principal's event stay");
    store.purge_events(at(1000), 1000).await.expect("purge all");
    assert!(after(store, start).await.is_empty());
    assert_eq!(store.last_event_id().await.expect("last id"), newest);
    let s = session(ids.next(), 1, at(70));
    let ev = session_event(EventType::SessionCreated, at(70), "t1", &s);
    store
        .insert_session(&s, &crate::fixtures::hash_of(&s.id), None, Some(&ev))
        .await
        .expect("insert");
    let fresh = after(store, start).await;
    assert_eq!(fresh.len(), 1);
    assert!(fresh[0].id > newest, "an id is never reused");
}

/// Through the registry every change reports its event: created, closed, terminated,
/// expired, principal.disabled (with its logins' terminations), each with the session as
/// `GET` shows it afterwards and the tenant's name; subscribers' filters and scopes.
pub async fn every_change_reports_its_event(store: Arc<dyn Store>) {
    let env = Env::new(store).await;
    let (r, admin, clock) = (&env.registry, &env.admin, &env.clock);
    let store = env.store();
    r.create_tenant(admin, "acme").await.expect("tenant");
    r.create_principal(
        admin,
        CreatePrincipal {
            name: "op-acme".into(),
            password: "password-123".into(),
            role: Role::Operator,
            tenant: Some("acme".into()),
        },
    )
    .await
    .expect("principal");
    let op = login(r, "op-acme", "password-123").await;
    let start = store.last_event_id().await.expect("last id");
    let req = |name: &str| RegisterRequest {
        service: "smb".into(),
        tenant: Some("acme".into()),
        idle_timeout: Some(HumanDuration(Duration::from_secs(600))),
        user: User {
            domain: Domain::Local,
            name: Some(name.into()),
            ..User::default()
        },
        ..RegisterRequest::default()
    };
    let (a, _) = r.register(admin, req("a")).await.expect("register");
    let (b, _) = r.register(admin, req("b")).await.expect("register");
    let (c, _) = r.register(admin, req("c")).await.expect("register");
    r.close(admin, &a.id).await.expect("close");
    r.terminate_one(
        &op,
        &b.id,
        Some("left the company".into()),
        EndScope::tenant(TenantScope::One(op.tenant_id)),
    )
    .await
    .expect("terminate");
    clock.advance(Duration::from_secs(601));
    r.sweep().await.expect("sweep");
    r.update_principal(
        admin,
        "op-acme",
        UpdatePrincipal {
            disabled: Some(true),
            ..UpdatePrincipal::default()
        },
    )
    .await
    .expect("disable");

    let events: Vec<Event> = after(store, start).await.iter().map(parsed).collect();
    let of = |id: &sessiond_core::SessionId| -> Vec<EventType> {
        events
            .iter()
            .filter(|e| e.session.as_ref().map(|s| &s.id) == Some(id))
            .map(|e| e.kind)
            .collect()
    };
    assert_eq!(
        of(&a.id),
        [EventType::SessionCreated, EventType::SessionClosed]
    );
    assert_eq!(
        of(&b.id),
        [EventType::SessionCreated, EventType::SessionTerminated]
    );
    assert_eq!(
        of(&c.id),
        [EventType::SessionCreated, EventType::SessionExpired]
    );
    let op_login = op.session_id.clone().expect("a login session");
    assert_eq!(of(&op_login), [EventType::SessionTerminated]);
    let disabled: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventType::PrincipalDisabled)
        .collect();
    assert_eq!(disabled.len(), 1);
    assert_eq!(
        disabled[0]
            .principal
            .as_ref()
            .map(|p| (p.name.as_str(), p.disabled)),
        Some(("op-acme", true))
    );
    for e in &events {
        assert_eq!(e.tenant, "acme", "{e:?}");
        let Some(s) = &e.session else { continue };
        if e.kind != EventType::SessionCreated {
            let now = r.get(admin, &s.id).await.expect("get");
            assert_eq!(
                s, &now,
                "{:?}: the session as GET shows it after the end",
                e.kind
            );
        }
    }
    let terminated = events
        .iter()
        .find(|e| {
            e.kind == EventType::SessionTerminated
                && e.session.as_ref().map(|s| &s.id) == Some(&b.id)
        })
        .and_then(|e| e.session.clone())
        .expect("b's end");
    assert_eq!(terminated.ended_by.as_deref(), Some("op-acme"));
    assert_eq!(terminated.end_reason.as_deref(), Some("left the company"));
    let created = events
        .iter()
        .find(|e| e.kind == EventType::SessionCreated)
        .and_then(|e| e.session.clone())
        .expect("a's creation");
    assert_eq!(
        created, a,
        "the created event shows the session as registered"
    );

    // What subscribers may ask for.
    let acme_only = EventFilter {
        tenant: TenantScope::One(a.tenant_id),
        types: vec![EventType::SessionExpired],
        service: Some("smb".into()),
    };
    let (page, next) = r.events_page(&acme_only, start, 1000).await.expect("page");
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].event.session_id.as_ref(), Some(&c.id));
    assert_eq!(next, store.last_event_id().await.expect("last id"));
    let admins_own = r
        .event_filter(admin, &EventsRequest::default())
        .await
        .expect("filter");
    let (page, _) = r.events_page(&admins_own, start, 1000).await.expect("page");
    assert!(
        page.is_empty(),
        "the default tenant's admin sees its own tenant unless asked"
    );
    let everything = r
        .event_filter(
            admin,
            &EventsRequest {
                tenant: Some("*".into()),
                ..EventsRequest::default()
            },
        )
        .await
        .expect("filter");
    let (page, _) = r.events_page(&everything, start, 1000).await.expect("page");
    assert_eq!(page.len(), events.len());
    r.create_principal(
        admin,
        CreatePrincipal {
            name: "viewer-acme".into(),
            password: "password-123".into(),
            role: Role::Viewer,
            tenant: Some("acme".into()),
        },
    )
    .await
    .expect("principal");
    let viewer = login(r, "viewer-acme", "password-123").await;
    let star = EventsRequest {
        tenant: Some("*".into()),
        ..EventsRequest::default()
    };
    assert!(
        r.event_filter(&viewer, &star).await.is_err(),
        "only a global admin reads all"
    );
    let own = r
        .event_filter(&viewer, &EventsRequest::default())
        .await
        .expect("a viewer reads its own tenant");
    assert_eq!(own.tenant, TenantScope::One(a.tenant_id));
}
