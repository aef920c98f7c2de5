//! The single writer thread: owns the write connection, takes requests from a bounded queue
//! and group-commits whatever is queued in one transaction, one SAVEPOINT per request, so a
//! burst of small durable writes costs one fsync and a failing request undoes only itself.
//! Touch flushes are background work: requests someone is waiting on go before them.

use crate::checkpointer::{checkpoint, Checkpointer};
use crate::error::{map_err, SqliteError};
use crate::write_ops::{apply, WriteOp, WriteReply};
use rusqlite::Connection;
use sessiond_core::events::EventId;
use sessiond_core::{StoreError, StoreResult};
use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use tokio::sync::{mpsc, oneshot, watch};

/// Requests waiting for the writer; senders wait (backpressure) when it is full.
const QUEUE_DEPTH: usize = 1024;
/// Most requests in one group transaction, so one group's latency stays bounded.
const MAX_GROUP: usize = 256;
/// WAL frames (pages, 256 MiB) past which the writer checkpoints inline after its commits.
const WAL_BACKSTOP: i64 = 65_536;
/// Bytes of WAL file kept when the WAL rewinds.
const WAL_KEEP_BYTES: i64 = 64 << 20;

pub(crate) struct Request {
    pub op: WriteOp,
    pub reply: oneshot::Sender<StoreResult<WriteReply>>,
}

/// Counters of the writer's work (how well group commit coalesces).
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Transactions committed (or attempted).
    pub groups: AtomicU64,
    /// Requests handled.
    pub requests: AtomicU64,
}

/// The handle the store keeps: the queue's sending side and the thread to join on drop.
pub(crate) struct Writer {
    tx: Option<mpsc::Sender<Request>>,
    thread: Option<JoinHandle<()>>,
    pub(crate) stats: Arc<WriterStats>,
}

impl Writer {
    /// Starts the writer on `conn` (the database at `path`) and its checkpointer.
    pub(crate) fn spawn(
        conn: Connection,
        path: &Path,
        events: watch::Sender<EventId>,
    ) -> Result<Writer, SqliteError> {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let stats = Arc::new(WriterStats::default());
        let thread_stats = stats.clone();
        let checkpointer = Checkpointer::spawn(path)?;
        // Checkpoints are the checkpointer's; the writer checkpoints inline only before a
        // touch flush (see `background_run`) and past WAL_BACKSTOP frames, should the
        // checkpointer ever fall that far behind.
        conn.pragma_update(None, "wal_autocheckpoint", WAL_BACKSTOP)?;
        // Under load the WAL grows to a few hundred MB between rewinds; at each rewind its
        // file is cut back to this, so an idle server does not keep that space.
        conn.pragma_update(None, "journal_size_limit", WAL_KEEP_BYTES)?;
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, rx, &thread_stats, checkpointer, events))
            .map_err(|e| SqliteError::Writer(e.to_string()))?;
        Ok(Writer {
            tx: Some(tx),
            thread: Some(thread),
            stats,
        })
    }

    /// Queues `op` and waits for its own result, which arrives only after its group has
    /// committed (durably, unless it is a touch-only group).
    pub(crate) async fn submit(&self, op: WriteOp) -> StoreResult<WriteReply> {
        let stopped = || StoreError::Unavailable("the SQLite writer has stopped".into());
        let tx = self.tx.as_ref().ok_or_else(stopped)?;
        let (reply, rx) = oneshot::channel();
        tx.send(Request { op, reply })
            .await
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }
}

impl Writer {
    /// Whether the writer thread is still taking requests.
    pub(crate) fn is_running(&self) -> bool {
        self.tx.as_ref().is_some_and(|tx| !tx.is_closed())
    }
}

impl Drop for Writer {
    /// Closing the queue lets the thread finish what is queued and exit; joining makes a
    /// reopen of the same file see every acknowledged write and no second writer.
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                tracing::error!("the SQLite writer thread panicked");
            }
        }
    }
}

