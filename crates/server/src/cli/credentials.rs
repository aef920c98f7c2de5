//! The saved login: `{server, token, insecure}` in `<config dir>/sessiond/credentials.json`,
//! readable by its owner only.

use super::CliError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Overrides the platform config directory (tests, containers, several profiles).
pub(crate) const CONFIG_DIR_ENV: &str = "SESSIOND_CONFIG_DIR";

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Credentials {
    pub server: String,
    pub token: String,
    #[serde(default)]
    pub insecure: bool,
}

impl fmt::Debug for Credentials {
    // Hand-written so that the token never reaches a log line or a panic message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("server", &self.server)
            .field("insecure", &self.insecure)
            .finish_non_exhaustive()
    }
}

/// `$SESSIOND_CONFIG_DIR/sessiond/credentials.json`, else the platform config directory's.
pub(crate) fn default_path() -> Result<PathBuf, CliError> {
    let base = match std::env::var_os(CONFIG_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => dirs::config_dir().ok_or_else(|| {
            CliError::Io(format!(
                "cannot find a configuration directory; set {CONFIG_DIR_ENV}"
            ))
        })?,
    };
    Ok(path_in(&base))
}

pub(crate) fn path_in(config_dir: &Path) -> PathBuf {
    config_dir.join("sessiond").join("credentials.json")
}

/// The saved login, `None` when there is none.
pub(crate) fn load(path: &Path) -> Result<Option<Credentials>, CliError> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("cannot read", path, &e)),
    };
    warn_if_shared(path);
    serde_json::from_str(&text).map(Some).map_err(|e| {
        CliError::Io(format!(
            "{} is not a valid credentials file ({e}); run `sessiond login` again",
            path.display()
        ))
    })
}

/// Writes the file with mode 0600 (directory 0700), replacing any previous one atomically so
/// that a crash cannot leave half a token behind.
pub(crate) fn save(path: &Path, creds: &Credentials) -> Result<(), CliError> {
    let dir = path
        .parent()
        .ok_or_else(|| CliError::Io(format!("{} has no parent directory", path.display())))?;
    create_private_dir(dir).map_err(|e| io_error("cannot create", dir, &e))?;
    let json = serde_json::to_vec_pretty(creds)
        .map_err(|e| CliError::Io(format!("cannot encode the credentials: {e}")))?;
    let tmp = dir.join(format!(".credentials.json.{}.tmp", std::process::id()));
    let written = write_private(&tmp, &json).and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(io_error("cannot write", path, &e));
    }
    Ok(())
}

/// Deletes the file; `false` when there was none.
pub(crate) fn remove(path: &Path) -> Result<bool, CliError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_error("cannot delete", path, &e)),
    }
}

fn io_error(what: &str, path: &Path, e: &io::Error) -> CliError {
    CliError::Io(format!("{what} {}: {e}", path.display()))
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // `mode` only applies when the file is created; a stale temp file keeps its own mode.
    f.set_permissions(fs::Permissions::from_mode(0o600))?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = fs::File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// A token file others can read is worth a warning, not a refusal (it may be on a
/// filesystem without Unix modes).
#[cfg(unix)]
fn warn_if_shared(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            eprintln!(
                "warning: {} is readable by other users; run `chmod 600` on it",
                path.display()
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Credentials {
        Credentials {
            server: "https://127.0.0.1:8000".into(),
            token: "01HZZZZZZZZZZZZZZZZZZZZZZZ.verifier".into(),
            insecure: true,
        }
    }

    #[test]
    fn round_trip_and_remove() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = path_in(dir.path());
        assert_eq!(load(&path).expect("load"), None);
        save(&path, &sample()).expect("save");
        assert_eq!(load(&path).expect("load"), Some(sample()));
        // Saving again replaces the previous login.
        let other = Credentials {
            token: "other".into(),
            ..sample()
        };
        save(&path, &other).expect("save again");
        assert_eq!(load(&path).expect("load"), Some(other));
        assert!(remove(&path).expect("remove"));
        assert!(!remove(&path).expect("remove twice"));
        assert_eq!(load(&path).expect("load"), None);
    }

    #[cfg(unix)]
    #[test]
    fn file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = path_in(dir.path());
        // A pre-existing world-readable file must not keep its mode.
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(&path, "{}").expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        save(&path, &sample()).expect("save");
        let mode = fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let fresh = tempfile::tempdir().expect("tempdir");
        let path = path_in(fresh.path());
        save(&path, &sample()).expect("save");
        let dir_mode = fs::metadata(path.parent().expect("parent"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
    }

    #[test]
    fn corrupt_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = path_in(dir.path());
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(&path, "not json").expect("write");
        let e = load(&path).expect_err("corrupt");
        assert!(e.to_string().contains("sessiond login"), "{e}");
    }

    #[test]
    fn debug_hides_the_token() {
        let shown = format!("{:?}", sample());
        assert!(!shown.contains("verifier"), "{shown}");
    }
}
