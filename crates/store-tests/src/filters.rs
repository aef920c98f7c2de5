//! Filter cases: a varied population checked against `SessionFilter::matches` for every
//! filter field, count and max-id agreement, and hand-written expectations for identities
//! (Unicode folding, domains, SIDs), originators (IPs, CIDRs, hosts) and current operations
//! (exact fields, the strict start bound, a node's `mongodb` sessions as DDS lists them).

use crate::fixtures::{
    at, end_info, ended, get, hash_of, ids_of, place, session, varied_activity, walk, Ids, Rng,
    OP_NAMESPACES, OP_PIVOT, OP_PLAN_SUMMARIES, OP_TYPES, T0,
};
use sessiond_core::filter::{OriginatorFilter, SessionFilter, StateFilter, TenantScope};
use sessiond_core::identity::{parse_identity, WORLD_AUTH_ID};
use sessiond_core::store::Touch;
use sessiond_core::{
    Activity, Domain, HumanDuration, Session, SessionId, SessionKind, SessionState, Store,
    TenantId, User,
};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

fn user(domain: Domain, name: Option<&str>, sid: Option<&str>) -> User {
    User {
        domain,
        name: name.map(str::to_string),
        sid: sid.map(str::to_string),
        ..User::default()
    }
}

/// The identities of the population: case and Unicode variants of the same names in several
/// domains, SIDs in both cases, POSIX ids, WORLD, and auth_ids above 2^63.
fn users() -> Vec<User> {
    let mut v = vec![
        user(
            Domain::ActiveDirectory,
            Some("alice"),
            Some("S-1-5-21-1-2-3-1001"),
        ),
        user(Domain::Local, Some("Alice"), None),
        User {
            uid: Some(1001),
            ..user(Domain::Local, Some("ALICE"), None)
        },
        user(Domain::ActiveDirectory, Some("straße"), None),
        user(Domain::ActiveDirectory, Some("STRASSE"), None),
        user(Domain::Local, Some("Strasse"), None),
        User {
            uid: Some(1002),
            gid: Some(100),
            ..user(Domain::PosixUser, Some("bob"), None)
        },
        User {
            gid: Some(100),
            ..user(Domain::PosixGroup, Some("staff"), None)
        },
        user(Domain::ActiveDirectory, None, Some("s-1-5-21-1-2-3-1002")),
        User {
            auth_id: Some(WORLD_AUTH_ID),
            ..user(Domain::World, Some("Everyone"), Some("S-1-1-0"))
        },
        user(Domain::ActiveDirectory, Some("ǅemo"), None),
        user(Domain::Local, Some("ﬁle"), None),
        user(Domain::Local, Some("FILE"), None),
        user(Domain::ActiveDirectory, Some("Ωmega"), None),
        user(Domain::Local, Some("ωMEGA"), None),
        User {
            auth_id: Some(u64::MAX - 5),
            ..user(Domain::ApiNullDomain, None, None)
        },
        User {
            auth_id: Some((1 << 63) + 7),
            ..user(Domain::Local, Some("carol"), None)
        },
        // A name that looks like a SID (only `name:` finds it by name).
        user(Domain::Local, Some("S-1-5-21-1-2-3-1001"), None),
    ];
    for u in &mut v {
        if u.auth_id.is_none() && u.name.is_some() {
            u.auth_id = Some(sessiond_core::identity::derive_auth_id(u));
        }
    }
    v
}

const ORIGINATORS: &[Option<&str>] = &[
    None,
    Some("10.1.2.3"),
    Some("10.1.200.4"),
    Some("10.2.0.1"),
    Some("192.168.1.10"),
    Some("2001:db8::1"),
    Some("2001:DB8:0:1::5"),
    Some("2001:db9::1"),
    Some("::ffff:10.1.2.3"),
    Some("fe80::1"),
    Some("Laptop-7.Example.com"),
    Some("laptop-7.example.COM"),
    Some("host-b"),
];

const SHARES: &[&str] = &["home", "projects", "Home", "data"];
const SERVICES: &[&str] = &["smb", "vsphere", "mongodb", "sessiond"];
const NODES: &[Option<&str>] = &[None, Some("node-1"), Some("node-2"), Some("node-3")];
const OWNERS: &[&str] = &["svc-a", "svc-b", "admin"];

