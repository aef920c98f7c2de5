//! The store conformance suite against `SqliteStore`, one fresh database file per case.

use sessiond_core::Store;
use sessiond_store_sqlite::SqliteStore;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_passes_the_conformance_suite() {
    let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
    let n = Arc::new(AtomicUsize::new(0));
    sessiond_store_tests::run_all(|| {
        let dir = dir.clone();
        let n = n.clone();
        async move {
            let path = dir
                .path()
                .join(format!("case-{}.db", n.fetch_add(1, Ordering::SeqCst)));
            let store = SqliteStore::open(&path).expect("open store");
            Arc::new(store) as Arc<dyn Store>
        }
    })
    .await;
}
