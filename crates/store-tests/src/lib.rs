//! The store conformance suite: every case a `Store` backend must pass, as a library.
//!
//! A backend's test calls [`run_all`] with a function that makes a fresh, empty store; each
//! case gets its own store. Cases are also public one by one (and listed by [`cases`]) so a
//! backend can run or debug a single one. Cases check stores against core's reference
//! semantics (`SessionFilter::matches`, `EndScope::admits`) and drive core's `Registry`
//! over the store for the rules that span several calls (timeouts, terminate modes).

pub mod admin;
pub mod events;
pub mod filters;
pub mod fixtures;
pub mod paging;
pub mod registry;
pub mod replicas;
pub mod sinks;
pub mod stats;
pub mod writes;

use sessiond_core::Store;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

/// A boxed case future (`Send`, so a case runs as its own task and a panic names it).
pub type CaseFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
/// A named case.
pub type Case = (&'static str, fn(Arc<dyn Store>) -> CaseFuture);

macro_rules! case {
    ($path:path) => {
        (stringify!($path), |s: Arc<dyn Store>| -> CaseFuture {
            Box::pin($path(s))
        })
    };
}

/// Every case, in the order [`run_all`] runs them.
pub fn cases() -> Vec<Case> {
    vec![
        case!(writes::session_round_trip_and_update),
        case!(filters::filter_examples),
        case!(filters::operation_filter_examples),
        case!(filters::filters_match_reference),
        case!(filters::count_and_max_agree_with_list),
        case!(paging::paging_under_concurrent_changes),
        case!(writes::end_sessions_semantics),
        case!(writes::tombstones_never_revive),
        case!(writes::external_id_unique_while_live),
        case!(writes::touches_move_forward_and_add),
        case!(writes::sweeper_primitives),
        case!(writes::touched_sessions_never_come_due_early),
        case!(writes::audited_ends_append_only_when_the_count_holds),
        case!(registry::timeouts_with_manual_clock),
        case!(registry::a_stopped_sweep_ends_between_batches),
        case!(registry::login_failures_are_forgotten_after_an_hour),
        case!(registry::terminate_modes),
        case!(registry::bulk_terminate_is_audited_once),
        case!(registry::refuse_own_session),
        case!(registry::all_or_nothing_with_repeated_ids),
        case!(registry::terminate_bulk_by_filter),
        case!(registry::tenant_isolation),
        case!(registry::end_scopes),
        case!(registry::register_external_id_races),
        case!(events::events_are_written_with_their_changes),
        case!(events::every_change_reports_its_event),
        case!(sinks::sink_store_semantics),
        case!(stats::session_stats_by_tenant_service_and_hour),
        case!(stats::session_stats_count_each_change_once),
        case!(admin::tenants_basics),
        case!(admin::principals_basics),
        case!(admin::audit_basics),
        case!(admin::access_keys_basics),
        case!(admin::access_keys_registry),
        case!(admin::login_failures_count),
        case!(replicas::concurrent_sweeps_end_each_once),
        case!(replicas::touches_reach_other_replicas_when_flushed),
        case!(replicas::a_flush_of_many_chunks_writes_every_touch),
    ]
}

/// Runs one case on its own task, so a panic is caught and reported with the case's name.
pub async fn run_case(name: &str, case: fn(Arc<dyn Store>) -> CaseFuture, store: Arc<dyn Store>) {
    let started = Instant::now();
    match tokio::spawn(case(store)).await {
        Ok(()) => eprintln!("conformance: {name} ... ok ({:.2?})", started.elapsed()),
        Err(e) => {
            let why = if e.is_panic() {
                let p = e.into_panic();
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panic".into())
            } else {
                e.to_string()
            };
            panic!("conformance case `{name}` failed: {why}");
        }
    }
}

/// Runs every case, each on a fresh store from `make_store`, and panics naming every case
/// that failed (after running them all, so one failure does not hide others).
pub async fn run_all<F, Fut>(make_store: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    let mut failed = Vec::new();
    for (name, case) in cases() {
        let store = make_store().await;
        let started = Instant::now();
        match tokio::spawn(case(store)).await {
            Ok(()) => eprintln!("conformance: {name} ... ok ({:.2?})", started.elapsed()),
            Err(e) => {
                eprintln!("conformance: {name} ... FAILED");
                failed.push(format!("{name}: {e}"));
            }
        }
    }
    assert!(
        failed.is_empty(),
        "conformance cases failed (panic messages above):\n  {}",
        failed.join("\n  ")
    );
}
