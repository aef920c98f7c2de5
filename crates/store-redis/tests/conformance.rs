//! The store conformance suite against `RedisStore`, on a standalone Redis and on a 3+3
//! Cluster; each case gets a fresh store under its own key prefix on the same server.

use sessiond_core::Store;
use sessiond_redis_harness::{RedisCluster, RedisServer};
use sessiond_store_redis::{RedisOptions, RedisStore};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

async fn run(url: String, tag: &'static str) {
    let n = Arc::new(AtomicUsize::new(0));
    sessiond_store_tests::run_all(|| {
        let (url, n) = (url.clone(), n.clone());
        async move {
            let opts = RedisOptions {
                prefix: format!("{tag}{}", n.fetch_add(1, Ordering::SeqCst)),
                ..RedisOptions::default()
            };
            let store = RedisStore::connect(&url, opts).await.expect("connect");
            Arc::new(store) as Arc<dyn Store>
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_standalone_passes_the_conformance_suite() {
    let server = RedisServer::start();
    run(server.url(), "s").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_passes_the_conformance_suite() {
    let cluster = tokio::task::spawn_blocking(|| RedisCluster::start(3, 1))
        .await
        .expect("cluster");
    run(cluster.url(), "c").await;
}
