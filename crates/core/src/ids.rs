//! Monotonic ULID generation: time-ordered session ids that never go backwards in-process.

use crate::domain::SessionId;
use crate::time::Timestamp;

/// Remembers the last id so that ids made within one millisecond (or while the clock steps
/// back) still increase: the random part is incremented instead of redrawn.
#[derive(Debug, Default)]
pub struct IdGen {
    last: Option<(u64, u128)>,
}

const RANDOM_BITS: u32 = 80;
const RANDOM_MASK: u128 = (1u128 << RANDOM_BITS) - 1;

impl IdGen {
    pub fn next(&mut self, now: Timestamp) -> Result<SessionId, getrandom::Error> {
        let ms = u64::try_from(now.millis()).unwrap_or(0);
        let (ms, rand) = match self.last {
            Some((last_ms, last_rand)) if ms <= last_ms => {
                if last_rand >= RANDOM_MASK {
                    (last_ms + 1, random80()?)
                } else {
                    (last_ms, last_rand + 1)
                }
            }
            _ => (ms, random80()?),
        };
        self.last = Some((ms, rand));
        Ok(SessionId::from_ulid(ulid::Ulid::from_parts(ms, rand)))
    }
}

fn random80() -> Result<u128, getrandom::Error> {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b[6..])?;
    // Leave headroom (top bit clear) so that increments within a millisecond do not spill.
    Ok(u128::from_be_bytes(b) & (RANDOM_MASK >> 1))
}

/// `n` random bytes as lowercase hex: names that need only differ (a replica's lease holder,
/// a verification's or a test message's id), never secrets.
pub fn random_hex(n: usize) -> Result<String, getrandom::Error> {
    let mut b = vec![0u8; n];
    getrandom::getrandom(&mut b)?;
    Ok(hex(&b))
}

/// Bytes as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_increase_within_a_millisecond_and_when_clock_steps_back() {
        let mut g = IdGen::default();
        let t = Timestamp(1_795_392_000_000_000_000);
        let a = g.next(t).expect("id");
        let b = g.next(t).expect("id");
        let c = g.next(Timestamp(t.0 - 5_000_000)).expect("id");
        let d = g.next(Timestamp(t.0 + 1_000_000)).expect("id");
        assert!(a < b && b < c && c < d, "{a} {b} {c} {d}");
        assert_eq!(a.as_str().len(), 26);
    }
}
