//! `derive_auth_id` and `fnv1a32`.

use super::*;

#[test]
fn derive_auth_id_posix_and_world() {
    let mut u = user(Domain::PosixUser);
    u.uid = Some(1001);
    u.gid = Some(100);
    assert_eq!(derive_auth_id(&u), 12_884_902_889); // (3<<32)+1001

    let mut g = user(Domain::PosixGroup);
    g.gid = Some(100);
    g.uid = Some(7);
    assert_eq!(derive_auth_id(&g), 17_179_869_284); // (4<<32)+100

    let mut w = user(Domain::World);
    w.name = Some("Everyone".into());
    w.uid = Some(5);
    assert_eq!(derive_auth_id(&w), 0x2_0000_0000);
}

#[test]
fn derive_auth_id_uid_or_gid_in_any_domain() {
    let mut a = user(Domain::ActiveDirectory);
    a.name = Some("alice".into());
    a.uid = Some(5);
    assert_eq!(derive_auth_id(&a), (3 << 32) + 5);

    let mut l = user(Domain::Local);
    l.gid = Some(7);
    assert_eq!(derive_auth_id(&l), (4 << 32) + 7);

    // A POSIX group that only has a uid still gets the uid range.
    let mut g = user(Domain::PosixGroup);
    g.uid = Some(9);
    assert_eq!(derive_auth_id(&g), (3 << 32) + 9);
}

#[test]
fn derive_auth_id_hashes_sid_or_folded_name() {
    // Expected values computed independently (Python FNV-1a over the UTF-8 bytes).
    let mut a = user(Domain::ActiveDirectory);
    a.sid = Some("S-1-5-21-1-2-3".into());
    a.name = Some("Alice".into());
    // fnv1a32("ACTIVE_DIRECTORY:s-1-5-21-1-2-3") = 0xbb6543cb: the SID wins over the name.
    assert_eq!(derive_auth_id(&a), (5 << 32) + 0xbb65_43cb);
    assert_eq!(derive_auth_id(&a), 24_618_812_363);

    let mut b = user(Domain::ActiveDirectory);
    b.name = Some("ALICE".into());
    // fnv1a32("ACTIVE_DIRECTORY:alice") = 0x1708cc1d
    assert_eq!(derive_auth_id(&b), (5 << 32) + 0x1708_cc1d);

    let mut l = user(Domain::Local);
    l.name = Some("Alice".into());
    // fnv1a32("LOCAL:alice") = 0x5c75663e
    assert_eq!(derive_auth_id(&l), (5 << 32) + 0x5c75_663e);

    let mut s1 = user(Domain::Local);
    s1.name = Some("Straße".into());
    let mut s2 = user(Domain::Local);
    s2.name = Some("STRASSE".into());
    // fnv1a32("LOCAL:strasse") = 0x4bd595a9
    assert_eq!(derive_auth_id(&s1), (5 << 32) + 0x4bd5_95a9);
    assert_eq!(derive_auth_id(&s1), derive_auth_id(&s2));

    // Nothing to hash but the domain (only reachable for a user normalize_user rejects).
    // fnv1a32("API_NULL_DOMAIN:") = 0x3faa36f8
    assert_eq!(
        derive_auth_id(&user(Domain::ApiNullDomain)),
        (5 << 32) + 0x3faa_36f8
    );
}

#[test]
fn fnv1a32_reference_vectors() {
    assert_eq!(fnv1a32(b""), 0x811c_9dc5);
    assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
    assert_eq!(fnv1a32(b"foobar"), 0xbf9c_f968);
}
