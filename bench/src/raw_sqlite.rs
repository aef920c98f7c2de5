//! Raw SQLite anchors on the same machine and disk, measured in the same run: point lookups
//! of the rows the server holds (the most a validate's store read could do) and durable
//! one-row update transactions (the least each sequential, acknowledged close must cost).

use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::time::{Duration, Instant};

/// What raw SQLite does here, for the ratios.
#[derive(Clone, Copy, Debug)]
pub struct Anchors {
    /// `SELECT * FROM sessions WHERE id = ?` of random loaded ids, one read-only connection
    /// per core, every column read.
    pub lookups_per_s: f64,
    /// One `UPDATE` per transaction in WAL mode with `synchronous=FULL` (an fsync each).
    pub durable_update_us: f64,
}

/// A small fast generator: the anchor must not spend its time choosing ids.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// Point lookups on `db` (the server's own file, read while the server idles) for
/// `seconds`, then durable updates on a scratch file in `scratch_dir` (same disk).
pub fn measure(
    db: &Path,
    scratch_dir: &Path,
    ids: &[String],
    seconds: u64,
) -> Result<Anchors, String> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let until = Instant::now() + Duration::from_secs(seconds.max(1));
    let t0 = Instant::now();
    let counts: Vec<Result<u64, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| s.spawn(move || lookups(db, ids, until, 0x9E37_79B9_7F4A_7C15 ^ t as u64)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("lookup thread panicked".into()))
            })
            .collect()
    });
    let elapsed = t0.elapsed().as_secs_f64();
    let mut total = 0u64;
    for c in counts {
        total += c?;
    }
    Ok(Anchors {
        lookups_per_s: total as f64 / elapsed,
        durable_update_us: durable_updates(&scratch_dir.join("anchor.db"), 2_000)?,
    })
}

fn lookups(db: &Path, ids: &[String], until: Instant, seed: u64) -> Result<u64, String> {
    let err = |e: rusqlite::Error| format!("raw lookup on {}: {e}", db.display());
    let conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(err)?;
    let mut stmt = conn
        .prepare("SELECT * FROM sessions WHERE id = ?1")
        .map_err(err)?;
    let columns = stmt.column_count();
    let mut rng = XorShift(seed | 1);
    let mut n = 0u64;
    while Instant::now() < until {
        for _ in 0..256 {
            let id = &ids[rng.below(ids.len())];
            let mut rows = stmt.query([id]).map_err(err)?;
            let row = rows
                .next()
                .map_err(err)?
                .ok_or_else(|| format!("raw lookup: no row for {id}"))?;
            for i in 0..columns {
                row.get_ref(i).map_err(err)?;
            }
            n += 1;
        }
    }
    Ok(n)
}

fn durable_updates(path: &Path, n: u32) -> Result<f64, String> {
    let err = |e: rusqlite::Error| format!("raw durable update on {}: {e}", path.display());
    let conn = Connection::open(path).map_err(err)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(format!("{}: journal_mode {mode}, not WAL", path.display()));
    }
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL);",
    )
    .map_err(err)?;
    let tx = conn.unchecked_transaction().map_err(err)?;
    for i in 1..=1000 {
        tx.execute("INSERT OR IGNORE INTO t (id, v) VALUES (?1, 0)", [i])
            .map_err(err)?;
    }
    tx.commit().map_err(err)?;
    let mut stmt = conn
        .prepare("UPDATE t SET v = v + 1 WHERE id = ?1")
        .map_err(err)?;
    let t0 = Instant::now();
    for i in 0..n {
        // Autocommit: each statement is its own durable transaction.
        stmt.execute([i64::from(i % 1000 + 1)]).map_err(err)?;
    }
    Ok(t0.elapsed().as_secs_f64() * 1e6 / f64::from(n))
}