fn run(
    conn: Connection,
    mut rx: mpsc::Receiver<Request>,
    stats: &WriterStats,
    checkpointer: Checkpointer,
    events: watch::Sender<EventId>,
) {
    // Requests taken off the queue and not yet served. Bounded like the queue, so that the
    // queue's backpressure still holds.
    let mut waiting: VecDeque<Request> = VecDeque::new();
    loop {
        if waiting.is_empty() {
            match rx.blocking_recv() {
                Some(r) => waiting.push_back(r),
                None => break,
            }
        }
        take_queued(&mut rx, &mut waiting);
        let durable = waiting.iter().any(|r| !r.op.is_background());
        let (group, results) = if durable {
            let group = foreground_group(&mut waiting);
            let ops: Vec<&WriteOp> = group.iter().map(|r| &r.op).collect();
            let results = commit_group(&conn, &ops);
            (group, results)
        } else {
            background_run(&conn, &mut rx, &mut waiting)
        };
        checkpointer.committed();
        if group.iter().any(|r| r.op.may_append_events()) {
            signal_events(&conn, &events);
        }
        // How well group commit coalesces, for operators: transactions, and requests in each.
        let kind = if durable { "durable" } else { "touches" };
        metrics::counter!("sessiond_sqlite_write_transactions_total", "kind" => kind).increment(1);
        metrics::histogram!("sessiond_sqlite_write_transaction_requests", "kind" => kind)
            .record(group.len() as f64);
        stats.groups.fetch_add(1, Ordering::Relaxed);
        stats
            .requests
            .fetch_add(group.len() as u64, Ordering::Relaxed);
        for (req, result) in group.into_iter().zip(results) {
            // The caller may have gone away (cancelled); its write stands regardless.
            let _ = req.reply.send(result);
        }
    }
    // The checkpointer stops (and closes its connection) before the writer's closes.
    drop(checkpointer);
}

/// Raises the committed-event signal to the newest event id, waking subscribers. Sent before
/// the writes are acknowledged, so an acknowledged change's event is already announced.
fn signal_events(conn: &Connection, events: &watch::Sender<EventId>) {
    match crate::events::last_id(conn) {
        Ok(last) => {
            events.send_if_modified(|v| {
                let newer = last > *v;
                if newer {
                    *v = last;
                }
                newer
            });
        }
        Err(e) => tracing::warn!(error = %e, "reading the last event id failed"),
    }
}

fn take_queued(rx: &mut mpsc::Receiver<Request>, waiting: &mut VecDeque<Request>) {
    while waiting.len() < QUEUE_DEPTH {
        match rx.try_recv() {
            Ok(r) => waiting.push_back(r),
            Err(_) => break,
        }
    }
}

/// Every waiting request except touch flushes, in arrival order (at most [`MAX_GROUP`]):
/// they go before any touch flush queued ahead of them.
fn foreground_group(waiting: &mut VecDeque<Request>) -> Vec<Request> {
    let mut group = Vec::new();
    let mut later = VecDeque::with_capacity(waiting.len());
    for r in waiting.drain(..) {
        if group.len() < MAX_GROUP && !r.op.is_background() {
            group.push(r);
        } else {
            later.push_back(r);
        }
    }
    *waiting = later;
    group
}

/// Applies waiting touch flushes (core sends a flush as chunks) one after another in one
/// transaction without fsync, and commits as soon as a request someone waits on arrives, or
/// when none is left: a termination that arrives during a flush waits for one chunk at most,
/// and a flush nobody interrupts is one transaction (each page it changes written once).
/// No savepoints: a failure fails every chunk of the run, and core puts them all back.
fn background_run(
    conn: &Connection,
    rx: &mut mpsc::Receiver<Request>,
    waiting: &mut VecDeque<Request>,
) -> (Vec<Request>, Vec<StoreResult<WriteReply>>) {
    // The WAL rewinds to its beginning only when a write begins after a complete
    // checkpoint, which a stream of writes never gives the checkpointer. A touch flush
    // comes once a second, when the checkpointer has usually copied everything: finishing
    // here (cheap then; a no-op when the checkpointer is busy) lets this write rewind it.
    if let Err(e) = checkpoint(conn) {
        tracing::warn!(error = %e, "WAL checkpoint before a touch flush failed");
    }
    let mut run: Vec<Request> = waiting.pop_front().into_iter().collect();
    let results = without_fsync(conn, run.len(), || {
        let mut replies = Vec::with_capacity(run.len());
        let outcome = (|| -> StoreResult<()> {
            exec(conn, "BEGIN IMMEDIATE").map_err(map_err)?;
            let mut next = 0;
            while let Some(r) = run.get(next) {
                replies.push(apply(conn, &r.op)?.reply);
                next += 1;
                take_queued(rx, waiting);
                // Another chunk joins only while nobody waits on a durable write.
                if waiting.iter().all(|r| r.op.is_background()) {
                    run.extend(waiting.pop_front());
                }
            }
            exec(conn, "COMMIT").map_err(map_err)
        })();
        match outcome {
            Ok(()) => replies.into_iter().map(Ok).collect(),
            Err(e) => {
                if !conn.is_autocommit() {
                    let _ = exec(conn, "ROLLBACK");
                }
                fail_all(run.len(), &e)
            }
        }
    });
    (run, results)
}

fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Applies `ops` in one transaction, each inside its own savepoint, and returns one result
/// per op. A failing op is rolled back to its savepoint; the others still commit. If the
/// transaction itself is lost (SQLite rolls back on some I/O errors) or the commit fails,
/// every op of the group fails: none of them was acknowledged.
pub(crate) fn commit_group(conn: &Connection, ops: &[&WriteOp]) -> Vec<StoreResult<WriteReply>> {
    if ops.is_empty() {
        return Vec::new();
    }
    if ops.iter().any(|o| o.needs_fsync()) {
        group_transaction(conn, ops)
    } else {
        without_fsync(conn, ops.len(), || group_transaction(conn, ops))
    }
}

/// Runs `transaction` (which answers one result per request) with `synchronous=NORMAL`: its
/// COMMIT does not fsync. `synchronous` cannot change inside a transaction, so it is set
/// around one. If it cannot be set, the `n` requests fail unattempted; if FULL cannot be
/// restored, every request of the transaction fails, since later durable writes must never
/// run without fsync.
fn without_fsync(
    conn: &Connection,
    n: usize,
    transaction: impl FnOnce() -> Vec<StoreResult<WriteReply>>,
) -> Vec<StoreResult<WriteReply>> {
    if let Err(e) = conn.pragma_update(None, "synchronous", "NORMAL") {
        return fail_all(n, &map_err(e));
    }
    let results = transaction();
    if let Err(e) = conn.pragma_update(None, "synchronous", "FULL") {
        tracing::error!(error = %e, "could not restore synchronous=FULL");
        return fail_all(results.len(), &map_err(e));
    }
    results
}

fn fail_all(n: usize, e: &StoreError) -> Vec<StoreResult<WriteReply>> {
    (0..n).map(|_| Err(same_kind(e))).collect()
}

/// A copy of an error for every member of a failed group (`StoreError` is not `Clone`).
fn same_kind(e: &StoreError) -> StoreError {
    match e {
        StoreError::NotFound => StoreError::NotFound,
        StoreError::Conflict(m) => StoreError::Conflict(m.clone()),
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        StoreError::Internal(m) => StoreError::Internal(m.clone()),
    }
}

/// A group of one needs no savepoint: its transaction is its undo. (The touch flush is
/// usually alone, and a savepoint makes SQLite copy every page it changes.)
fn single_transaction(conn: &Connection, op: &WriteOp) -> StoreResult<WriteReply> {
    exec(conn, "BEGIN IMMEDIATE").map_err(map_err)?;
    match apply(conn, op) {
        Ok(a) if !a.rollback => match exec(conn, "COMMIT") {
            Ok(()) => Ok(a.reply),
            Err(e) => {
                if !conn.is_autocommit() {
                    let _ = exec(conn, "ROLLBACK");
                }
                Err(map_err(e))
            }
        },
        outcome => {
            if !conn.is_autocommit() {
                let _ = exec(conn, "ROLLBACK");
            }
            outcome.map(|a| a.reply)
        }
    }
}

