//! Aligned plain-text tables and `key: value` blocks for human output.

/// Columns are separated by this many spaces.
const GAP: usize = 2;
/// What an empty cell shows, so that columns stay readable and splittable with `awk`.
const EMPTY: &str = "-";

/// A table of text cells, rendered with every column left-aligned to its widest cell.
#[derive(Debug, Default)]
pub(crate) struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new<I, S>(headers: I) -> Table
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Table {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; cells are cleaned of control characters (the data comes from the network
    /// and must not drive the terminal), missing cells show as `-`, extra ones are dropped.
    pub(crate) fn push<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut row: Vec<String> = cells
            .into_iter()
            .take(self.headers.len())
            .map(|c| cell(c.as_ref()))
            .collect();
        row.resize(self.headers.len(), EMPTY.to_owned());
        self.rows.push(row);
    }

    /// The table as lines ending in `\n`, without trailing spaces.
    pub(crate) fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(width(c));
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let mut line = String::new();
            for (i, (c, w)) in row.iter().zip(&widths).enumerate() {
                if i > 0 {
                    line.push_str(&" ".repeat(GAP));
                }
                line.push_str(c);
                line.push_str(&" ".repeat(w.saturating_sub(width(c))));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// `key: value` lines with the values aligned; `None` values are left out.
pub(crate) fn key_values(pairs: &[(&str, Option<String>)]) -> String {
    let present: Vec<(&str, &String)> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (*k, v)))
        .collect();
    let kw = present.iter().map(|(k, _)| width(k)).max().unwrap_or(0);
    let mut out = String::new();
    for (k, v) in present {
        out.push_str(k);
        out.push(':');
        out.push_str(&" ".repeat(kw - width(k) + 1));
        out.push_str(&clean(v));
        out.push('\n');
    }
    out
}

/// Replaces control characters (newlines, ESC…) with `?`: a session's user agent or name is
/// chosen by whoever registered it and must not be able to rewrite the operator's screen.
pub(crate) fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn cell(s: &str) -> String {
    if s.is_empty() {
        EMPTY.to_owned()
    } else {
        clean(s)
    }
}

/// Display width in characters. East Asian wide characters count as one, so such columns may
/// look ragged, but nothing can panic on them (no byte slicing anywhere).
fn width(s: &str) -> usize {
    s.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_aligned_and_lines_have_no_trailing_space() {
        let mut t = Table::new(["ID", "USER", "STATE"]);
        t.push(["1", "LOCAL\\alice", "active"]);
        t.push(["1234", "bob", "terminated"]);
        assert_eq!(
            t.render(),
            "ID    USER         STATE\n\
             1     LOCAL\\alice  active\n\
             1234  bob          terminated\n"
        );
    }

    #[test]
    fn missing_and_empty_cells_show_a_dash() {
        let mut t = Table::new(["A", "B", "C"]);
        t.push(["x", ""]);
        t.push(["y", "z", "w", "extra"]);
        assert_eq!(t.render(), "A  B  C\nx  -  -\ny  z  w\n");
    }

    #[test]
    fn wide_and_multibyte_characters_do_not_panic() {
        let mut t = Table::new(["NAME", "X"]);
        t.push(["日本語のユーザー名", "1"]);
        t.push(["é👩‍💻", "2"]);
        t.push(["ascii", "3"]);
        let r = t.render();
        let lines: Vec<&str> = r.lines().collect();
        assert_eq!(lines.len(), 4);
        // Character-count alignment: the second column starts at the same char index.
        let col = |l: &str| l.chars().position(|c| c.is_ascii_digit() || c == 'X');
        assert_eq!(col(lines[0]), col(lines[3]));
        assert_eq!(col(lines[1]), col(lines[3]));
    }

    #[test]
    fn control_characters_are_neutralised() {
        let mut t = Table::new(["A"]);
        t.push(["evil\x1b[2J\nrow"]);
        let r = t.render();
        assert!(!r.contains('\x1b'));
        assert_eq!(r.lines().count(), 2, "{r}");
    }

    #[test]
    fn header_only_table() {
        let t = Table::new(["ID", "NAME"]);
        assert_eq!(t.render(), "ID  NAME\n");
    }

    #[test]
    fn key_values_align_and_skip_absent() {
        let s = key_values(&[
            ("id", Some("01H".into())),
            ("node", None),
            ("originator", Some("10.0.0.1".into())),
        ]);
        assert_eq!(s, "id:         01H\noriginator: 10.0.0.1\n");
        assert_eq!(key_values(&[]), "");
    }
}
