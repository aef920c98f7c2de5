//! Numbers in identities (`uid:0x3e9`, `auth_id:1_001`), read like Python's `int(x, 0)`.

/// Parses like Python's `int(x, 0)`: optional surrounding whitespace, optional `+`, prefixes
/// `0x`/`0o`/`0b` (any case), underscores allowed singly between digits (not leading or trailing,
/// not doubled, but allowed right after the base prefix as Python does), decimal literals may not
/// have leading zeros unless all zeros (`0`, `00` ok, `07` not); negative numbers and overflow
/// give `None`.
///
/// Two deliberate narrowings of Python: digits are ASCII only (Python also takes e.g. Arabic-
/// Indic digits), and any '-' sign is refused, even on `-0`, since an id written with a
/// minus is a mistake whatever its value.
pub fn parse_int_base0(s: &str) -> Option<u64> {
    let s = s.trim();
    let s = s.strip_prefix('+').unwrap_or(s);
    let radix = match s.as_bytes() {
        [b'0', b'x' | b'X', ..] => Some(16),
        [b'0', b'o' | b'O', ..] => Some(8),
        [b'0', b'b' | b'B', ..] => Some(2),
        _ => None,
    };
    if let Some(radix) = radix {
        // The first two bytes are ASCII, so slicing at 2 is on a char boundary.
        return parse_digits(&s[2..], radix, true);
    }
    let value = parse_digits(s, 10, false)?;
    // Python refuses decimal leading zeros ("07") because they once meant octal; a literal
    // made only of zeros ("00", "0_0") stays valid.
    if s.starts_with('0') && value != 0 {
        return None;
    }
    Some(value)
}

/// Digits of `radix` with Python's underscore rules; `underscore_first` allows one underscore
/// before the first digit, which Python permits right after a base prefix (`0x_1f`).
fn parse_digits(s: &str, radix: u32, underscore_first: bool) -> Option<u64> {
    let mut value: u64 = 0;
    let mut seen_digit = false;
    let mut after_underscore = false;
    for c in s.chars() {
        if c == '_' {
            if after_underscore || (!seen_digit && !underscore_first) {
                return None;
            }
            after_underscore = true;
            continue;
        }
        // to_digit accepts ASCII only, which also rejects signs and inner whitespace.
        let digit = c.to_digit(radix)?;
        value = value
            .checked_mul(u64::from(radix))?
            .checked_add(u64::from(digit))?;
        seen_digit = true;
        after_underscore = false;
    }
    (seen_digit && !after_underscore).then_some(value)
}
