//! The randomised data set the reference and count/max cases run over: a few hundred varied
//! sessions (identities, originators, shares, services, nodes, operations) over three tenants,
//! a quarter of them ended and some touched, with the stored form each must read back as.

use crate::fixtures::{
    at, end_info, ended, hash_of, place, session, varied_activity, Ids, Rng, T0,
};
use sessiond_core::identity::WORLD_AUTH_ID;
use sessiond_core::store::Touch;
use sessiond_core::{
    Domain, HumanDuration, Session, SessionKind, SessionState, Store, TenantId, User,
};
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

pub(super) fn user(domain: Domain, name: Option<&str>, sid: Option<&str>) -> User {
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
pub(super) struct Population {
    pub expected: Vec<Session>,
    pub tenants: [TenantId; 3],
}

/// Builds `n` varied sessions over three tenants, ends a quarter of them (all three end
/// states) and touches some, keeping the expected stored form of each.
pub(super) async fn populate(store: &dyn Store, n: usize, seed: u64) -> Population {
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
            .insert_session(&s, &hash_of(&s.id), s.expires_at(), None)
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
