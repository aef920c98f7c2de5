//! This layer's error type, and the one mapping from SQLite errors to `StoreError`.

use rusqlite::ffi;
use rusqlite::ErrorCode;
use sessiond_core::StoreError;

/// Errors of opening, migrating and backing up a database (things the server does at start
/// or from the CLI, outside the `Store` trait).
#[derive(Debug, thiserror::Error)]
pub enum SqliteError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("schema migration {version} failed: {source}")]
    Migration {
        version: usize,
        source: rusqlite::Error,
    },
    #[error(
        "the database has schema version {found}, newer than this sessiond knows ({known}); \
         upgrade sessiond instead of opening it with an older one"
    )]
    NewerSchema { found: i64, known: usize },
    #[error("could not switch the database to WAL mode (journal_mode is {0})")]
    NotWal(String),
    #[error("backup failed: {0}")]
    Backup(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("could not start the writer thread: {0}")]
    Writer(String),
}

impl From<SqliteError> for StoreError {
    fn from(e: SqliteError) -> Self {
        match e {
            SqliteError::Sqlite(e) => map_err(e),
            SqliteError::Io(e) => StoreError::Unavailable(e.to_string()),
            other => StoreError::Internal(other.to_string()),
        }
    }
}

/// The one place SQLite errors become store errors: contention and I/O are `Unavailable`
/// (the caller answers 503 and may retry), a unique-key violation is `Conflict`, anything
/// else is `Internal`.
pub(crate) fn map_err(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        match f.code {
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::SystemIoFailure
            | ErrorCode::DiskFull
            | ErrorCode::CannotOpen
            | ErrorCode::FileLockingProtocolFailed
            | ErrorCode::OutOfMemory
            | ErrorCode::ReadOnly => return StoreError::Unavailable(e.to_string()),
            ErrorCode::ConstraintViolation
                if f.extended_code == ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                return StoreError::Conflict(e.to_string())
            }
            _ => {}
        }
    }
    StoreError::Internal(e.to_string())
}

/// A stored value that does not decode (a bug or a tampered file, never user input).
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("stored {what} is invalid: {detail}"))
}
