//! Folding names for comparison: full Unicode case folding, the one key every store matches
//! names on.

/// Full Unicode case folding (the `caseless` crate's `default_case_fold_str`), so ß == SS.
///
/// Stores keep this folded copy next to the name because SQLite's NOCASE folds ASCII only and
/// Redis has no collation at all.
pub fn fold(s: &str) -> String {
    caseless::default_case_fold_str(s)
}
