//! Several replicas on one store, in one process through `serve::run`: each replica has its
//! own registry (touch buffer, principal cache, id generator) and shares only the store and
//! the key file, exactly as separate processes do.

mod replica_checks;

use sessiond_core::rules::bulk::ConfirmKey;
use sessiond_core::secretbox::SealKey;
use sessiond_core::{Registry, RegistryConfig, Store, SystemClock};
use sessiond_server::serve::{bind, run, RunOptions};
use sessiond_store_sqlite::SqliteStore;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

const PW: &str = "replica-admin-pw";

struct Replicas {
    bases: Vec<String>,
    registries: Vec<Arc<Registry>>,
    stops: Vec<oneshot::Sender<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Replicas {
    async fn start(n: usize) -> Replicas {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&dir.path().join("shared.db")).expect("store"));
        let keys = [7u8; 32];
        let seal = [9u8; 32];
        let (mut bases, mut stops, mut tasks, mut registries) = (vec![], vec![], vec![], vec![]);
        for i in 0..n {
            let registry = Arc::new(
                Registry::new(
                    store.clone(),
                    Arc::new(SystemClock),
                    RegistryConfig::default(),
                    ConfirmKey::new(keys),
                )
                .with_seal_key(SealKey::new(seal)),
            );
            if i == 0 {
                registry
                    .bootstrap(Some(PW.into()))
                    .await
                    .expect("bootstrap");
            }
            registries.push(registry.clone());
            let listener = bind("127.0.0.1:0").expect("bind");
            bases.push(format!("http://{}", listener.local_addr().expect("addr")));
            let (tx, rx) = oneshot::channel::<()>();
            stops.push(tx);
            tasks.push(tokio::spawn(async move {
                run(listener, registry, RunOptions::plain(), async move {
                    let _ = rx.await;
                })
                .await
                .expect("replica ran");
            }));
        }
        Replicas {
            bases,
            registries,
            stops,
            tasks,
            _dir: dir,
        }
    }

    async fn stop(self) {
        for s in self.stops {
            let _ = s.send(());
        }
        for t in self.tasks {
            t.await.expect("replica task");
        }
    }
}

impl replica_checks::Settle for Replicas {
    fn settle(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            // Bounded only to turn a lost invalidation into a failure instead of a hang.
            for _ in 0..10_000 {
                let counts: Vec<(u64, u64)> = self
                    .registries
                    .iter()
                    .map(|r| r.invalidation_counts())
                    .collect();
                if replica_checks::settled(&counts) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            panic!("replicas did not apply every published invalidation");
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_on_one_sqlite_store_agree() {
    let r = Replicas::start(3).await;
    replica_checks::register_list_terminate_validate(&r.bases, PW).await;
    replica_checks::confirm_from_a_works_on_b(&r.bases, PW).await;
    // Before the directory checks: they leave admin's logins throttled for a moment.
    replica_checks::events_reach_subscribers_of_every_replica(&r.bases, PW).await;
    replica_checks::ended_logins_are_refused_everywhere(&r.bases, PW, &r).await;
    replica_checks::directory_changes_hold_everywhere(&r.bases, PW, &r).await;
    r.stop().await;
}
