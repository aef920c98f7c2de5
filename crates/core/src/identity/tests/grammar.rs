//! `parse_identity`: prefixes, names, typed ids, SIDs, WORLD, refusals; `is_sid`.

use super::*;

#[test]
fn domain_prefixes_select_the_domain() {
    let cases = [
        ("local:alice", Domain::Local),
        ("Local:alice", Domain::Local),
        ("ldap_user:alice", Domain::PosixUser),
        ("LDAP_USER:alice", Domain::PosixUser),
        ("ldap_group:staff", Domain::PosixGroup),
        ("Ldap_Group:staff", Domain::PosixGroup),
        ("ad:alice", Domain::ActiveDirectory),
        ("AD:alice", Domain::ActiveDirectory),
    ];
    for (input, domain) in cases {
        let value = &input[input.find(':').map_or(0, |i| i + 1)..];
        assert_eq!(
            parse_identity(input),
            Ok(name(Some(domain), value)),
            "{input}"
        );
    }
}

#[test]
fn names_are_folded() {
    assert_eq!(
        parse_identity("ad:Alice"),
        Ok(IdentityQuery::Name {
            domain: Some(Domain::ActiveDirectory),
            folded: "alice".into()
        })
    );
    assert_eq!(
        parse_identity("STRASSE"),
        Ok(IdentityQuery::Name {
            domain: None,
            folded: "strasse".into()
        })
    );
    assert_eq!(parse_identity("Straße"), parse_identity("STRASSE"));
}

#[test]
fn sid_shaped_value_after_domain_prefix_is_a_sid() {
    assert_eq!(
        parse_identity("ad:s-1-5-21-1-2-3"),
        Ok(sid("S-1-5-21-1-2-3"))
    );
    assert_eq!(
        parse_identity("local:S-1-5-32-544"),
        Ok(sid("S-1-5-32-544"))
    );
}

#[test]
fn typed_ids() {
    assert_eq!(parse_identity("uid:1001"), Ok(IdentityQuery::Uid(1001)));
    assert_eq!(parse_identity("UID:1_000"), Ok(IdentityQuery::Uid(1000)));
    assert_eq!(parse_identity("uid:0x10"), Ok(IdentityQuery::Uid(16)));
    assert_eq!(
        parse_identity("uid:4294967295"),
        Ok(IdentityQuery::Uid(u32::MAX))
    );
    assert_eq!(parse_identity("gid:100"), Ok(IdentityQuery::Gid(100)));
    assert_eq!(parse_identity("GID:0b101"), Ok(IdentityQuery::Gid(5)));
    assert_eq!(
        parse_identity("auth_id:0x200000000"),
        Ok(IdentityQuery::AuthId(WORLD_AUTH_ID))
    );
    assert_eq!(
        parse_identity("auth_id:513"),
        Ok(IdentityQuery::AuthId(513))
    );
    assert_eq!(
        parse_identity("AUTH_ID:0X1F"),
        Ok(IdentityQuery::AuthId(31))
    );
    assert_eq!(
        parse_identity("auth_id:18446744073709551615"),
        Ok(IdentityQuery::AuthId(u64::MAX))
    );
    assert_eq!(
        parse_identity("sid:S-1-5-21-1-2-3"),
        Ok(sid("S-1-5-21-1-2-3"))
    );
    assert_eq!(
        parse_identity("SID:s-1-5-21-1-2-3"),
        Ok(sid("S-1-5-21-1-2-3"))
    );
    assert_eq!(parse_identity("name:bob"), Ok(name(None, "bob")));
    assert_eq!(parse_identity("NAME:Bob"), Ok(name(None, "bob")));
}

#[test]
fn bad_numbers_are_errors() {
    let bad = |kind: &'static str, value: &str| {
        Err(IdentityError::BadNumber {
            kind,
            value: value.into(),
        })
    };
    assert_eq!(parse_identity("uid:-1"), bad("uid", "-1"));
    assert_eq!(parse_identity("uid:4294967296"), bad("uid", "4294967296"));
    assert_eq!(parse_identity("gid:abc"), bad("gid", "abc"));
    assert_eq!(parse_identity("uid:07"), bad("uid", "07"));
    assert_eq!(
        parse_identity("auth_id:18446744073709551616"),
        bad("auth_id", "18446744073709551616")
    );
    assert_eq!(parse_identity("auth_id:0x"), bad("auth_id", "0x"));
}

#[test]
fn sids_bare_and_typed() {
    assert_eq!(parse_identity("s-1-1-0"), Ok(sid(EVERYONE_SID)));
    assert_eq!(parse_identity("S-1-1-0"), Ok(sid(EVERYONE_SID)));
    assert_eq!(
        parse_identity("  S-1-5-21-9-8-7-1001 "),
        Ok(sid("S-1-5-21-9-8-7-1001"))
    );
    assert_eq!(
        parse_identity("sid:S-1"),
        Err(IdentityError::BadSid("S-1".into()))
    );
    assert_eq!(
        parse_identity("sid:S-1-5"),
        Err(IdentityError::BadSid("S-1-5".into()))
    );
    assert_eq!(
        parse_identity("sid:bob"),
        Err(IdentityError::BadSid("bob".into()))
    );
    // Too few groups for a SID: just a name.
    assert_eq!(parse_identity("S-1-5"), Ok(name(None, "s-1-5")));
    // `name:` forces a name even when the value looks like a SID.
    assert_eq!(parse_identity("name:S-1-1-0"), Ok(name(None, "s-1-1-0")));
}

