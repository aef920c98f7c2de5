//! `fold`: full Unicode case folding.

use super::*;

#[test]
fn fold_is_full_unicode_case_folding() {
    assert_eq!(fold("ß"), fold("SS"));
    assert_eq!(fold("Straße"), "strasse");
    assert_eq!(fold("Σ"), fold("σ"));
    assert_eq!(fold("ς"), fold("σ"));
    assert_eq!(fold("ΟΔΥΣΣΕΥΣ"), fold("οδυσσευς"));
    // KELVIN SIGN folds to a plain k.
    assert_eq!(fold("\u{212a}"), "k");
    assert_eq!(fold("\u{212a}elvin"), fold("KELVIN"));
    assert_eq!(fold("Alice"), "alice");
}
