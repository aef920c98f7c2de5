//! The key file (`--key-file`, made by `sessiond admin keygen`): the secrets every replica of
//! one store must share — the confirm key of dry runs and the seal key of access-key secrets —
//! kept out of the store they protect (a copy of Redis or of the database yields neither).

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

/// The shared secrets, 32 bytes each.
#[derive(Clone, PartialEq, Eq)]
pub struct Keys {
    pub confirm: [u8; 32],
    pub seal: [u8; 32],
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
    Ok(Keys { confirm, seal })
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
    let body = toml::to_string(&OnDisk {
        confirm_key: hex(&confirm),
        access_key_seal_key: hex(&seal),
    })
    .map_err(|e| write_err(e.to_string()))?;
    let text = format!(
        "# sessiond key file: give every replica of one store this same file (--key-file).\n\
         # Keep it secret and out of the store: it signs dry-run confirms and seals access keys.\n{body}"
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
