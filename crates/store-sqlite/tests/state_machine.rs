//! Property test of the session state machine through the `Registry` on SQLite: whatever
//! sequence of registrations, validations, touches, patches, closes, terminations (one and
//! bulk), clock steps, flushes and sweeps, a session that ended stays ended exactly as it
//! ended (state, when, by whom), and every end the registry acknowledged is in the store.

use proptest::prelude::*;
use sessiond_core::registry::EndScope;
use sessiond_core::wire::{RegisterRequest, SessionPatch, TerminateRequest};
use sessiond_core::{HumanDuration, SessionId, SessionState, Store, Timestamp, User};
use sessiond_store_sqlite::SqliteStore;
use sessiond_store_tests::fixtures::Env;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug)]
enum Op {
    Register,
    Validate(usize),
    Touch(usize),
    Patch(usize),
    Close(usize),
    Terminate(usize),
    TerminateMany(Vec<usize>),
    /// Minutes.
    Advance(u64),
    Flush,
    Sweep,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Register),
        2 => (0usize..8).prop_map(Op::Validate),
        2 => (0usize..8).prop_map(Op::Touch),
        1 => (0usize..8).prop_map(Op::Patch),
        1 => (0usize..8).prop_map(Op::Close),
        1 => (0usize..8).prop_map(Op::Terminate),
        1 => prop::collection::vec(0usize..8, 1..4).prop_map(Op::TerminateMany),
        2 => (0u64..25).prop_map(Op::Advance),
        1 => Just(Op::Flush),
        1 => Just(Op::Sweep),
    ]
}

/// How a session ended, as first seen.
type EndSeen = (SessionState, Option<Timestamp>, Option<String>);

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let store = SqliteStore::open(&dir.path().join("t.db"))
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let env = Env::new(Arc::new(store) as Arc<dyn Store>).await;
    let (r, admin) = (&env.registry, &env.admin);
    let mut sessions: Vec<(SessionId, String)> = Vec::new();
    let mut ended: BTreeMap<SessionId, EndSeen> = BTreeMap::new();
    let pick = |sessions: &Vec<(SessionId, String)>, i: usize| {
        (!sessions.is_empty()).then(|| sessions[i % sessions.len()].clone())
    };
    for op in ops {
        match op {
            Op::Register => {
                let req = RegisterRequest {
                    service: "smb".into(),
                    user: User {
                        name: Some(format!("u{}", sessions.len())),
                        ..User::default()
                    },
                    idle_timeout: Some(HumanDuration(Duration::from_secs(10 * 60))),
                    absolute_timeout: Some(HumanDuration(Duration::from_secs(60 * 60))),
                    ..RegisterRequest::default()
                };
                let (s, tok) = r
                    .register(admin, req)
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                sessions.push((s.id, tok.expose().to_string()));
            }
            Op::Validate(i) | Op::Touch(i) | Op::Patch(i) => {
                let Some((id, tok)) = pick(&sessions, i) else {
                    continue;
                };
                let res = match op {
                    Op::Validate(_) => r.validate(admin, &tok).await,
                    Op::Touch(_) => r.update(admin, &id, SessionPatch::default(), true).await,
                    _ => {
                        let patch = SessionPatch {
                            num_opens: Some(3),
                            ..SessionPatch::default()
                        };
                        r.update(admin, &id, patch, false).await
                    }
                };
                if let Ok(s) = res {
                    prop_assert!(
                        !ended.contains_key(&id),
                        "{op:?} succeeded on an ended session {id}: {:?}",
                        s.state
                    );
                }
            }
            Op::Close(i) | Op::Terminate(i) => {
                let Some((id, _)) = pick(&sessions, i) else {
                    continue;
                };
                let res = match op {
                    Op::Close(_) => r.close(admin, &id).await,
                    _ => {
                        r.terminate_one(
                            admin,
                            &id,
                            Some("prop".into()),
                            EndScope::tenant(admin.scope()),
                        )
                        .await
                    }
                };
                if let Ok(s) = res {
                    prop_assert!(!ended.contains_key(&id), "ended twice: {id}");
                    prop_assert!(!s.state.is_live());
                    ended.insert(id, (s.state, s.ended_at, s.ended_by));
                }
            }
            Op::TerminateMany(is) => {
                let ids: Vec<String> = is
                    .iter()
                    .filter_map(|i| pick(&sessions, *i))
                    .map(|(id, _)| id.to_string())
                    .collect();
                if ids.is_empty() {
                    continue;
                }
                let req = TerminateRequest {
                    ids: Some(ids),
                    ..TerminateRequest::default()
                };
                r.terminate_bulk(admin, req)
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
            Op::Advance(m) => env.clock.advance(Duration::from_secs(m * 60)),
            Op::Flush => {
                r.flush_touches()
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
            Op::Sweep => {
                r.sweep()
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
        }
        // After every step: each session as the store has it.
        for (id, _) in &sessions {
            let s = env
                .store()
                .get_session(id)
                .await
                .map_err(|e| TestCaseError::fail(e.to_string()))?
                .ok_or_else(|| TestCaseError::fail(format!("{id} vanished")))?;
            match ended.get(id) {
                Some((state, at, by)) => {
                    prop_assert_eq!(s.state, *state, "{} changed state after ending", id);
                    prop_assert_eq!(s.ended_at, *at, "{} changed its end time", id);
                    prop_assert_eq!(&s.ended_by, by, "{} changed who ended it", id);
                }
                None if !s.state.is_live() => {
                    prop_assert!(s.ended_at.is_some() && s.ended_by.is_some());
                    ended.insert(id.clone(), (s.state, s.ended_at, s.ended_by));
                }
                None => {}
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn ended_sessions_stay_ended_and_acknowledged_ends_hold(ops in prop::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        rt.block_on(run(ops))?;
    }
}
