//! `count_sessions` and `max_matching_id` against a full list of the same filter.

use super::filter_sets::identity;
use super::population::populate;
use crate::fixtures::walk;
use sessiond_core::filter::{SessionFilter, StateFilter, TenantScope};
use sessiond_core::{SessionId, Store};
use std::sync::Arc;

/// `count_sessions` and `max_matching_id` agree with a full list, including with `max_id`
/// (how a dry run pins its set) and for filters that match nothing.
pub async fn count_and_max_agree_with_list(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let p = populate(store, 120, 77).await;
    let quarter = p.expected[p.expected.len() / 4].id.clone();
    let cases = [
        SessionFilter::default(),
        SessionFilter {
            state: StateFilter::All,
            ..SessionFilter::default()
        },
        SessionFilter {
            max_id: Some(quarter.clone()),
            state: StateFilter::All,
            ..SessionFilter::default()
        },
        SessionFilter {
            max_id: Some(SessionId::min()),
            ..SessionFilter::default()
        },
        SessionFilter {
            tenant: Some(TenantScope::One(p.tenants[1])),
            max_id: Some(quarter),
            ..identity("alice")
        },
        identity("nobody"),
    ];
    for f in cases {
        let listed = walk(store, &f, 9).await;
        assert_eq!(
            store.count_sessions(&f).await.expect("count"),
            listed.len() as u64,
            "count_sessions of {f:?}"
        );
        assert_eq!(
            store.max_matching_id(&f).await.expect("max"),
            listed.last().map(|s| s.id.clone()),
            "max_matching_id of {f:?}"
        );
    }
}