fn group_transaction(conn: &Connection, ops: &[&WriteOp]) -> Vec<StoreResult<WriteReply>> {
    if let [op] = ops {
        return vec![single_transaction(conn, op)];
    }
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE") {
        return fail_all(ops.len(), &map_err(e));
    }
    let mut results: Vec<StoreResult<WriteReply>> = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let outcome = exec(conn, "SAVEPOINT req")
            .map_err(map_err)
            .and_then(|()| apply(conn, op));
        let undo = match &outcome {
            Ok(a) => a.rollback,
            Err(_) => true,
        };
        let closed = if undo {
            exec(conn, "ROLLBACK TO req").and_then(|()| exec(conn, "RELEASE req"))
        } else {
            exec(conn, "RELEASE req")
        };
        if conn.is_autocommit() || closed.is_err() {
            // The whole transaction is gone or in an unknown state: nothing of this group
            // was committed. Report that to everyone before `i`, then retry the rest anew.
            if !conn.is_autocommit() {
                let _ = exec(conn, "ROLLBACK");
            }
            let why = match (&outcome, closed) {
                (Err(e), _) => same_kind(e),
                (_, Err(e)) => map_err(e),
                (Ok(_), Ok(())) => StoreError::Unavailable("transaction aborted".into()),
            };
            let lost = StoreError::Unavailable(format!("group transaction aborted: {why}"));
            let mut out = fail_all(i, &lost);
            out.push(Err(why));
            out.extend(group_transaction(conn, &ops[i + 1..]));
            return out;
        }
        results.push(outcome.map(|a| a.reply));
    }
    if let Err(e) = exec(conn, "COMMIT") {
        if !conn.is_autocommit() {
            let _ = exec(conn, "ROLLBACK");
        }
        return fail_all(ops.len(), &map_err(e));
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::open_writer;
    use sessiond_core::store::{EndInfo, EndOutcome};
    use sessiond_core::{SessionState, Timestamp};

    #[test]
    fn a_failing_request_rolls_back_only_itself() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = open_writer(&dir.path().join("w.db")).expect("open");
        let ok1 = WriteOp::CreateTenant("a".into());
        let dup = WriteOp::CreateTenant("a".into());
        let ok2 = WriteOp::CreateTenant("b".into());
        let end_none = WriteOp::End {
            ids: vec![sessiond_core::SessionId::min()],
            end: EndInfo {
                state: SessionState::Terminated,
                at: Timestamp(1),
                by: "t".into(),
                reason: None,
            },
            atomic: true,
            audit: None,
            events: vec![],
        };
        let results = commit_group(&conn, &[&ok1, &dup, &end_none, &ok2]);
        assert!(matches!(results[0], Ok(WriteReply::Tenant(_))));
        assert!(matches!(results[1], Err(StoreError::Conflict(_))));
        match &results[2] {
            Ok(WriteReply::Ended(b, _)) => {
                assert!(!b.committed);
                assert_eq!(b.outcomes, vec![EndOutcome::NotFound]);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(results[3], Ok(WriteReply::Tenant(_))));
        let names: Vec<String> = conn
            .prepare("SELECT name FROM tenants ORDER BY id")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("names");
        assert_eq!(names, vec!["default", "a", "b"]);
        assert!(conn.is_autocommit());
    }

    fn request(op: WriteOp) -> (Request, oneshot::Receiver<StoreResult<WriteReply>>) {
        let (reply, rx) = oneshot::channel();
        (Request { op, reply }, rx)
    }

    fn touches(n: usize) -> WriteOp {
        WriteOp::Touches(
            (0..n)
                .map(|_| sessiond_core::store::Touch {
                    id: sessiond_core::SessionId::min(),
                    at: Timestamp(1),
                    calls: 1,
                    expires_at: None,
                })
                .collect(),
        )
    }

    #[test]
    fn durable_writes_go_before_touch_flushes_queued_ahead_of_them() {
        let mut waiting: VecDeque<Request> = [
            request(touches(1)).0,
            request(WriteOp::CreateTenant("a".into())).0,
            request(touches(2)).0,
            request(WriteOp::CreateTenant("b".into())).0,
        ]
        .into_iter()
        .collect();
        let group = foreground_group(&mut waiting);
        let names: Vec<_> = group
            .iter()
            .map(|r| match &r.op {
                WriteOp::CreateTenant(n) => n.clone(),
                other => panic!("a touch flush in the durable group: {other:?}"),
            })
            .collect();
        assert_eq!(names, ["a", "b"]);
        // The flushes stay, in their order.
        let left: Vec<_> = waiting
            .iter()
            .map(|r| match &r.op {
                WriteOp::Touches(t) => t.len(),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(left, [1, 2]);
    }

    #[test]
    fn a_touch_run_takes_every_queued_chunk_until_a_durable_write_waits() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = open_writer(&dir.path().join("w.db")).expect("open");
        let (tx, mut rx) = mpsc::channel(QUEUE_DEPTH);
        // Three chunks and nothing else: one run, one transaction, all applied.
        let mut waiting: VecDeque<Request> = VecDeque::new();
        let mut replies = Vec::new();
        for n in [3, 2, 1] {
            let (r, reply) = request(touches(n));
            waiting.push_back(r);
            replies.push(reply);
        }
        let (run, results) = background_run(&conn, &mut rx, &mut waiting);
        assert_eq!(run.len(), 3);
        assert!(results.iter().all(|r| matches!(r, Ok(WriteReply::Done))));
        assert!(waiting.is_empty());
        assert!(conn.is_autocommit());
        // A durable write queued while the first chunk applies ends the run there.
        let (t1, _) = request(touches(1));
        let (t2, _) = request(touches(1));
        waiting.extend([t1, t2]);
        let (tenant, _) = request(WriteOp::CreateTenant("c".into()));
        tx.try_send(tenant).expect("queue");
        let (run, results) = background_run(&conn, &mut rx, &mut waiting);
        assert_eq!((run.len(), results.len()), (1, 1));
        assert_eq!(waiting.len(), 2);
        assert!(waiting[0].op.is_background() && !waiting[1].op.is_background());
        // Touches never leave synchronous off for the durable writes after them.
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .expect("pragma");
        assert_eq!(sync, 2, "synchronous=FULL");
    }
}
