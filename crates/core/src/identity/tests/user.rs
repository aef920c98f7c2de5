//! `normalize_user`.

use super::*;

#[test]
fn normalize_requires_some_identity() {
    let mut u = user(Domain::Local);
    u.full_name = Some("Nobody".into());
    assert_eq!(normalize_user(&mut u), Err(IdentityError::MissingIdentity));
}

#[test]
fn normalize_keeps_a_given_auth_id() {
    let mut u = user(Domain::ActiveDirectory);
    u.auth_id = Some(42);
    assert_eq!(normalize_user(&mut u), Ok(()));
    assert_eq!(u.auth_id, Some(42));

    let mut p = user(Domain::PosixUser);
    p.uid = Some(1001);
    p.auth_id = Some(7);
    assert_eq!(normalize_user(&mut p), Ok(()));
    assert_eq!(p.auth_id, Some(7));
}

#[test]
fn normalize_derives_auth_id_and_upper_cases_sid() {
    // The default domain is LOCAL.
    let mut u = User {
        sid: Some("s-1-5-21-1-2-3".into()),
        ..User::default()
    };
    assert_eq!(normalize_user(&mut u), Ok(()));
    assert_eq!(u.sid.as_deref(), Some("S-1-5-21-1-2-3"));
    // fnv1a32("LOCAL:s-1-5-21-1-2-3") = 0x72c55bee
    assert_eq!(u.auth_id, Some((5 << 32) + 0x72c5_5bee));

    let mut p = user(Domain::PosixUser);
    p.uid = Some(1001);
    p.name = Some("alice".into());
    assert_eq!(normalize_user(&mut p), Ok(()));
    assert_eq!(p.auth_id, Some(12_884_902_889));
}

#[test]
fn normalize_rejects_bad_sids_and_names() {
    let mut s = User {
        sid: Some("S-1-5".into()),
        ..User::default()
    };
    assert_eq!(
        normalize_user(&mut s),
        Err(IdentityError::BadSid("S-1-5".into()))
    );

    let with_name = |n: &str| {
        let mut u = User {
            name: Some(n.to_owned()),
            ..User::default()
        };
        normalize_user(&mut u)
    };
    assert_eq!(with_name(""), Err(IdentityError::EmptyName));
    assert_eq!(with_name(&"é".repeat(MAX_NAME_CHARS)), Ok(()));
    assert_eq!(
        with_name(&"a".repeat(MAX_NAME_CHARS + 1)),
        Err(IdentityError::NameTooLong {
            len: MAX_NAME_CHARS + 1,
            max: MAX_NAME_CHARS
        })
    );
    assert_eq!(
        with_name("a\nb"),
        Err(IdentityError::ControlChar("a\nb".into()))
    );
    assert_eq!(
        with_name(" bob"),
        Err(IdentityError::NameWhitespace(" bob".into()))
    );
    assert_eq!(
        with_name("bob "),
        Err(IdentityError::NameWhitespace("bob ".into()))
    );
    // Colons and inner spaces are fine: `name:a:b` and `bob smith` find them.
    assert_eq!(with_name("a:b"), Ok(()));
    assert_eq!(with_name("bob smith"), Ok(()));
}

#[test]
fn normalize_world_is_only_everyone() {
    let mut w = user(Domain::World);
    w.name = Some("everyone".into());
    w.auth_id = Some(5);
    assert_eq!(normalize_user(&mut w), Ok(()));
    assert_eq!(w.auth_id, Some(WORLD_AUTH_ID));

    let mut ws = user(Domain::World);
    ws.sid = Some("s-1-1-0".into());
    assert_eq!(normalize_user(&mut ws), Ok(()));
    assert_eq!(ws.sid.as_deref(), Some(EVERYONE_SID));
    assert_eq!(ws.auth_id, Some(WORLD_AUTH_ID));

    let mut bob = user(Domain::World);
    bob.name = Some("bob".into());
    assert_eq!(
        normalize_user(&mut bob),
        Err(IdentityError::WorldOnlyEveryone("bob".into()))
    );

    let mut mixed = user(Domain::World);
    mixed.name = Some("Everyone".into());
    mixed.sid = Some("S-1-5-21-1-2-3".into());
    assert_eq!(
        normalize_user(&mut mixed),
        Err(IdentityError::WorldOnlyEveryone("S-1-5-21-1-2-3".into()))
    );

    let mut anonymous = user(Domain::World);
    anonymous.uid = Some(0);
    assert_eq!(
        normalize_user(&mut anonymous),
        Err(IdentityError::WorldNeedsEveryone)
    );
}

#[test]
fn normalized_user_is_found_by_its_filters() {
    // What normalize_user stores must be what parse_identity asks for.
    let mut u = user(Domain::ActiveDirectory);
    u.name = Some("Straße".into());
    u.sid = Some("s-1-5-21-1-2-3".into());
    assert_eq!(normalize_user(&mut u), Ok(()));
    let stored_name = u.name.as_deref().map(fold);
    assert_eq!(
        parse_identity("ad:STRASSE"),
        Ok(IdentityQuery::Name {
            domain: Some(Domain::ActiveDirectory),
            folded: stored_name.unwrap_or_default()
        })
    );
    assert_eq!(
        parse_identity("sid:s-1-5-21-1-2-3"),
        Ok(IdentityQuery::Sid(u.sid.clone().unwrap_or_default()))
    );
    let auth_id = u.auth_id.unwrap_or_default();
    assert_eq!(
        parse_identity(&format!("auth_id:{auth_id:#x}")),
        Ok(IdentityQuery::AuthId(auth_id))
    );
}

#[test]
fn realms_are_checked_and_shown_before_the_name() {
    let mut u = user(Domain::ActiveDirectory);
    u.name = Some("Administrator".into());
    assert_eq!(u.display_name(), "ACTIVE_DIRECTORY\\Administrator");
    u.realm = Some("VSPHERE.LOCAL".into());
    assert_eq!(normalize_user(&mut u), Ok(()));
    assert_eq!(u.display_name(), "VSPHERE.LOCAL\\Administrator");
    // A realm does not change the derived auth_id: ids stay stable when a realm is added.
    let mut plain = user(Domain::ActiveDirectory);
    plain.name = Some("Administrator".into());
    assert_eq!(normalize_user(&mut plain), Ok(()));
    assert_eq!(plain.auth_id, u.auth_id);
    // Without a name the realm has nothing to qualify.
    let mut n = user(Domain::Local);
    n.uid = Some(7);
    n.realm = Some("CORP".into());
    assert_eq!(normalize_user(&mut n), Ok(()));
    assert_eq!(n.display_name(), "uid:7");
    let long = "R".repeat(MAX_REALM_CHARS + 1);
    for bad in ["", "A\\B", " CORP", "CORP ", "CO\nRP", long.as_str()] {
        let mut b = user(Domain::Local);
        b.name = Some("bob".into());
        b.realm = Some(bad.into());
        assert_eq!(
            normalize_user(&mut b),
            Err(IdentityError::BadRealm(bad.into())),
            "{bad:?}"
        );
    }
}
