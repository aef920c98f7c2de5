//! Hand-written identity, originator and share expectations, independent of
//! `SessionFilter::matches`.

use super::filter_sets::{identity, originator};
use super::population::user;
use crate::fixtures::{ids_of, session, walk, Ids, T0};
use sessiond_core::filter::SessionFilter;
use sessiond_core::{Domain, SessionId, Store, User};
use std::collections::BTreeMap;
use std::sync::Arc;

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
