//! The WAL checkpointer: its own connection and thread copy committed WAL frames back into
//! the database file, so that the writer never does it inline at the end of a commit.
//!
//! SQLite's automatic checkpoint runs inside the COMMIT that crosses the threshold, on the
//! writer's thread: the request that commits there (a termination, say) waits for the copy
//! of everything written before it. After a second of validate load at 1M sessions the touch
//! flushes had left ~170 MB of WAL, and the next 10,000-id termination took 2.8 s instead of
//! 0.3 s. Here the writer only signals after each commit; checkpoints run beside it (WAL
//! lets a checkpoint run concurrently with the writer and the readers).

use crate::error::SqliteError;
use crate::schema::open_checkpointer;
use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// At most one checkpoint per interval: each one fsyncs the WAL and the database file, and
/// under a stream of commits a few per second keep the WAL short at little cost.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Default)]
struct State {
    /// Commits since the last checkpoint started.
    dirty: bool,
    stop: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}

/// The handle the writer keeps: `committed` after each commit, stopped and joined on drop
/// (before the writer's own connection closes, so that the last close can checkpoint and
/// remove the WAL).
pub(crate) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub(crate) fn spawn(path: &Path) -> Result<Checkpointer, SqliteError> {
        let conn = open_checkpointer(path)?;
        let shared = Arc::new(Shared::default());
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(&conn, &thread_shared))
            .map_err(|e| SqliteError::Writer(e.to_string()))?;
        Ok(Checkpointer {
            shared,
            thread: Some(thread),
        })
    }

    /// Tells the checkpointer that the WAL has grown.
    pub(crate) fn committed(&self) {
        let mut s = self.shared.lock();
        if !s.dirty {
            s.dirty = true;
            self.shared.wake.notify_one();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                tracing::error!("the SQLite checkpoint thread panicked");
            }
        }
    }
}

/// What `PRAGMA wal_checkpoint(PASSIVE)` reports.
pub(crate) struct Pass {
    /// Frames in the WAL, and how many of them are in the database file.
    pub frames: i64,
    pub copied: i64,
}

/// One PASSIVE checkpoint: copies what no reader still needs, never waits on a reader or
/// the writer (busy: another checkpoint is running, and this one does nothing).
pub(crate) fn checkpoint(conn: &Connection) -> rusqlite::Result<Pass> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok(Pass {
            frames: r.get(1)?,
            copied: r.get(2)?,
        })
    })
}

fn run(conn: &Connection, shared: &Shared) {
    loop {
        {
            let mut s = shared.lock();
            while !s.dirty && !s.stop {
                s = match shared.wake.wait(s) {
                    Ok(g) => g,
                    Err(p) => p.into_inner(),
                };
            }
            if s.stop {
                return;
            }
            s.dirty = false;
        }
        // Frames a reader still needed are left; the next pass takes them, even when no
        // commit comes.
        let complete = checkpoint(conn).map(|p| {
            metrics::counter!("sessiond_sqlite_checkpoints_total").increment(1);
            // -1 when another checkpoint was running: nothing learned.
            if p.frames >= 0 {
                metrics::gauge!("sessiond_sqlite_wal_frames").set(p.frames as f64);
            }
            p.frames == p.copied
        });
        let complete = complete.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "WAL checkpoint failed; will retry");
            false
        });
        let mut s = shared.lock();
        if !complete {
            s.dirty = true;
        }
        let waited = shared.wake.wait_timeout_while(s, MIN_INTERVAL, |s| !s.stop);
        if let Ok((s, _)) = waited {
            if s.stop {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::open_writer;

    #[test]
    fn a_pass_copies_every_committed_frame_and_the_thread_stops_on_drop() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.db");
        let w = open_writer(&path).expect("open");
        w.pragma_update(None, "wal_autocheckpoint", 0)
            .expect("pragma");
        w.execute("INSERT INTO tenants (name) VALUES ('a')", [])
            .expect("insert");
        let c = open_checkpointer(&path).expect("open");
        let before = checkpoint(&c).expect("pass");
        assert!(before.frames > 0, "the insert is in the WAL");
        assert_eq!(before.copied, before.frames);
        let again = checkpoint(&c).expect("pass");
        assert_eq!(again.frames, again.copied);
        let ckpt = Checkpointer::spawn(&path).expect("spawn");
        ckpt.committed();
        drop(ckpt);
    }
}