/// A stored population and what each session must look like when read back.
pub(crate) struct Population {
    pub expected: Vec<Session>,
    pub tenants: [TenantId; 3],
}

/// Builds `n` varied sessions over three tenants, ends a quarter of them (all three end
/// states) and touches some, keeping the expected stored form of each.
pub(crate) async fn populate(store: &dyn Store, n: usize, seed: u64) -> Population {
    let acme = store.create_tenant("acme").await.expect("create tenant").id;
    let globex = store
        .create_tenant("globex")
        .await
        .expect("create tenant")
        .id;
    let tenants = [1, acme, globex];
    let users = users();
    let ids = Ids::default();
    let mut rng = Rng::new(seed);
    // Operations draw from their own stream: the other fields of a seed's population stay
    // what they were before operations were varied.
    let mut ops = Rng::new(seed ^ 0x0b5e_55ed);
    let mut seventy_seven = HashSet::new();
    let mut expected = Vec::with_capacity(n);
    for i in 0..n {
        let opened = at(i as i64 * 7 - rng.below(5) as i64);
        let mut s = session(ids.next(), *rng.pick(&tenants), opened);
        s.kind = if rng.chance(20) {
            SessionKind::Login
        } else {
            SessionKind::Registered
        };
        s.owner = rng.pick(OWNERS).to_string();
        s.service = rng.pick(SERVICES).to_string();
        s.node_id = rng.pick(NODES).map(str::to_string);
        s.user = rng.pick(&users).clone();
        s.originator = rng.pick(ORIGINATORS).map(str::to_string);
        s.server_address = rng.chance(50).then(|| "10.0.0.1".to_string());
        s.share_names = (0..rng.below(4))
            .map(|_| rng.pick(SHARES).to_string())
            .collect();
        s.is_guest = rng.chance(15);
        s.is_encrypted = rng.chance(50);
        s.external_id = if rng.chance(40) {
            Some(format!("ext-{i}"))
        } else if rng.chance(10)
            && seventy_seven.insert((s.tenant_id, s.service.clone(), s.node_id.clone()))
        {
            Some("77".to_string())
        } else {
            None
        };
        s.last_active_at = at(opened.secs() - T0.secs() + rng.below(3600) as i64);
        s.num_opens = if i == 3 { u64::MAX } else { rng.below(50) };
        s.call_count = rng.below(1000);
        s.user_agent = rng.chance(30).then(|| "qq/7.1 (linux)".to_string());
        s.locale = rng.chance(30).then(|| "de-DE".to_string());
        // Drawn but unused: keeps the main stream (and so the other fields) as it was.
        let _ = rng.chance(25);
        s.activity = varied_activity(&mut ops);
        if rng.chance(30) {
            s.attributes = BTreeMap::from([
                ("k".to_string(), "v".to_string()),
                ("ünï".to_string(), String::new()),
            ]);
        }
        s.idle_timeout = HumanDuration(Duration::new(rng.below(4000), rng.below(1000) as u32));
        s.absolute_timeout = HumanDuration(Duration::from_secs(rng.below(100_000)));
        place(store, &ids, &mut s);
        store
            .insert_session(&s, &hash_of(&s.id), s.expires_at())
            .await
            .unwrap_or_else(|e| panic!("insert {}: {e}", s.id));
        expected.push(s);
    }
    // End a quarter, cycling through the end states.
    let states = [
        SessionState::Closed,
        SessionState::Terminated,
        SessionState::Expired,
    ];
    for (k, i) in (0..n).filter(|i| i % 4 == 1).enumerate() {
        let end = end_info(states[k % 3], at(100_000 + k as i64), "ender");
        let b = store
            .end_if_active(std::slice::from_ref(&expected[i].id), &end, false)
            .await
            .expect("end_if_active");
        assert!(b.committed);
        expected[i] = ended(expected[i].clone(), &end);
    }
    // Touch some live ones forward.
    let mut touches = Vec::new();
    for i in (0..n).filter(|i| i % 5 == 2) {
        let t = at(200_000 + i as i64);
        touches.push(Touch {
            id: expected[i].id.clone(),
            at: t,
            calls: 3,
            expires_at: None,
        });
        if expected[i].state.is_live() {
            expected[i].last_active_at = t;
            expected[i].call_count += 3;
        }
    }
    store.apply_touches(&touches).await.expect("apply_touches");
    Population { expected, tenants }
}

