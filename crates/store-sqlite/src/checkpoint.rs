//! The WAL checkpointer: copies committed WAL frames into the database file from a thread
//! and connection of its own, so the writer never does it inline. With SQLite's automatic
//! checkpoint the commit that crosses 1,000 WAL pages also copies them and fsyncs the
//! database file: about 15 % of the writer's time in a Qumulo-style close (perf, 100-item
//! batches), on the one thread every durable write waits for.
//!
//! The writer nudges this thread after every commit; it runs a PASSIVE checkpoint (never
//! waits for the writer or readers, so it can never stall a request). A WAL that grows past
//! [`TRUNCATE_FRAMES`] anyway (a checkpoint that keeps losing the race with new commits) gets
//! a TRUNCATE checkpoint, which waits for the writer between two transactions and resets the
//! file, so the WAL stays bounded. Durability does not depend on any of this: a commit is
//! durable once its WAL frames are fsynced; a checkpoint only moves them.

use crate::error::SqliteError;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// WAL frames (pages) past which the checkpointer resets the WAL (64 MiB at 4 KiB pages).
const TRUNCATE_FRAMES: i64 = 16_384;
/// How long a TRUNCATE checkpoint may wait for the writer to finish a transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// What the checkpointer has done (tests and diagnostics).
#[derive(Debug, Default)]
pub struct CheckpointStats {
    /// Checkpoints run.
    pub runs: AtomicU64,
    /// WAL frames copied into the database file, summed over runs.
    pub frames: AtomicU64,
    /// Checkpoints that failed (logged; the next nudge tries again).
    pub failures: AtomicU64,
}

/// The handle the store keeps: the nudge channel and the thread to join on drop.
pub(crate) struct Checkpointer {
    nudge: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
    pub(crate) stats: Arc<CheckpointStats>,
}

impl Checkpointer {
    pub(crate) fn spawn(path: &Path) -> Result<Checkpointer, SqliteError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // One pending nudge is enough: a checkpoint copies every frame committed before it.
        let (nudge, rx) = sync_channel(1);
        let stats = Arc::new(CheckpointStats::default());
        let thread_stats = stats.clone();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(&conn, &rx, &thread_stats))
            .map_err(|e| SqliteError::Writer(e.to_string()))?;
        Ok(Checkpointer {
            nudge: Some(nudge),
            thread: Some(thread),
            stats,
        })
    }

    /// A sender for the writer: `nudge()` after each commit.
    pub(crate) fn nudger(&self) -> Nudger {
        Nudger(self.nudge.clone())
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.nudge.take();
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                tracing::error!("the SQLite checkpoint thread panicked");
            }
        }
    }
}

/// The writer's side of the nudge channel.
pub(crate) struct Nudger(Option<SyncSender<()>>);

impl Nudger {
    /// Asks for a checkpoint; never blocks (a pending nudge already covers this commit).
    pub(crate) fn nudge(&self) {
        if let Some(tx) = &self.0 {
            // Full: a nudge is pending and covers this commit too. Disconnected: the store
            // is closing.
            let _: Result<(), TrySendError<()>> = tx.try_send(());
        }
    }
}

fn run(conn: &Connection, rx: &Receiver<()>, stats: &CheckpointStats) {
    while rx.recv().is_ok() {
        match checkpoint(conn, "PASSIVE") {
            Ok((log, done)) => {
                record(stats, done);
                if log >= TRUNCATE_FRAMES {
                    match checkpoint(conn, "TRUNCATE") {
                        Ok((_, done)) => record(stats, done),
                        Err(e) => fail(stats, &e),
                    }
                }
            }
            Err(e) => fail(stats, &e),
        }
    }
}

/// Runs one checkpoint; returns (frames in the WAL, frames checkpointed), -1 when the
/// database is not in WAL mode.
fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<(i64, i64)> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })
}

fn record(stats: &CheckpointStats, frames: i64) {
    stats.runs.fetch_add(1, Ordering::Relaxed);
    stats
        .frames
        .fetch_add(u64::try_from(frames).unwrap_or(0), Ordering::Relaxed);
}

fn fail(stats: &CheckpointStats, e: &rusqlite::Error) {
    stats.failures.fetch_add(1, Ordering::Relaxed);
    tracing::warn!(error = %e, "WAL checkpoint failed; the next commit retries");
}
