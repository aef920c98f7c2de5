//! The key file (`--key-file`, made by `sessiond admin keygen`): the secrets every replica of
//! one store must share — the confirm key of dry runs, the seal key of access-key secrets and
//! the RSA key that signs Shared Signals (SSF) events — kept out of the store they protect (a
//! copy of Redis or of the database yields none of them).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use rsa::pkcs8::EncodePrivateKey;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read key file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid key file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("key file {path} is readable by others (mode {mode:o}); chmod 600 it")]
    Permissions { path: PathBuf, mode: u32 },
    #[error("{path} exists; refusing to overwrite a key file (replicas would stop agreeing)")]
    Exists { path: PathBuf },
    #[error("cannot write key file {path}: {message}")]
    Write { path: PathBuf, message: String },
}

/// The size of the event-signing key: what RS256 receivers expect, and no slower to use.
pub const EVENT_SIGNING_KEY_BITS: usize = 2048;

/// The shared secrets: two 32-byte keys and the event-signing key.
#[derive(Clone, PartialEq, Eq)]
pub struct Keys {
    pub confirm: [u8; 32],
    pub seal: [u8; 32],
    /// RSA private key, PKCS#8 DER, that signs SSF Security Event Tokens
    /// (`sessiond_delivery::signer::EventSigner::from_pkcs8`); checked usable when read.
    pub event_signing_key: Vec<u8>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys { .. }")
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OnDisk {
    confirm_key: String,
    access_key_seal_key: String,
    /// Base64 (standard) of the PKCS#8 DER, one line. Optional here only so that a file from
    /// before it gets our message instead of serde's "missing field".
    event_signing_key: Option<String>,
}

/// A new RSA event-signing key as PKCS#8 DER, from the OS's random source. The `rsa` crate
/// only generates it; signing is ring's (`sessiond_delivery::signer`).
pub fn new_event_signing_key() -> Result<Vec<u8>, rsa::Error> {
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, EVENT_SIGNING_KEY_BITS)?;
    Ok(key.to_pkcs8_der()?.as_bytes().to_vec())
}

fn hex(b: &[u8; 32]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Reads a key file; refuses one that others may read.
pub fn read(path: &Path) -> Result<Keys, KeyFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Read {
        path: path.into(),
        source,
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(path) {
            let mode = m.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyFileError::Permissions {
                    path: path.into(),
                    mode,
                });
            }
        }
    }
    let invalid = |message: String| KeyFileError::Invalid {
        path: path.into(),
        message,
    };
    let d: OnDisk = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    let confirm =
        unhex(&d.confirm_key).ok_or_else(|| invalid("confirm_key must be 64 hex digits".into()))?;
    let seal = unhex(&d.access_key_seal_key)
        .ok_or_else(|| invalid("access_key_seal_key must be 64 hex digits".into()))?;
    if confirm == seal {
        return Err(invalid("the two keys must differ".into()));
    }
    let event_signing_key = d.event_signing_key.ok_or_else(|| {
        invalid(
            "event_signing_key is missing (the key that signs Shared Signals events, added \
             after this file was made): run `sessiond admin keygen --out NEW_FILE` and copy its \
             event_signing_key line into this file, the same line into every replica's copy"
                .into(),
        )
    })?;
    let event_signing_key = BASE64
        .decode(event_signing_key.trim())
        .map_err(|e| invalid(format!("event_signing_key must be base64: {e}")))?;
    // Checked now, so a bad key stops the start instead of the first event.
    sessiond_delivery::signer::EventSigner::from_pkcs8(&event_signing_key)
        .map_err(|e| invalid(format!("event_signing_key: {e}")))?;
    Ok(Keys {
        confirm,
        seal,
        event_signing_key,
    })
}