#[test]
fn world_only_accepts_everyone() {
    let world = Ok(IdentityQuery::AuthId(WORLD_AUTH_ID));
    assert_eq!(parse_identity("world:Everyone"), world);
    assert_eq!(parse_identity("WORLD:everyone"), world);
    assert_eq!(parse_identity("World:EVERYONE"), world);
    assert_eq!(parse_identity("world:S-1-1-0"), world);
    assert_eq!(parse_identity("world:s-1-1-0"), world);
    assert_eq!(
        parse_identity("world:bob"),
        Err(IdentityError::WorldOnlyEveryone("bob".into()))
    );
    assert_eq!(
        parse_identity("world:S-1-5-21-1-2-3"),
        Err(IdentityError::WorldOnlyEveryone("S-1-5-21-1-2-3".into()))
    );
}

#[test]
fn unknown_prefix_and_empty_values() {
    assert_eq!(
        parse_identity("foo:bar"),
        Err(IdentityError::UnknownPrefix("foo".into()))
    );
    assert_eq!(
        parse_identity(":bar"),
        Err(IdentityError::UnknownPrefix("".into()))
    );
    assert_eq!(
        parse_identity("DOMAIN\\a:b"),
        Err(IdentityError::UnknownPrefix("DOMAIN\\a".into()))
    );
    // A look-alike of `sid` (long s, U+017F) is not the keyword.
    assert_eq!(
        parse_identity("\u{17f}id:S-1-1-0"),
        Err(IdentityError::UnknownPrefix("\u{17f}id".into()))
    );
    assert_eq!(
        parse_identity("local:"),
        Err(IdentityError::EmptyValue("local".into()))
    );
    assert_eq!(
        parse_identity("UID:  "),
        Err(IdentityError::EmptyValue("UID".into()))
    );
    assert_eq!(
        parse_identity("name:"),
        Err(IdentityError::EmptyValue("name".into()))
    );
    assert_eq!(parse_identity("name:a:b"), Ok(name(None, "a:b")));
    assert_eq!(
        parse_identity("ad:a:b"),
        Ok(name(Some(Domain::ActiveDirectory), "a:b"))
    );
}

#[test]
fn whitespace_length_and_control_chars() {
    assert_eq!(parse_identity(""), Err(IdentityError::Empty));
    assert_eq!(parse_identity("   \t\n"), Err(IdentityError::Empty));
    assert_eq!(parse_identity("  ad: alice  "), parse_identity("ad:alice"));
    assert_eq!(parse_identity("bob smith"), Ok(name(None, "bob smith")));
    let long = "a".repeat(MAX_IDENTITY_BYTES + 1);
    assert_eq!(
        parse_identity(&long),
        Err(IdentityError::TooLong {
            len: MAX_IDENTITY_BYTES + 1,
            max: MAX_IDENTITY_BYTES
        })
    );
    let limit = "a".repeat(MAX_IDENTITY_BYTES);
    assert_eq!(parse_identity(&limit), Ok(name(None, &limit)));
    assert_eq!(
        parse_identity("bob\0"),
        Err(IdentityError::ControlChar("bob\0".into()))
    );
    assert_eq!(
        parse_identity("ad:a\tb"),
        Err(IdentityError::ControlChar("ad:a\tb".into()))
    );
    assert_eq!(
        parse_identity("a\u{85}b"),
        Err(IdentityError::ControlChar("a\u{85}b".into()))
    );
}

#[test]
fn error_messages_name_the_input() {
    let msg = |s: &str| parse_identity(s).map_err(|e| e.to_string()).err();
    assert!(msg("foo:bar").is_some_and(|m| m.contains("\"foo\"") && m.contains("name:")));
    assert!(msg("uid:-1").is_some_and(|m| m.contains("uid") && m.contains("\"-1\"")));
    assert!(msg("sid:S-1").is_some_and(|m| m.contains("\"S-1\"")));
    assert!(msg("world:bob").is_some_and(|m| m.contains("\"bob\"")));
    assert!(msg("local:").is_some_and(|m| m.contains("\"local:\"")));
}

#[test]
fn sid_shape() {
    assert!(is_sid("S-1-1-0"));
    assert!(is_sid("s-1-5-21-1-2-3"));
    assert!(!is_sid("S-1-1"));
    assert!(!is_sid("S-1-1-"));
    assert!(!is_sid("S--1-1-0"));
    assert!(!is_sid("S-1-1-0-x"));
    assert!(!is_sid(" S-1-1-0"));
    assert!(!is_sid("SID-1-1-0"));
    assert!(!is_sid("S-1-\u{661}-0"));
    assert!(!is_sid(""));
}
