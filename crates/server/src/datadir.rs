//! The data directory: its exclusive lock and the small secrets kept in it.

use sessiond_delivery::signer::EventSigner;
use std::fs::File;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("cannot create data dir {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("data dir {path} is in use by another sessiond process (lock {lock} is held); stop it first or choose another --data-dir")]
    Locked { path: PathBuf, lock: PathBuf },
    #[error("cannot lock {path}: {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is damaged ({detail}): restore it from a backup of the data dir; deleting it makes a new key, and then {consequence}")]
    Damaged {
        path: PathBuf,
        detail: String,
        consequence: &'static str,
    },
}

/// Holds the data dir's lock for as long as it lives (the OS drops it if we crash).
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    _lock: File,
}

impl DataDir {
    /// Creates the directory if needed and takes its lock, failing clearly when another
    /// process holds it.
    pub fn open(path: &Path) -> Result<DataDir, DataDirError> {
        std::fs::create_dir_all(path).map_err(|source| DataDirError::Create {
            path: path.into(),
            source,
        })?;
        let lock_path = path.join("sessiond.lock");
        let f = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| DataDirError::Lock {
                path: lock_path.clone(),
                source,
            })?;
        match f.try_lock() {
            Ok(()) => Ok(DataDir {
                path: path.to_path_buf(),
                _lock: f,
            }),
            Err(std::fs::TryLockError::WouldBlock) => Err(DataDirError::Locked {
                path: path.into(),
                lock: lock_path,
            }),
            Err(std::fs::TryLockError::Error(source)) => Err(DataDirError::Lock {
                path: lock_path,
                source,
            }),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn db_path(&self) -> PathBuf {
        self.path.join("sessiond.db")
    }

    /// The 32-byte key that MACs dry-run confirm tokens, created once (mode 0600) so that a
    /// confirm survives a restart.
    pub fn confirm_key(&self) -> Result<[u8; 32], DataDirError> {
        self.secret_file(
            "confirm.key",
            "dry-run confirmations issued before no longer confirm",
        )
    }

    /// The 32-byte key that seals access-key secrets; kept apart from the database, so a
    /// copy of the database alone yields no usable secret.
    pub fn seal_key(&self) -> Result<[u8; 32], DataDirError> {
        self.secret_file(
            "access-keys.key",
            "every access key's secret is lost (issue new access keys)",
        )
    }

    /// The RSA-2048 private key (PKCS#8 DER) that signs Shared Signals events, created once
    /// (mode 0600) so that its `kid`, and the JWKS receivers have fetched, survive a restart.
    pub fn event_signing_key(&self) -> Result<Vec<u8>, DataDirError> {
        let p = self.path.join("event-signing.key");
        match std::fs::read(&p) {
            Ok(der) if EventSigner::from_pkcs8(&der).is_ok() => return Ok(der),
            // Key files are written whole or not at all (`write_private`), so an unusable one
            // was damaged since: say so rather than silently sign with a new key.
            Ok(der) => {
                return Err(DataDirError::Damaged {
                    path: p,
                    detail: format!("{} bytes, not an RSA private key", der.len()),
                    consequence: "event receivers see a new signing key (kid)",
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(DataDirError::Io { path: p, source }),
        }
        let der = crate::keyfile::new_event_signing_key().map_err(|e| DataDirError::Io {
            path: p.clone(),
            source: std::io::Error::other(format!("cannot generate the event-signing key: {e}")),
        })?;
        crate::tls::write_private(&p, &der).map_err(|e| DataDirError::Io {
            path: p.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        Ok(der)
    }

    /// A 32-byte random secret in the data dir, created once with mode 0600; a file of
    /// another length is reported as damaged (with what replacing it would cost).
    fn secret_file(&self, name: &str, consequence: &'static str) -> Result<[u8; 32], DataDirError> {
        let p = self.path.join(name);
        match std::fs::read(&p) {
            Ok(b) if b.len() == 32 => {
                let mut k = [0u8; 32];
                k.copy_from_slice(&b);
                return Ok(k);
            }
            Ok(b) => {
                return Err(DataDirError::Damaged {
                    path: p,
                    detail: format!("{} bytes, expected 32", b.len()),
                    consequence,
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(DataDirError::Io { path: p, source }),
        }
        let mut k = [0u8; 32];
        getrandom::getrandom(&mut k).map_err(|e| DataDirError::Io {
            path: p.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        crate::tls::write_private(&p, &k).map_err(|e| DataDirError::Io {
            path: p.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        Ok(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_open_of_a_locked_dir_fails_clearly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = DataDir::open(dir.path()).expect("first lock");
        let err = DataDir::open(dir.path()).expect_err("second must fail");
        assert!(
            err.to_string().contains("in use by another sessiond"),
            "{err}"
        );
        let k1 = first.confirm_key().expect("key");
        assert_eq!(first.confirm_key().expect("key again"), k1);
        let s1 = first.seal_key().expect("seal key");
        assert_ne!(s1, k1, "each secret file is its own key");
        assert_eq!(first.seal_key().expect("seal key again"), s1);
        drop(first);
        assert!(DataDir::open(dir.path()).is_ok());
    }

    #[test]
    fn the_event_signing_key_is_made_once_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = DataDir::open(dir.path()).expect("open");
        let der = first.event_signing_key().expect("generate");
        let signer = EventSigner::from_pkcs8(&der).expect("usable key");
        assert_eq!(first.event_signing_key().expect("again"), der);
        drop(first);
        // A restart: same bytes, so the same kid.
        let second = DataDir::open(dir.path()).expect("reopen");
        let again = second.event_signing_key().expect("after restart");
        assert_eq!(again, der);
        assert_eq!(
            EventSigner::from_pkcs8(&again).expect("usable").kid(),
            signer.kid()
        );
        // Every secret file is the owner's only.
        second.confirm_key().expect("confirm key");
        second.seal_key().expect("seal key");
        #[cfg(unix)]
        for name in ["event-signing.key", "confirm.key", "access-keys.key"] {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(name))
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        // A file damaged since (cut short) is reported, not silently replaced: the
        // operator restores it or deletes it knowing the cost.
        std::fs::write(dir.path().join("event-signing.key"), &der[..100]).expect("truncate");
        let err = second.event_signing_key().expect_err("damaged");
        assert!(err.to_string().contains("is damaged"), "{err}");
        assert!(err.to_string().contains("new signing key"), "{err}");
        std::fs::remove_file(dir.path().join("event-signing.key")).expect("delete");
        let replaced = second
            .event_signing_key()
            .expect("a new key after deleting it");
        assert_ne!(replaced, der);
        assert!(EventSigner::from_pkcs8(&replaced).is_ok());
    }

    #[test]
    fn a_damaged_secret_file_is_reported_not_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = DataDir::open(dir.path()).expect("open");
        let seal = d.seal_key().expect("seal key");
        for len in [0usize, 5, 33] {
            std::fs::write(dir.path().join("access-keys.key"), vec![7u8; len]).expect("damage");
            let err = d.seal_key().expect_err("damaged");
            let msg = err.to_string();
            assert!(msg.contains("access-keys.key is damaged"), "{msg}");
            assert!(msg.contains(&format!("{len} bytes, expected 32")), "{msg}");
            assert!(msg.contains("access key"), "{msg}");
        }
        // Restored from a backup: back in service.
        std::fs::write(dir.path().join("access-keys.key"), seal).expect("restore");
        assert_eq!(d.seal_key().expect("restored"), seal);
        // No temporary file is left beside the keys.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .expect("list")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    }
}
