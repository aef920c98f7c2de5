//! The randomised comparison: every filter from `filter_sets`, under several tenant
//! scopes, states and page sizes, listed, counted and maxed by the store and checked against
//! `SessionFilter::matches` over the population.

use super::filter_sets::{filters, operation_filters, pivot};
use super::population::{populate, Population};
use crate::fixtures::{get, ids_of, walk, OP_PIVOT};
use sessiond_core::filter::{SessionFilter, StateFilter, TenantScope};
use sessiond_core::{SessionId, Store};
use std::sync::Arc;

/// Scope, state and page size variants each filter is run under.
fn variants(p: &Population) -> Vec<(Option<TenantScope>, StateFilter, usize)> {
    let [t1, acme, _] = p.tenants;
    vec![
        (Some(TenantScope::One(acme)), StateFilter::Active, 7),
        (Some(TenantScope::All), StateFilter::All, 50),
        (None, StateFilter::Ended, 3),
        (Some(TenantScope::One(t1)), StateFilter::All, 1000),
        (Some(TenantScope::One(t1)), StateFilter::Ended, 2),
        (Some(TenantScope::One(9999)), StateFilter::Active, 10),
    ]
}

/// Reads back every session of a population and checks it is exactly what was written.
async fn check_round_trip(store: &dyn Store, p: &Population) {
    for s in &p.expected {
        let got = get(store, &s.id).await;
        assert_eq!(&got, s, "session {} does not read back as written", s.id);
    }
}

async fn check_filter(store: &dyn Store, p: &Population, f: &SessionFilter, limit: usize) {
    let want: Vec<SessionId> = p
        .expected
        .iter()
        .filter(|s| f.matches(s))
        .map(|s| s.id.clone())
        .collect();
    let got = walk(store, f, limit).await;
    for s in &got {
        let exp = p.expected.iter().find(|e| e.id == s.id);
        assert_eq!(Some(s), exp, "listed session differs from the stored one");
    }
    assert_eq!(
        ids_of(&got),
        want,
        "list of {f:?} (limit {limit}) differs from SessionFilter::matches"
    );
    let n = store.count_sessions(f).await.expect("count_sessions");
    assert_eq!(n, want.len() as u64, "count_sessions of {f:?}");
    let max = store.max_matching_id(f).await.expect("max_matching_id");
    assert_eq!(max.as_ref(), want.last(), "max_matching_id of {f:?}");
}

/// Every filter field, under several tenant scopes, states and page sizes, against
/// `SessionFilter::matches` over a few hundred varied sessions; lists are also checked to
/// return the stored sessions exactly.
pub async fn filters_match_reference(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let p = populate(store, 320, 0x5e55_10d5).await;
    check_round_trip(store, &p).await;
    let filters = filters(&p);
    for (n, base) in filters.iter().enumerate() {
        let vs = variants(&p);
        // Every filter under two rotating variants, the plain one under all of them.
        let chosen: Vec<_> = if n == 0 {
            vs
        } else {
            vec![vs[n % vs.len()].clone(), vs[(n + 3) % vs.len()].clone()]
        };
        for (tenant, state, limit) in chosen {
            let f = SessionFilter {
                tenant: tenant.clone(),
                state,
                ..base.clone()
            };
            check_filter(store, &p, &f, limit).await;
        }
    }
    // Operation filters once more under every tenant with live sessions: the scope a DDS
    // or native list has, where a store may answer them with an index of its own.
    let mut matched = 0;
    for (n, base) in operation_filters().iter().enumerate() {
        for (k, t) in p.tenants.iter().enumerate() {
            let f = SessionFilter {
                tenant: Some(TenantScope::One(*t)),
                state: StateFilter::Active,
                ..base.clone()
            };
            matched += p.expected.iter().filter(|s| f.matches(s)).count();
            check_filter(store, &p, &f, [1, 4, 25][(n + k) % 3]).await;
        }
    }
    assert!(
        matched > 500,
        "operation filters should find something: {matched}"
    );
    // The strict start bound, on sessions whose operation started exactly at the pivot.
    let on_pivot = p
        .expected
        .iter()
        .filter(|s| s.activity.as_ref().and_then(|a| a.started_at) == Some(OP_PIVOT))
        .count();
    assert!(on_pivot >= 5, "{on_pivot} operations start on the pivot");
    for (tenant, state) in [
        (None, StateFilter::All),
        (Some(TenantScope::One(p.tenants[1])), StateFilter::Active),
        (Some(TenantScope::One(p.tenants[2])), StateFilter::Ended),
    ] {
        for t in [pivot(0), pivot(1)] {
            let f = SessionFilter {
                tenant: tenant.clone(),
                state,
                activity_started_before: Some(t),
                ..SessionFilter::default()
            };
            check_filter(store, &p, &f, 5).await;
        }
    }

    // Boundaries: time filters pivoted on stored instants, so "strictly before/after" is
    // tested where it differs from "at or before/after".
    for k in [3, 2] {
        let pivot = p.expected[p.expected.len() / k].clone();
        for f in [
            SessionFilter {
                last_active_before: Some(pivot.last_active_at),
                ..SessionFilter::default()
            },
            SessionFilter {
                last_active_after: Some(pivot.last_active_at),
                ..SessionFilter::default()
            },
            SessionFilter {
                opened_before: Some(pivot.opened_at),
                ..SessionFilter::default()
            },
            SessionFilter {
                max_id: Some(pivot.id.clone()),
                ..SessionFilter::default()
            },
        ] {
            for (tenant, state) in [
                (None, StateFilter::All),
                (Some(TenantScope::One(pivot.tenant_id)), StateFilter::All),
                (Some(TenantScope::One(pivot.tenant_id)), StateFilter::Active),
            ] {
                let f = SessionFilter {
                    tenant,
                    state,
                    ..f.clone()
                };
                assert!(
                    f.state != StateFilter::All || f.matches(&pivot) != f.max_id.is_none(),
                    "the pivot must sit on the boundary"
                );
                check_filter(store, &p, &f, 13).await;
            }
        }
    }
}
