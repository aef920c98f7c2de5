//! Two registries (two sessiond replicas) over one store: what each must see of the other's
//! work, and what they must never both do. Both share the store and one manual clock, and
//! nothing else.

use crate::fixtures::Env;
use sessiond_core::rules::bulk::ConfirmKey;
use sessiond_core::wire::RegisterRequest;
use sessiond_core::{Clock, HumanDuration, Registry, RegistryConfig, SessionState, Store, User};
use std::sync::Arc;
use std::time::Duration;

const MIN: Duration = Duration::from_secs(60);

fn second_replica(env: &Env) -> Registry {
    Registry::new(
        env.registry.store().clone(),
        env.clock.clone(),
        RegistryConfig::default(),
        ConfirmKey::random().expect("random source"),
    )
}

/// Both replicas sweep at the same moment: every overdue session is expired exactly once
/// (the compare-and-set lets one replica win each), none is missed.
pub async fn concurrent_sweeps_end_each_once(store: Arc<dyn Store>) {
    let env = Env::new(store).await;
    let b = second_replica(&env);
    let mut ids = Vec::new();
    for i in 0..60 {
        let (s, _) = env
            .registry
            .register(
                &env.admin,
                RegisterRequest {
                    service: "smb".into(),
                    user: User {
                        name: Some(format!("sweep-{i}")),
                        ..User::default()
                    },
                    idle_timeout: Some(HumanDuration(10 * MIN)),
                    ..RegisterRequest::default()
                },
            )
            .await
            .expect("register");
        ids.push(s.id);
    }
    env.clock.advance(11 * MIN);
    let (ra, rb) = tokio::join!(env.registry.sweep(), b.sweep());
    let (ra, rb) = (ra.expect("sweep A"), rb.expect("sweep B"));
    assert_eq!(
        ra.expired_idle + rb.expired_idle,
        ids.len() as u64,
        "each overdue session expired exactly once across replicas: {ra:?} {rb:?}"
    );
    for id in &ids {
        let s = env.registry.get(&env.admin, id).await.expect("get");
        assert_eq!(s.state, SessionState::Expired);
        assert_eq!(s.ended_by.as_deref(), Some("timeout:idle"));
    }
    // A later pass of either finds nothing more to do.
    assert_eq!(b.sweep().await.expect("sweep").expired_idle, 0);
}

/// Activity validated on replica A reaches replica B when A flushes (at most the flush
/// interval later), and B's sweeper then does not expire the session.
pub async fn touches_reach_other_replicas_when_flushed(store: Arc<dyn Store>) {
    let env = Env::new(store).await;
    let b = second_replica(&env);
    let (s, token) = env
        .registry
        .register(
            &env.admin,
            RegisterRequest {
                service: "smb".into(),
                user: User {
                    name: Some("touched".into()),
                    ..User::default()
                },
                idle_timeout: Some(HumanDuration(10 * MIN)),
                ..RegisterRequest::default()
            },
        )
        .await
        .expect("register");
    env.clock.advance(8 * MIN);
    env.registry
        .validate(&env.admin, token.expose())
        .await
        .expect("validate on A");
    let before = b.get(&env.admin, &s.id).await.expect("get on B");
    assert_eq!(
        before.last_active_at, s.opened_at,
        "B sees A's touch only after A flushes"
    );
    env.registry.flush_touches().await.expect("flush A");
    let after = b.get(&env.admin, &s.id).await.expect("get on B");
    assert_eq!(after.last_active_at, env.clock.now());
    env.clock.advance(5 * MIN);
    assert_eq!(b.sweep().await.expect("sweep B").expired_idle, 0);
    b.validate(&env.admin, token.expose())
        .await
        .expect("still live on B 13 minutes after opening");
}

/// A flush larger than one store call (`TOUCH_FLUSH_CHUNK`) writes every buffered touch, each
/// once: the other replica sees all of them, and nothing is left to flush.
pub async fn a_flush_of_many_chunks_writes_every_touch(store: Arc<dyn Store>) {
    use sessiond_core::registry::TOUCH_FLUSH_CHUNK;
    let env = Env::new(store).await;
    let b = second_replica(&env);
    let n = TOUCH_FLUSH_CHUNK + 3;
    let mut sessions = Vec::with_capacity(n);
    for i in 0..n {
        sessions.push(
            env.registry
                .register(
                    &env.admin,
                    RegisterRequest {
                        service: "smb".into(),
                        user: User {
                            name: Some(format!("chunked-{i}")),
                            ..User::default()
                        },
                        ..RegisterRequest::default()
                    },
                )
                .await
                .expect("register"),
        );
    }
    // Whatever the fixture's own login left buffered goes first: then the count is exact.
    env.registry.flush_touches().await.expect("flush");
    env.clock.advance(MIN);
    for (_, token) in &sessions {
        env.registry
            .validate(&env.admin, token.expose())
            .await
            .expect("validate");
    }
    assert_eq!(env.registry.flush_touches().await.expect("flush"), n);
    assert_eq!(env.registry.flush_touches().await.expect("flush"), 0);
    for (s, _) in &sessions {
        let seen = b.get(&env.admin, &s.id).await.expect("get on B");
        assert_eq!(seen.last_active_at, env.clock.now(), "{}", s.id);
    }
}
