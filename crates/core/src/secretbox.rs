//! Sealing secrets at rest (access-key secrets): XChaCha20-Poly1305 with a random nonce and
//! the owning record's id as associated data, so a sealed value cannot be moved to another
//! record and still open.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

const NONCE: usize = 24;

/// The 256-bit key that seals secrets; kept outside the store (a 0600 file in the data dir).
#[derive(Clone)]
pub struct SealKey([u8; 32]);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("random source failed")]
    Random,
    #[error("sealing failed")]
    Seal,
    /// Wrong key, tampered data, or data sealed for another record.
    #[error("sealed secret cannot be opened")]
    Open,
}

impl SealKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        SealKey(bytes)
    }

    pub fn seal(&self, plaintext: &[u8], record_id: &str) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE];
        getrandom::getrandom(&mut nonce).map_err(|_| SealError::Random)?;
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let ct = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: record_id.as_bytes(),
                },
            )
            .map_err(|_| SealError::Seal)?;
        let mut out = Vec::with_capacity(NONCE + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    pub fn open(&self, sealed: &[u8], record_id: &str) -> Result<Vec<u8>, SealError> {
        if sealed.len() < NONCE {
            return Err(SealError::Open);
        }
        let (nonce, ct) = sealed.split_at(NONCE);
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: record_id.as_bytes(),
                },
            )
            .map_err(|_| SealError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_the_key_and_for_their_record() {
        let k = SealKey::new([3; 32]);
        let sealed = k.seal(b"secret", "AK1").expect("seal");
        assert!(
            !sealed.windows(6).any(|w| w == b"secret"),
            "ciphertext, not plaintext"
        );
        assert_eq!(k.open(&sealed, "AK1").expect("open"), b"secret");
        assert_eq!(k.open(&sealed, "AK2"), Err(SealError::Open));
        assert_eq!(
            SealKey::new([4; 32]).open(&sealed, "AK1"),
            Err(SealError::Open)
        );
        let mut bad = sealed.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(k.open(&bad, "AK1"), Err(SealError::Open));
        assert_eq!(k.open(b"short", "AK1"), Err(SealError::Open));
        assert_ne!(
            k.seal(b"secret", "AK1").expect("seal"),
            sealed,
            "fresh nonce each time"
        );
    }
}
