//! The filters the cases run: shorthands for identity and originator filters, one filter per
//! field and value worth checking (plus combinations), and the current-operation filters.

use super::population::Population;
use crate::fixtures::{at, OP_NAMESPACES, OP_PIVOT, OP_PLAN_SUMMARIES, OP_TYPES};
use sessiond_core::filter::{OriginatorFilter, SessionFilter};
use sessiond_core::identity::parse_identity;
use sessiond_core::SessionKind;

pub(super) fn identity(s: &str) -> SessionFilter {
    SessionFilter {
        identity: Some(parse_identity(s).unwrap_or_else(|e| panic!("identity {s:?}: {e}"))),
        ..SessionFilter::default()
    }
}

pub(super) fn originator(s: &str) -> SessionFilter {
    SessionFilter {
        originator: Some(OriginatorFilter::parse(s).unwrap_or_else(|| panic!("originator {s}"))),
        ..SessionFilter::default()
    }
}

/// One filter per field and value worth checking, plus combinations.
pub(super) fn filters(p: &Population) -> Vec<SessionFilter> {
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
pub(super) fn pivot(nanos: i64) -> sessiond_core::Timestamp {
    sessiond_core::Timestamp(OP_PIVOT.0 + nanos)
}

/// The current-operation filters: every field alone (values present in the population and
/// near misses in case, Unicode and whitespace), start-time bounds around and on the pivot,
/// and the combinations DDS asks for (a node's `mongodb` sessions) or that put them on
/// another index as residual conditions.
pub(super) fn operation_filters() -> Vec<SessionFilter> {
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
