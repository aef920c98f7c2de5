//! Property tests of the hand-written parsers that face the network (DESIGN.md §8): the
//! Commvault XML reader and the DDS signature verifier never panic on arbitrary input,
//! refuse what they must, and a signature covers every part of the request.

use axum::http::{HeaderMap, HeaderValue};
use proptest::prelude::*;
use sessiond_api::commvault::xml;
use sessiond_api::dds::signing::{
    canonical_query, canonical_uri, parse_authorization, sign, verify, RequestView,
};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn xml_reader_never_panics_on_bytes(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = xml::parse(&body);
    }

    #[test]
    fn xml_reader_never_panics_on_xmlish_text(body in "[<>/=\"' a-zA-Z_!?&;#\\[\\]\n-]{0,400}") {
        let _ = xml::parse(body.as_bytes());
    }

    #[test]
    fn any_doctype_is_refused(prefix in "[ \n]{0,3}", name in "[A-Za-z_]{1,12}", inner in "[a-zA-Z \"']{0,40}") {
        let doc = format!("{prefix}<?xml version=\"1.0\"?><!DOCTYPE {name} [{inner}]><Api_LogoffUsersRequest><sessions val=\"x\"/></Api_LogoffUsersRequest>");
        prop_assert!(xml::parse(doc.as_bytes()).is_err());
    }

    #[test]
    fn authorization_parser_never_panics(v in "\\PC{0,300}") {
        let _ = parse_authorization(&v);
    }

    #[test]
    fn canonical_uri_always_ends_in_a_slash(path in "/[a-zA-Z0-9%/._~ -]{0,80}") {
        prop_assert!(canonical_uri(&path).ends_with('/'));
    }

    #[test]
    fn canonical_query_does_not_depend_on_order(
        pairs in proptest::collection::vec(("[a-z_]{1,8}", "\\PC{0,12}"), 0..8)
    ) {
        let pairs: Vec<(String, String)> = pairs;
        let mut rev = pairs.clone();
        rev.reverse();
        prop_assert_eq!(canonical_query(&pairs), canonical_query(&rev));
    }

    /// What one signs, the verifier accepts; changing any signed part breaks it.
    #[test]
    fn a_signature_covers_method_path_query_and_body(
        body in proptest::collection::vec(any::<u8>(), 0..256),
        seg in "[a-zA-Z0-9_-]{1,16}",
        q in "[a-z0-9]{0,8}",
        flip in any::<prop::sample::Index>(),
    ) {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("127.0.0.1:8000"));
        headers.insert("x-sdk-date", HeaderValue::from_static("20261123T143436Z"));
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        let path = format!("/v3/p/nodes/{seg}/session");
        let query = vec![("offset".to_string(), q.clone())];
        let view = RequestView { method: "POST", raw_path: &path, query: &query, headers: &headers, authority: None, body: &body };
        let secret = b"exampleSecretKey0123456789abcdefghijklmnop";
        let auth = sign("AK", secret, &view).expect("sign");
        let parsed = parse_authorization(&auth).expect("parse");
        prop_assert!(verify(secret, &parsed, &view).is_ok());
        prop_assert!(verify(b"another secret", &parsed, &view).is_err());
        let other = RequestView { method: "GET", ..view };
        prop_assert!(verify(secret, &parsed, &other).is_err());
        let other_path = format!("{path}x");
        let moved = RequestView { raw_path: &other_path, ..view };
        prop_assert!(verify(secret, &parsed, &moved).is_err());
        let other_query = vec![("offset".to_string(), format!("{q}1"))];
        let requeried = RequestView { query: &other_query, ..view };
        prop_assert!(verify(secret, &parsed, &requeried).is_err());
        if !body.is_empty() {
            let mut tampered = body.clone();
            let i = flip.index(tampered.len());
            tampered[i] ^= 0x01;
            let tampered_view = RequestView { body: &tampered, ..view };
            prop_assert!(verify(secret, &parsed, &tampered_view).is_err());
        }
    }
}