fn identity(s: &str) -> SessionFilter {
    SessionFilter {
        identity: Some(parse_identity(s).unwrap_or_else(|e| panic!("identity {s:?}: {e}"))),
        ..SessionFilter::default()
    }
}

fn originator(s: &str) -> SessionFilter {
    SessionFilter {
        originator: Some(OriginatorFilter::parse(s).unwrap_or_else(|| panic!("originator {s}"))),
        ..SessionFilter::default()
    }
}

/// One filter per field and value worth checking, plus combinations.
fn filters(p: &Population) -> Vec<SessionFilter> {
    let mut v = vec![SessionFilter::default()];
    for id in [
        "alice",
        "ad:alice",
        "local:ALICE",
        "STRASSE",
        "straße",
        "local:strasse",
        "ad:STRASSE",
        "S-1-5-21-1-2-3-1001",
        "s-1-5-21-1-2-3-1002",
        "sid:S-1-5-21-1-2-3-1002",
        "name:S-1-5-21-1-2-3-1001",
        "uid:1001",
        "uid:0x3EA",
        "gid:100",
        "ldap_user:bob",
        "ldap_group:staff",
        "world:Everyone",
        "Everyone",
        "auth_id:18446744073709551610",
        "auth_id:0x8000000000000007",
        "ǆemo",
        "DŽEMO",
        "file",
        "FILE",
        "ΩMEGA",
        "nobody",
    ] {
        v.push(identity(id));
    }
    for o in [
        "10.1.2.3",
        "10.1.0.0/16",
        "10.0.0.0/8",
        "10.1.2.3/16",
        "0.0.0.0/0",
        "192.168.1.10/32",
        "2001:db8::/32",
        "2001:db8::1",
        "2001:db8:0:1::/64",
        "::/0",
        "::ffff:10.1.2.3",
        "::ffff:0:0/96",
        "laptop-7.example.com",
        "LAPTOP-7.EXAMPLE.COM",
        "host-b",
        "nohost",
    ] {
        v.push(originator(o));
    }
    for share in ["home", "Home", "data", "none"] {
        v.push(SessionFilter {
            share: Some(share.into()),
            ..SessionFilter::default()
        });
    }
    for service in ["smb", "mongodb", "nope"] {
        v.push(SessionFilter {
            service: Some(service.into()),
            ..SessionFilter::default()
        });
    }
    for node in ["node-1", "node-3", "none"] {
        v.push(SessionFilter {
            node_id: Some(node.into()),
            ..SessionFilter::default()
        });
    }
    for secs in [300, 1000, 2000] {
        v.push(SessionFilter {
            last_active_before: Some(at(secs)),
            ..SessionFilter::default()
        });
        v.push(SessionFilter {
            last_active_after: Some(at(secs)),
            ..SessionFilter::default()
        });
        v.push(SessionFilter {
            opened_before: Some(at(secs)),
            ..SessionFilter::default()
        });
    }
    v.push(SessionFilter {
        last_active_before: Some(at(2500)),
        last_active_after: Some(at(800)),
        ..SessionFilter::default()
    });
    for g in [true, false] {
        v.push(SessionFilter {
            is_guest: Some(g),
            ..SessionFilter::default()
        });
    }
    for e in ["ext-5", "ext-8", "77", "nope"] {
        v.push(SessionFilter {
            external_id: Some(e.into()),
            ..SessionFilter::default()
        });
    }
    for k in [SessionKind::Login, SessionKind::Registered] {
        v.push(SessionFilter {
            kind: Some(k),
            ..SessionFilter::default()
        });
    }
    for o in ["svc-a", "admin"] {
        v.push(SessionFilter {
            owner: Some(o.into()),
            ..SessionFilter::default()
        });
        v.push(SessionFilter {
            owner: Some(o.into()),
            kind: Some(SessionKind::Login),
            ..SessionFilter::default()
        });
    }
    let mid = p.expected[p.expected.len() / 2].id.clone();
    v.push(SessionFilter {
        max_id: Some(mid.clone()),
        ..SessionFilter::default()
    });
    // Combinations: an index path with residual conditions, ranges with other filters.
    v.push(SessionFilter {
        max_id: Some(mid),
        ..identity("alice")
    });
    v.push(SessionFilter {
        originator: originator("10.0.0.0/8").originator,
        is_guest: Some(false),
        ..identity("STRASSE")
    });
    v.push(SessionFilter {
        service: Some("smb".into()),
        node_id: Some("node-1".into()),
        share: Some("home".into()),
        ..SessionFilter::default()
    });
    v.push(SessionFilter {
        service: Some("vsphere".into()),
        last_active_before: Some(at(1500)),
        kind: Some(SessionKind::Registered),
        ..originator("2001:db8::/32")
    });
    v.push(SessionFilter {
        share: Some("projects".into()),
        opened_before: Some(at(1200)),
        ..SessionFilter::default()
    });
    v.extend(operation_filters());
    v
}