/// Creates a new key file with fresh random keys (mode 0600); never overwrites one.
pub fn generate(path: &Path) -> Result<(), KeyFileError> {
    if path.exists() {
        return Err(KeyFileError::Exists { path: path.into() });
    }
    let write_err = |message: String| KeyFileError::Write {
        path: path.into(),
        message,
    };
    let mut confirm = [0u8; 32];
    let mut seal = [0u8; 32];
    getrandom::getrandom(&mut confirm).map_err(|e| write_err(e.to_string()))?;
    getrandom::getrandom(&mut seal).map_err(|e| write_err(e.to_string()))?;
    let event_signing_key =
        new_event_signing_key().map_err(|e| write_err(format!("event-signing key: {e}")))?;
    let body = toml::to_string(&OnDisk {
        confirm_key: hex(&confirm),
        access_key_seal_key: hex(&seal),
        event_signing_key: Some(BASE64.encode(&event_signing_key)),
    })
    .map_err(|e| write_err(e.to_string()))?;
    let text = format!(
        "# sessiond key file: give every replica of one store this same file (--key-file).\n\
         # Keep it secret and out of the store: it signs dry-run confirms and Shared Signals\n\
         # events, and seals access keys.\n{body}"
    );
    crate::tls::write_private(path, text.as_bytes()).map_err(|e| write_err(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_files_read_back_and_are_never_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("keys.toml");
        generate(&p).expect("generate");
        let k = read(&p).expect("read");
        assert_ne!(k.confirm, k.seal);
        assert_eq!(read(&p).expect("read again"), k);
        assert!(matches!(generate(&p), Err(KeyFileError::Exists { .. })));
        assert_eq!(format!("{k:?}"), "Keys { .. }", "Debug must not print keys");
        // The event-signing key: one base64 line, RSA-2048, usable by the SSF signer.
        let text = std::fs::read_to_string(&p).expect("text");
        let line = text
            .lines()
            .find(|l| l.starts_with("event_signing_key = \""))
            .expect("one event_signing_key line");
        assert_eq!(
            line,
            format!(
                "event_signing_key = \"{}\"",
                BASE64.encode(&k.event_signing_key)
            )
        );
        let signer = sessiond_delivery::signer::EventSigner::from_pkcs8(&k.event_signing_key)
            .expect("usable key");
        let n = signer.jwks()["keys"][0]["n"]
            .as_str()
            .map(|n| n.len())
            .expect("n");
        assert_eq!(
            n, 342,
            "2048-bit modulus: 256 bytes, 342 base64url characters"
        );
        // Another file gets another key.
        let other = dir.path().join("other.toml");
        generate(&other).expect("generate other");
        assert_ne!(
            read(&other).expect("read other").event_signing_key,
            k.event_signing_key
        );
    }

    #[test]
    fn a_file_without_the_event_signing_key_says_how_to_fix_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("keys.toml");
        let old = format!(
            "confirm_key = \"{}\"\naccess_key_seal_key = \"{}\"\n",
            "01".repeat(32),
            "02".repeat(32)
        );
        crate::tls::write_private(&p, old.as_bytes()).expect("write");
        let e = read(&p).expect_err("no event-signing key");
        let msg = e.to_string();
        assert!(matches!(e, KeyFileError::Invalid { .. }), "{msg}");
        assert!(msg.contains("event_signing_key is missing"), "{msg}");
        assert!(msg.contains("sessiond admin keygen"), "{msg}");
        assert!(msg.contains(&p.display().to_string()), "{msg}");

        let bad = format!("{old}event_signing_key = \"not base64!\"\n");
        crate::tls::write_private(&p, bad.as_bytes()).expect("write");
        let e = read(&p).expect_err("bad base64");
        assert!(e.to_string().contains("must be base64"), "{e}");

        let not_rsa = format!(
            "{old}event_signing_key = \"{}\"\n",
            BASE64.encode([0u8; 64])
        );
        crate::tls::write_private(&p, not_rsa.as_bytes()).expect("write");
        let e = read(&p).expect_err("not a key");
        assert!(
            e.to_string()
                .contains("not a usable PKCS#8 RSA private key"),
            "{e}"
        );
    }

    #[test]
    fn bad_files_are_clear_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("keys.toml");
        crate::tls::write_private(&p, b"confirm_key = \"00\"\naccess_key_seal_key = \"11\"\n")
            .expect("write");
        let e = read(&p).expect_err("short keys");
        assert!(e.to_string().contains("64 hex digits"), "{e}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            generate(&dir.path().join("k2")).expect("generate");
            let k2 = dir.path().join("k2");
            std::fs::set_permissions(&k2, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            assert!(matches!(read(&k2), Err(KeyFileError::Permissions { .. })));
        }
    }
}
