//! Split tokens `<session id>.<verifier>`: 256 random bits shown once, only a SHA-256 kept.

use crate::domain::SessionId;
use crate::store::TokenHash;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

/// A token as handed to its owner once. `Debug` is redacted so it cannot reach a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// 256-bit random value, base64url without padding (43 characters).
pub fn random_b64_256() -> Result<String, getrandom::Error> {
    let mut buf = [0u8; 32];
    getrandom::getrandom(&mut buf)?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// Makes a new token for session `id`, returning it and the hash to store.
pub fn issue(id: &SessionId) -> Result<(Token, TokenHash), getrandom::Error> {
    let verifier = random_b64_256()?;
    let hash = hash_verifier(&verifier);
    Ok((Token(format!("{id}.{verifier}")), hash))
}

pub fn hash_verifier(verifier: &str) -> TokenHash {
    Sha256::digest(verifier.as_bytes()).into()
}

/// Splits a presented token into the session id and its verifier's hash. Anything
/// malformed is simply "no such session": callers must not tell the two apart.
pub fn parse(presented: &str) -> Option<(SessionId, TokenHash)> {
    let (id, verifier) = presented.trim().split_once('.')?;
    if verifier.len() != 43
        || !verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    Some((SessionId::parse(id)?, hash_verifier(verifier)))
}

/// Constant-time comparison of two hashes.
pub fn hashes_equal(a: &TokenHash, b: &TokenHash) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_parse_back_to_their_hash() {
        let id = SessionId::from_ulid(ulid::Ulid::from_parts(5, 9));
        let (tok, hash) = issue(&id).expect("rng");
        let (pid, phash) = parse(tok.expose()).expect("parses");
        assert_eq!(pid, id);
        assert!(hashes_equal(&phash, &hash));
        assert_eq!(format!("{tok:?}"), "Token(<redacted>)");
        let mut bad = tok.expose().to_string();
        bad.pop();
        bad.push(if tok.expose().ends_with('A') {
            'B'
        } else {
            'A'
        });
        let (_, bhash) = parse(&bad).expect("still well-formed");
        assert!(!hashes_equal(&bhash, &hash));
    }

    #[test]
    fn malformed_tokens_are_rejected() {
        for t in [
            "",
            ".",
            "abc",
            "01ARZ3NDEKTSV4RRFFQ69G5FAV.short",
            "nope.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert!(parse(t).is_none(), "{t}");
        }
    }
}