/// `OP_PIVOT + nanos`.
fn pivot(nanos: i64) -> sessiond_core::Timestamp {
    sessiond_core::Timestamp(OP_PIVOT.0 + nanos)
}

/// The current-operation filters: every field alone (values present in the population and
/// near misses in case, Unicode and whitespace), start-time bounds around and on the pivot,
/// and the combinations DDS asks for (a node's `mongodb` sessions) or that put them on
/// another index as residual conditions.
fn operation_filters() -> Vec<SessionFilter> {
    let mut v = Vec::new();
    for h in [true, false] {
        v.push(SessionFilter {
            has_activity: Some(h),
            ..SessionFilter::default()
        });
    }
    for t in OP_TYPES.iter().chain(&["QUERY", "STRASSE", "nope"]) {
        v.push(SessionFilter {
            activity_type: Some(t.to_string()),
            ..SessionFilter::default()
        });
    }
    for n in OP_NAMESPACES.iter().chain(&["ΩMEGA.σσ", "shop"]) {
        v.push(SessionFilter {
            activity_namespace: Some(n.to_string()),
            ..SessionFilter::default()
        });
    }
    for ps in OP_PLAN_SUMMARIES.iter().chain(&["IXSCAN"]) {
        v.push(SessionFilter {
            activity_plan_summary: Some(ps.to_string()),
            ..SessionFilter::default()
        });
    }
    let sec = 1_000_000_000;
    for t in [-600 * sec, -1, 0, 1, 600 * sec] {
        v.push(SessionFilter {
            activity_started_before: Some(pivot(t)),
            ..SessionFilter::default()
        });
    }
    let mongodb = |node: Option<&str>| SessionFilter {
        service: Some("mongodb".into()),
        node_id: node.map(str::to_string),
        ..SessionFilter::default()
    };
    v.extend([
        // DDS: a node's sessions, busy ones, slow ones, by type / namespace / plan.
        SessionFilter {
            has_activity: Some(true),
            ..mongodb(Some("node-1"))
        },
        SessionFilter {
            has_activity: Some(false),
            ..mongodb(Some("node-2"))
        },
        SessionFilter {
            has_activity: Some(true),
            activity_started_before: Some(pivot(0)),
            ..mongodb(Some("node-1"))
        },
        SessionFilter {
            activity_type: Some("query".into()),
            activity_started_before: Some(pivot(1)),
            ..mongodb(None)
        },
        SessionFilter {
            activity_namespace: Some("shop.orders".into()),
            ..mongodb(Some("node-2"))
        },
        SessionFilter {
            activity_plan_summary: Some("COLLSCAN".into()),
            activity_started_before: Some(pivot(600 * sec)),
            ..mongodb(Some("node-3"))
        },
        SessionFilter {
            has_activity: Some(true),
            activity_type: Some("update".into()),
            activity_namespace: Some("app.users".into()),
            ..mongodb(None)
        },
        // Contradictory: an idle session has no operation type.
        SessionFilter {
            has_activity: Some(false),
            activity_type: Some("query".into()),
            ..mongodb(None)
        },
        // Operation filters as residual conditions of other access paths.
        SessionFilter {
            node_id: Some("node-1".into()),
            activity_started_before: Some(pivot(-1)),
            ..SessionFilter::default()
        },
        SessionFilter {
            has_activity: Some(true),
            ..identity("alice")
        },
        SessionFilter {
            activity_type: Some("query".into()),
            kind: Some(SessionKind::Registered),
            is_guest: Some(false),
            ..SessionFilter::default()
        },
        SessionFilter {
            activity_started_before: Some(pivot(0)),
            last_active_before: Some(at(1500)),
            ..SessionFilter::default()
        },
        SessionFilter {
            has_activity: Some(false),
            share: Some("home".into()),
            ..SessionFilter::default()
        },
    ]);
    v
}

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

