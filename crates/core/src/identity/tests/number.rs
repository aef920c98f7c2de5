//! `parse_int_base0` against Python's `int(x, 0)`.

use super::*;

#[test]
fn python_int_base0_edge_cases() {
    let cases: [(&str, Option<u64>); 30] = [
        ("0", Some(0)),
        ("00", Some(0)),
        ("0_0", Some(0)),
        ("07", None),
        ("0_7", None),
        ("0x_1f", Some(31)),
        ("0X1F", Some(31)),
        ("0o17", Some(15)),
        ("0O_7", Some(7)),
        ("0b1_01", Some(5)),
        ("0B11", Some(3)),
        ("0b2", None),
        ("0x", None),
        ("0x_", None),
        ("0x__1", None),
        ("1__0", None),
        ("_1", None),
        ("1_", None),
        ("1_000", Some(1000)),
        (" 42 ", Some(42)),
        (" \t0b11\n", Some(3)),
        ("+5", Some(5)),
        ("+ 5", None),
        ("++5", None),
        ("-5", None),
        ("-0", None),
        ("18446744073709551615", Some(u64::MAX)),
        ("18446744073709551616", None),
        ("0x1_0000_0000_0000_0000", None),
        ("1e3", None),
    ];
    for (input, expected) in cases {
        assert_eq!(parse_int_base0(input), expected, "{input:?}");
    }
    assert_eq!(parse_int_base0(""), None);
    assert_eq!(parse_int_base0("   "), None);
    assert_eq!(parse_int_base0("+"), None);
    // Non-ASCII digits (Python would take these) are refused.
    assert_eq!(parse_int_base0("\u{661}\u{662}"), None);
}
