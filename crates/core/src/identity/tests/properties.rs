//! Properties of the whole grammar (proptest).

use super::*;
use proptest::prelude::*;

proptest! {
    #[test]
    fn parse_never_panics_on_any_string(s in ".*") {
        let _ = parse_identity(&s);
    }

    #[test]
    fn parse_never_panics_on_printable_strings(s in "\\PC*") {
        let _ = parse_identity(&s);
    }

    #[test]
    fn parse_never_panics_near_the_grammar(
        s in "(?i)(local|world|ldap_user|ldap_group|ad|uid|gid|auth_id|sid|name|x)?:? ?\
              [sS0-9xob_+-]{0,24}"
    ) {
        let _ = parse_identity(&s);
    }

    #[test]
    fn uid_and_gid_round_trip(n in any::<u32>()) {
        prop_assert_eq!(parse_identity(&format!("uid:{n}")), Ok(IdentityQuery::Uid(n)));
        prop_assert_eq!(parse_identity(&format!("gid:{n}")), Ok(IdentityQuery::Gid(n)));
        prop_assert_eq!(parse_identity(&format!("UID:{n:#x}")), Ok(IdentityQuery::Uid(n)));
    }

    #[test]
    fn uid_above_u32_is_an_error(n in (u64::from(u32::MAX) + 1)..=u64::MAX) {
        let is_bad_number = matches!(
            parse_identity(&format!("uid:{n}")),
            Err(IdentityError::BadNumber { kind: "uid", .. })
        );
        prop_assert!(is_bad_number);
    }

    #[test]
    fn auth_id_round_trips(n in any::<u64>()) {
        prop_assert_eq!(parse_identity(&format!("auth_id:{n}")), Ok(IdentityQuery::AuthId(n)));
        prop_assert_eq!(
            parse_identity(&format!("auth_id:{n:#x}")),
            Ok(IdentityQuery::AuthId(n))
        );
    }

    #[test]
    fn generated_sids_parse_bare_and_typed(
        s in "[sS]-1-[0-9]{1,12}(-[0-9]{1,12}){1,6}"
    ) {
        let expected = Ok(IdentityQuery::Sid(s.to_uppercase()));
        prop_assert!(is_sid(&s));
        prop_assert_eq!(parse_identity(&s), expected.clone());
        prop_assert_eq!(parse_identity(&format!("sid:{s}")), expected.clone());
        prop_assert_eq!(parse_identity(&format!("ad:{s}")), expected);
    }

    #[test]
    fn generated_names_parse(n in "\\p{L}[\\p{L}\\p{N}._-]{0,30}") {
        prop_assert_eq!(
            parse_identity(&format!("ad:{n}")),
            if is_sid(&n) {
                Ok(IdentityQuery::Sid(n.to_uppercase()))
            } else {
                Ok(IdentityQuery::Name {
                    domain: Some(Domain::ActiveDirectory),
                    folded: fold(&n),
                })
            }
        );
        prop_assert_eq!(
            parse_identity(&n),
            if is_sid(&n) {
                Ok(IdentityQuery::Sid(n.to_uppercase()))
            } else {
                Ok(IdentityQuery::Name { domain: None, folded: fold(&n) })
            }
        );
        prop_assert_eq!(
            parse_identity(&format!("name:{n}")),
            Ok(IdentityQuery::Name { domain: None, folded: fold(&n) })
        );
    }

    #[test]
    fn letter_names_are_never_sids(n in "[a-zA-Z]{1,30}") {
        prop_assert_eq!(
            parse_identity(&format!("ad:{n}")),
            Ok(IdentityQuery::Name {
                domain: Some(Domain::ActiveDirectory),
                folded: fold(&n),
            })
        );
        prop_assert_eq!(
            parse_identity(&n),
            Ok(IdentityQuery::Name { domain: None, folded: n.to_lowercase() })
        );
    }

    #[test]
    fn parse_int_base0_agrees_with_formatting(n in any::<u64>()) {
        for text in [
            format!("{n}"),
            format!("{n:#x}"),
            format!("0X{n:X}"),
            format!("{n:#o}"),
            format!("0O{n:o}"),
            format!("{n:#b}"),
            format!("0B{n:b}"),
            format!(" +{n} "),
        ] {
            prop_assert_eq!(parse_int_base0(&text), Some(n), "{}", text);
        }
    }

    #[test]
    fn parse_int_base0_accepts_grouped_digits(n in any::<u64>()) {
        // Group decimal digits in threes with underscores, as Python literals often are.
        let digits = n.to_string();
        let grouped: String = digits
            .chars()
            .rev()
            .enumerate()
            .flat_map(|(i, c)| {
                let sep = (i > 0 && i % 3 == 0).then_some('_');
                sep.into_iter().chain(std::iter::once(c))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        prop_assert_eq!(parse_int_base0(&grouped), Some(n), "{}", grouped);
    }

    #[test]
    fn parse_int_base0_never_panics(s in "\\PC{0,40}") {
        let _ = parse_int_base0(&s);
    }

    #[test]
    fn fold_is_idempotent(s in "\\PC{0,40}") {
        let once = fold(&s);
        prop_assert_eq!(fold(&once), once);
    }

    #[test]
    fn hashed_auth_ids_stay_in_their_range(n in "\\PC{1,40}") {
        let mut u = user(Domain::ActiveDirectory);
        u.name = Some(n);
        let id = derive_auth_id(&u);
        prop_assert!(((5u64 << 32)..(6u64 << 32)).contains(&id));
    }
}