/// Hand-written expectations, independent of `matches`: Unicode folding, any-domain vs
/// domain-qualified names, SID case, IPv4/IPv6 CIDRs, mapped addresses, host names, shares.
pub async fn filter_examples(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let ids = Ids::default();
    let mut named = BTreeMap::new();
    /// One hand-made session: its key, user, originator and shares.
    struct Spec(
        &'static str,
        User,
        Option<&'static str>,
        &'static [&'static str],
    );
    let ad = Domain::ActiveDirectory;
    let specs = [
        Spec(
            "strasse_ad",
            user(ad, Some("straße"), None),
            Some("10.1.2.3"),
            &["home"],
        ),
        Spec(
            "STRASSE_ad",
            user(ad, Some("STRASSE"), None),
            Some("10.1.200.4"),
            &[],
        ),
        Spec(
            "Strasse_local",
            user(Domain::Local, Some("Strasse"), None),
            Some("10.2.0.1"),
            &["Home"],
        ),
        Spec(
            "alice_ad",
            user(ad, Some("alice"), Some("S-1-5-21-9-9-9-500")),
            Some("::ffff:10.1.2.3"),
            &[],
        ),
        Spec(
            "alice_local",
            user(Domain::Local, Some("Alice"), None),
            Some("2001:db8::1"),
            &[],
        ),
        Spec(
            "sid_lower",
            user(ad, None, Some("s-1-5-21-9-9-9-500")),
            Some("2001:db8:ffff::2"),
            &[],
        ),
        Spec(
            "laptop",
            user(Domain::Local, Some("dave"), None),
            Some("Laptop-7.Example.com"),
            &["home", "data"],
        ),
        Spec(
            "v6_other",
            user(Domain::Local, Some("erin"), None),
            Some("2001:db9::1"),
            &[],
        ),
    ];
    for Spec(key, u, orig, shares) in specs {
        let mut s = session(ids.next(), 1, T0);
        s.user = u;
        s.originator = orig.map(str::to_string);
        s.share_names = shares.iter().map(|x| x.to_string()).collect();
        crate::fixtures::insert(store, &s).await;
        named.insert(key, s.id);
    }
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
        }
    };
    check(
        identity("STRASSE"),
        &["strasse_ad", "STRASSE_ad", "Strasse_local"],
    )
    .await;
    check(
        identity("straße"),
        &["strasse_ad", "STRASSE_ad", "Strasse_local"],
    )
    .await;
    check(identity("ad:strasse"), &["strasse_ad", "STRASSE_ad"]).await;
    check(identity("local:STRASSE"), &["Strasse_local"]).await;
    check(identity("ALICE"), &["alice_ad", "alice_local"]).await;
    check(identity("ad:Alice"), &["alice_ad"]).await;
    check(identity("S-1-5-21-9-9-9-500"), &["alice_ad", "sid_lower"]).await;
    check(
        identity("sid:s-1-5-21-9-9-9-500"),
        &["alice_ad", "sid_lower"],
    )
    .await;
    check(originator("10.1.0.0/16"), &["strasse_ad", "STRASSE_ad"]).await;
    check(
        originator("10.0.0.0/8"),
        &["strasse_ad", "STRASSE_ad", "Strasse_local"],
    )
    .await;
    check(originator("10.1.2.3"), &["strasse_ad"]).await;
    check(originator("::ffff:10.1.2.3"), &["alice_ad"]).await;
    check(originator("2001:db8::/32"), &["alice_local", "sid_lower"]).await;
    check(originator("2001:db8::1/128"), &["alice_local"]).await;
    check(originator("LAPTOP-7.example.COM"), &["laptop"]).await;
    check(originator("laptop-7"), &[]).await;
    let share = |v: &str| SessionFilter {
        share: Some(v.into()),
        ..SessionFilter::default()
    };
    check(share("home"), &["strasse_ad", "laptop"]).await;
    check(share("Home"), &["Strasse_local"]).await;
    check(share("data"), &["laptop"]).await;
}

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
