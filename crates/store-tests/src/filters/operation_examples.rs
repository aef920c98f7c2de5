//! Hand-written current-operation expectations, independent of `SessionFilter::matches`.

use super::filter_sets::pivot;
use crate::fixtures::{at, end_info, ids_of, session, walk, Ids, T0};
use sessiond_core::filter::{SessionFilter, StateFilter, TenantScope};
use sessiond_core::{Activity, SessionId, SessionState, Store, TenantId};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Hand-written expectations for the current-operation filters, independent of `matches`:
/// a node's `mongodb` sessions as DDS lists them, exact (case-, Unicode- and
/// whitespace-sensitive) field matches, the strict start bound on and one nanosecond
/// either side of the pivot, idle sessions and fields that are absent, values JSON has to
/// escape, extreme instants, tombstones and another tenant.
pub async fn operation_filter_examples(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let acme = store.create_tenant("acme").await.expect("create tenant").id;
    let ids = Ids::default();
    let sec = 1_000_000_000;
    let mut named = BTreeMap::new();
    /// One hand-made session: key, tenant, service, node, and its operation as (type,
    /// namespace, plan summary, started at) — `None` for idle.
    type Op = (
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
        Option<sessiond_core::Timestamp>,
    );
    let specs: [(&str, TenantId, &str, &str, Option<Op>); 16] = [
        ("idle_n1", 1, "mongodb", "node-1", None),
        (
            "q_old_n1",
            1,
            "mongodb",
            "node-1",
            Some((
                Some("query"),
                Some("shop.orders"),
                Some("COLLSCAN"),
                Some(pivot(-5 * sec)),
            )),
        ),
        (
            "q_pivot_n1",
            1,
            "mongodb",
            "node-1",
            Some((
                Some("query"),
                Some("shop.orders"),
                Some("IXSCAN { _id: 1 }"),
                Some(pivot(0)),
            )),
        ),
        (
            "q_just_before_n1",
            1,
            "mongodb",
            "node-1",
            Some((Some("query"), None, None, Some(pivot(-1)))),
        ),
        (
            "Q_upper_n1",
            1,
            "mongodb",
            "node-1",
            Some((
                Some("Query"),
                Some("Shop.Orders"),
                None,
                Some(pivot(-60 * sec)),
            )),
        ),
        (
            "q_no_start_n1",
            1,
            "mongodb",
            "node-1",
            Some((Some("query"), Some("shop.orders"), None, None)),
        ),
        (
            "empty_op_n1",
            1,
            "mongodb",
            "node-1",
            Some((None, None, None, None)),
        ),
        (
            "q_old_n2",
            1,
            "mongodb",
            "node-2",
            Some((
                Some("query"),
                Some("shop.orders"),
                None,
                Some(pivot(-100 * sec)),
            )),
        ),
        (
            "update_n2",
            1,
            "mongodb",
            "node-2",
            Some((
                Some("update"),
                Some("shop.orders"),
                Some("IXSCAN { \"sku\": 1 }"),
                Some(pivot(-100 * sec)),
            )),
        ),
        (
            "q_smb_n1",
            1,
            "smb",
            "node-1",
            Some((Some("query"), None, None, Some(pivot(-100 * sec)))),
        ),
        (
            "q_ended_n1",
            1,
            "mongodb",
            "node-1",
            Some((Some("query"), None, None, Some(pivot(-100 * sec)))),
        ),
        (
            "q_acme_n1",
            acme,
            "mongodb",
            "node-1",
            Some((Some("query"), None, None, Some(pivot(-5 * sec)))),
        ),
        (
            "escaped_n3",
            1,
            "mongodb",
            "node-3",
            Some((
                Some("straße"),
                Some("db.\"quoted\"\\path\ttab"),
                Some("nul\0byte\u{1}"),
                Some(sessiond_core::Timestamp(-1)),
            )),
        ),
        (
            "min_n3",
            1,
            "mongodb",
            "node-3",
            Some((
                Some("STRASSE"),
                Some("ωmega.ΣΣ"),
                Some("nul"),
                Some(sessiond_core::Timestamp(i64::MIN)),
            )),
        ),
        (
            "max_n3",
            1,
            "mongodb",
            "node-3",
            Some((
                Some("strasse"),
                Some("ΩMEGA.σσ"),
                Some("1"),
                Some(sessiond_core::Timestamp(i64::MAX)),
            )),
        ),
        ("idle_n3", 1, "mongodb", "node-3", None),
    ];
    for (key, tenant, service, node, op) in specs {
        let mut s = session(ids.next(), tenant, T0);
        s.service = service.into();
        s.node_id = Some(node.into());
        s.activity = op.map(|(op_type, namespace, plan_summary, started_at)| Activity {
            op_type: op_type.map(str::to_string),
            namespace: namespace.map(str::to_string),
            plan_summary: plan_summary.map(str::to_string),
            started_at,
            ..Activity::default()
        });
        crate::fixtures::insert(store, &s).await;
        named.insert(key, s.id);
    }
    let end = end_info(SessionState::Terminated, at(5), "ops");
    let b = store
        .end_if_active(std::slice::from_ref(&named["q_ended_n1"]), &end, false)
        .await
        .expect("end_if_active");
    assert!(b.committed);

    let expect = |keys: &[&str]| -> Vec<SessionId> {
        let mut v: Vec<SessionId> = keys.iter().map(|k| named[k].clone()).collect();
        v.sort();
        v
    };
    let check = |f: SessionFilter, keys: &'static [&'static str]| {
        let want = expect(keys);
        async move {
            let got = ids_of(&walk(store, &f, 2).await);
            assert_eq!(got, want, "{f:?} should find exactly {keys:?}");
            let n = store.count_sessions(&f).await.expect("count_sessions");
            assert_eq!(n, want.len() as u64, "count_sessions of {f:?}");
        }
    };
    // A node's live `mongodb` sessions of tenant 1, as DDS asks.
    let node = |n: &str| SessionFilter {
        tenant: Some(TenantScope::One(1)),
        service: Some("mongodb".into()),
        node_id: Some(n.into()),
        ..SessionFilter::default()
    };
    let n1 = || node("node-1");
    let n3 = || node("node-3");
    let some = |v: &str| Some(v.to_string());
    check(
        SessionFilter {
            has_activity: Some(true),
            ..n1()
        },
        &[
            "q_old_n1",
            "q_pivot_n1",
            "q_just_before_n1",
            "Q_upper_n1",
            "q_no_start_n1",
            "empty_op_n1",
        ],
    )
    .await;
    check(
        SessionFilter {
            has_activity: Some(false),
            ..n1()
        },
        &["idle_n1"],
    )
    .await;
    check(
        SessionFilter {
            activity_type: some("query"),
            ..n1()
        },
        &[
            "q_old_n1",
            "q_pivot_n1",
            "q_just_before_n1",
            "q_no_start_n1",
        ],
    )
    .await;
    // Strictly before the pivot: not the one that started on it, nor one without a start.
    check(
        SessionFilter {
            activity_type: some("query"),
            activity_started_before: Some(pivot(0)),
            ..n1()
        },
        &["q_old_n1", "q_just_before_n1"],
    )
    .await;
    check(
        SessionFilter {
            activity_started_before: Some(pivot(1)),
            ..n1()
        },
        &["q_old_n1", "q_pivot_n1", "q_just_before_n1", "Q_upper_n1"],
    )
    .await;
    check(
        SessionFilter {
            activity_started_before: Some(pivot(-1)),
            ..n1()
        },
        &["q_old_n1", "Q_upper_n1"],
    )
    .await;
    check(
        SessionFilter {
            activity_namespace: some("shop.orders"),
            ..n1()
        },
        &["q_old_n1", "q_pivot_n1", "q_no_start_n1"],
    )
    .await;
    check(
        SessionFilter {
            activity_namespace: some("Shop.Orders"),
            ..n1()
        },
        &["Q_upper_n1"],
    )
    .await;
    check(
        SessionFilter {
            activity_plan_summary: some("IXSCAN { _id: 1 }"),
            ..n1()
        },
        &["q_pivot_n1"],
    )
    .await;
    check(
        SessionFilter {
            activity_plan_summary: some("collscan"),
            ..n1()
        },
        &[],
    )
    .await;
    check(
        SessionFilter {
            activity_type: some("Query"),
            ..n1()
        },
        &["Q_upper_n1"],
    )
    .await;
    check(
        SessionFilter {
            activity_type: some("QUERY"),
            ..n1()
        },
        &[],
    )
    .await;
    check(
        SessionFilter {
            has_activity: Some(false),
            activity_type: some("query"),
            ..n1()
        },
        &[],
    )
    .await;
    // Without the node: the tenant's `mongodb` operations on every node.
    check(
        SessionFilter {
            node_id: None,
            activity_namespace: some("shop.orders"),
            activity_started_before: Some(pivot(0)),
            ..n1()
        },
        &["q_old_n1", "q_old_n2", "update_n2"],
    )
    .await;
    check(
        SessionFilter {
            node_id: None,
            activity_plan_summary: some("IXSCAN { \"sku\": 1 }"),
            ..n1()
        },
        &["update_n2"],
    )
    .await;
    // Without the service: the `smb` session on node-1 too.
    check(
        SessionFilter {
            service: None,
            activity_type: some("query"),
            activity_started_before: Some(pivot(-50 * sec)),
            ..n1()
        },
        &["q_smb_n1"],
    )
    .await;
    check(
        SessionFilter {
            activity_type: some("query"),
            activity_started_before: Some(pivot(-50 * sec)),
            ..n1()
        },
        &[],
    )
    .await;
    // Tombstones keep their last operation; another tenant's node-1 is not tenant 1's.
    check(
        SessionFilter {
            state: StateFilter::Ended,
            activity_type: some("query"),
            ..n1()
        },
        &["q_ended_n1"],
    )
    .await;
    check(
        SessionFilter {
            state: StateFilter::All,
            activity_started_before: Some(pivot(-50 * sec)),
            ..n1()
        },
        &["Q_upper_n1", "q_ended_n1"],
    )
    .await;
    check(
        SessionFilter {
            tenant: Some(TenantScope::One(acme)),
            has_activity: Some(true),
            ..n1()
        },
        &["q_acme_n1"],
    )
    .await;
    check(
        SessionFilter {
            tenant: Some(TenantScope::All),
            activity_started_before: Some(pivot(0)),
            activity_type: some("query"),
            ..n1()
        },
        &["q_old_n1", "q_just_before_n1", "q_acme_n1"],
    )
    .await;
    // Unicode is compared as is: no case folding, no ß/SS expansion, no normalisation.
    check(
        SessionFilter {
            activity_type: some("straße"),
            ..n3()
        },
        &["escaped_n3"],
    )
    .await;
    check(
        SessionFilter {
            activity_type: some("STRASSE"),
            ..n3()
        },
        &["min_n3"],
    )
    .await;
    check(
        SessionFilter {
            activity_namespace: some("ωmega.ΣΣ"),
            ..n3()
        },
        &["min_n3"],
    )
    .await;
    // Values with quotes, backslashes, tabs, NUL and control characters match exactly.
    check(
        SessionFilter {
            activity_namespace: some("db.\"quoted\"\\path\ttab"),
            ..n3()
        },
        &["escaped_n3"],
    )
    .await;
    check(
        SessionFilter {
            activity_plan_summary: some("nul\0byte\u{1}"),
            ..n3()
        },
        &["escaped_n3"],
    )
    .await;
    check(
        SessionFilter {
            activity_plan_summary: some("nul"),
            ..n3()
        },
        &["min_n3"],
    )
    .await;
    check(
        SessionFilter {
            activity_plan_summary: some("nul\0byte"),
            ..n3()
        },
        &[],
    )
    .await;
    // A plan summary that reads as a number is still the text "1".
    check(
        SessionFilter {
            activity_plan_summary: some("1"),
            ..n3()
        },
        &["max_n3"],
    )
    .await;
    // Extreme instants: before 1970, the smallest and the largest.
    check(
        SessionFilter {
            activity_started_before: Some(sessiond_core::Timestamp(0)),
            ..n3()
        },
        &["escaped_n3", "min_n3"],
    )
    .await;
    check(
        SessionFilter {
            activity_started_before: Some(sessiond_core::Timestamp(-1)),
            ..n3()
        },
        &["min_n3"],
    )
    .await;
    check(
        SessionFilter {
            activity_started_before: Some(sessiond_core::Timestamp(i64::MIN)),
            ..n3()
        },
        &[],
    )
    .await;
    check(
        SessionFilter {
            activity_started_before: Some(sessiond_core::Timestamp(i64::MAX)),
            ..n3()
        },
        &["escaped_n3", "min_n3"],
    )
    .await;
}
