//! The write operations: what each mutating `Store` call does inside the writer's
//! transaction. Every state change is guarded by `state = 'active'`, so a tombstone is never
//! touched (and a trigger in the schema refuses it anyway).

mod directory;

use crate::error::map_err;
use crate::rows::{self, counter, INSERT_SESSION, UPDATE_LIVE};
use rusqlite::{params, Connection, OptionalExtension};
use sessiond_core::events::EventDraft;
use sessiond_core::sinks::{DeliveryAttempt, DeliveryState, Sink, SinkStatus};
use sessiond_core::store::{EndBatch, EndInfo, EndOutcome, LoginFailures, TokenHash, Touch};
use sessiond_core::{
    AccessKey, AuditRecord, Principal, Session, SessionId, SessionState, StoreError, StoreResult,
    Tenant, Timestamp,
};
use std::collections::HashSet;

/// One queued write.
#[derive(Debug)]
pub(crate) enum WriteOp {
    Insert(Vec<NewRow>),
    UpdateLive(Box<Session>, Option<Timestamp>),
    Touches(Vec<Touch>),
    End {
        ids: Vec<SessionId>,
        end: EndInfo,
        atomic: bool,
        /// Appended in the same transaction if exactly this many sessions end
        /// (`SessionStore::end_sessions`).
        audit: Option<(AuditRecord, usize)>,
        /// The events of the sessions core expects to end; those of the ids this op ends
        /// are appended with the ends.
        events: Vec<EventDraft>,
    },
    SetDeadline(SessionId, Option<Timestamp>),
    /// See [`advance_deadlines`]; replies `Advanced`.
    AdvanceDeadlines(Timestamp, usize),
    Purge(Timestamp, usize),
    CreateTenant(String),
    CreatePrincipal(Principal),
    UpdatePrincipal(Principal, Option<EventDraft>),
    PurgeEvents(Timestamp, usize),
    AppendAudit(Vec<AuditRecord>),
    CreateAccessKey(AccessKey),
    /// Deletes one key (`Some`) or every key of a principal (`None` key, principal given).
    DeleteAccessKeys {
        access_key: Option<String>,
        principal: Option<String>,
    },
    LoginFailure(String, Timestamp),
    ClearLoginFailures(String),
    /// Counters whose last failure is before the instant, at most so many; replies `Purged`.
    PurgeLoginFailures(Timestamp, usize),
    CreateSink(Box<Sink>),
    UpdateSink(Box<Sink>),
    DeleteSink(String),
    /// `SinkStore::advance_sink`; replies `Deleted(1)` when it applied.
    AdvanceSink {
        id: String,
        expected: DeliveryState,
        next: DeliveryState,
        status: Option<(SinkStatus, Option<String>)>,
        attempts: Vec<DeliveryAttempt>,
    },
    /// `SinkStore::lease_sink` (id, holder, now, until); replies `Deleted(1)` when held.
    LeaseSink(String, String, Timestamp, Timestamp),
}

impl WriteOp {
    /// Only coalesced touches, login-failure counters, deadline bounds and sinks' delivery
    /// progress and leases may skip the fsync (DESIGN.md §1: a crash may lose a second of
    /// last-activity times, never a registration or an end; a lost bound move leaves a bound
    /// that is still a bound; lost delivery progress means events delivered again, which
    /// at-least-once delivery allows, and a lost lease is taken again).
    pub(crate) fn needs_fsync(&self) -> bool {
        !matches!(
            self,
            WriteOp::Touches(_)
                | WriteOp::LoginFailure(..)
                | WriteOp::ClearLoginFailures(_)
                | WriteOp::PurgeLoginFailures(..)
                | WriteOp::AdvanceDeadlines(..)
                | WriteOp::AdvanceSink { .. }
                | WriteOp::LeaseSink(..)
        )
    }

    /// Whether the op can append events (the writer then announces the new last id).
    pub(crate) fn may_append_events(&self) -> bool {
        matches!(
            self,
            WriteOp::Insert(_) | WriteOp::End { .. } | WriteOp::UpdatePrincipal(..)
        )
    }

    /// Work nobody waits on to answer a request (touch flushes): the writer serves every
    /// other queued request first.
    pub(crate) fn is_background(&self) -> bool {
        matches!(self, WriteOp::Touches(_))
    }
}

/// A session to insert: the row, its token hash, its deadline and its `session.created`.
#[derive(Debug)]
pub(crate) struct NewRow {
    pub session: Session,
    pub hash: TokenHash,
    pub expires_at: Option<Timestamp>,
    pub event: Option<EventDraft>,
}

/// What a write returns.
#[derive(Debug)]
pub(crate) enum WriteReply {
    Done,
    /// The batch, and whether its audit record was appended with it.
    Ended(EndBatch, bool),
    Purged(u64),
    /// Deadline bounds moved.
    Advanced(u64),
    Tenant(Tenant),
    Deleted(u64),
    Failures(LoginFailures),
}

/// The result of applying one op: its reply, and whether its changes must be rolled back
/// although it did not fail (an atomic end that was not all-live).
pub(crate) struct Applied {
    pub reply: WriteReply,
    pub rollback: bool,
}

fn done() -> StoreResult<Applied> {
    Ok(Applied {
        reply: WriteReply::Done,
        rollback: false,
    })
}

pub(crate) fn apply(conn: &Connection, op: &WriteOp) -> StoreResult<Applied> {
    match op {
        WriteOp::Insert(items) => {
            for row in items {
                insert_session(conn, &row.session, &row.hash, row.expires_at)?;
            }
            crate::events::append(conn, items.iter().filter_map(|r| r.event.as_ref()))?;
            done()
        }
        WriteOp::UpdateLive(s, expires_at) => {
            update_live(conn, s, *expires_at)?;
            done()
        }
        WriteOp::Touches(touches) => {
            apply_touches(conn, touches)?;
            done()
        }
        WriteOp::End {
            ids,
            end,
            atomic,
            audit,
            events,
        } => {
            let outcomes = end_if_active(conn, ids, end)?;
            let ended = outcomes.iter().filter(|o| **o == EndOutcome::Ended).count();
            let rollback = *atomic && ended < outcomes.len();
            if !rollback {
                append_end_events(conn, ids, &outcomes, events)?;
            }
            let audited = match audit {
                Some((record, expected)) if !rollback && ended == *expected => {
                    directory::append_audit(conn, std::slice::from_ref(record))?;
                    true
                }
                _ => false,
            };
            Ok(Applied {
                reply: WriteReply::Ended(
                    EndBatch {
                        committed: !rollback,
                        outcomes,
                    },
                    audited,
                ),
                rollback,
            })
        }
        WriteOp::SetDeadline(id, at) => {
            set_deadline(conn, id, *at)?;
            done()
        }
        WriteOp::AdvanceDeadlines(now, limit) => Ok(Applied {
            reply: WriteReply::Advanced(advance_deadlines(conn, *now, *limit)?),
            rollback: false,
        }),
        WriteOp::Purge(before, limit) => Ok(Applied {
            reply: WriteReply::Purged(purge_ended(conn, *before, *limit)?),
            rollback: false,
        }),
        WriteOp::CreateSink(sink) => {
            crate::sinks::create(conn, sink)?;
            done()
        }
        WriteOp::UpdateSink(sink) => {
            crate::sinks::update(conn, sink)?;
            done()
        }
        WriteOp::DeleteSink(id) => Ok(Applied {
            reply: WriteReply::Deleted(crate::sinks::delete(conn, id)?),
            rollback: false,
        }),
        WriteOp::AdvanceSink {
            id,
            expected,
            next,
            status,
            attempts,
        } => Ok(Applied {
            reply: WriteReply::Deleted(crate::sinks::advance(
                conn, id, expected, next, status, attempts,
            )?),
            rollback: false,
        }),
        WriteOp::LeaseSink(id, holder, now, until) => Ok(Applied {
            reply: WriteReply::Deleted(crate::sinks::lease(conn, id, holder, *now, *until)?),
            rollback: false,
        }),
        WriteOp::PurgeEvents(before, limit) => Ok(Applied {
            reply: WriteReply::Purged(crate::events::purge(conn, *before, *limit)?),
            rollback: false,
        }),
        _ => directory::apply(conn, op),
    }
}

fn insert_shares(conn: &Connection, s: &Session) -> StoreResult<()> {
    // OR IGNORE: a session naming one share twice still has one side row for it.
    let mut stmt = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO session_shares (share, tenant_id, session_id) \
             VALUES (?1, ?2, ?3)",
        )
        .map_err(map_err)?;
    for share in &s.share_names {
        stmt.execute(params![share, s.tenant_id, s.id.as_str()])
            .map_err(map_err)?;
    }
    Ok(())
}

fn insert_session(
    conn: &Connection,
    s: &Session,
    hash: &TokenHash,
    expires_at: Option<Timestamp>,
) -> StoreResult<()> {
    if s.state != SessionState::Active {
        return Err(StoreError::Internal(
            "insert_session takes live sessions only".into(),
        ));
    }
    let mut stmt = conn.prepare_cached(INSERT_SESSION).map_err(map_err)?;
    rows::insert(&mut stmt, s, hash, expires_at)?;
    conn.prepare_cached(
        "INSERT INTO session_activity (id, last_active_at, call_count, expires_at) \
         VALUES (?1, ?2, ?3, ?4)",
    )
    .and_then(|mut a| {
        a.execute(params![
            s.id.as_str(),
            s.last_active_at.nanos(),
            counter(s.call_count),
            expires_at.map(Timestamp::nanos)
        ])
    })
    .map_err(map_err)?;
    insert_shares(conn, s)
}

/// Sets a live session's exact deadline (its activity row) and its indexed bound.
fn set_deadline(conn: &Connection, id: &SessionId, at: Option<Timestamp>) -> StoreResult<()> {
    set_exact_deadline(conn, id, at)?;
    conn.prepare_cached("UPDATE sessions SET expires_at = ?2 WHERE id = ?1 AND state = 'active'")
        .and_then(|mut s| s.execute(params![id.as_str(), at.map(Timestamp::nanos)]))
        .map_err(map_err)?;
    Ok(())
}

/// Sets the exact deadline in a live session's activity row (an ended one has none).
fn set_exact_deadline(conn: &Connection, id: &SessionId, at: Option<Timestamp>) -> StoreResult<()> {
    conn.prepare_cached("UPDATE session_activity SET expires_at = ?2 WHERE id = ?1")
        .and_then(|mut a| a.execute(params![id.as_str(), at.map(Timestamp::nanos)]))
        .map_err(map_err)?;
    Ok(())
}

/// Moves up to `limit` indexed deadline bounds that have come (`<= now`) but whose exact
/// deadline has not, to that exact deadline; returns how many moved. Touches move only the
/// exact deadline (migration 7), so a busy session's bound comes due early about once per
/// idle timeout, and the sweep moves it here instead of ending it.
fn advance_deadlines(conn: &Connection, now: Timestamp, limit: usize) -> StoreResult<u64> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    conn.prepare_cached(
        "UPDATE sessions SET expires_at = \
           (SELECT a.expires_at FROM session_activity a WHERE a.id = sessions.id) \
         WHERE rowid IN (SELECT s.rowid FROM sessions s INDEXED BY sessions_by_deadline \
           JOIN session_activity a ON a.id = s.id \
           WHERE s.live = 1 AND s.expires_at <= ?1 \
             AND (a.expires_at IS NULL OR a.expires_at > ?1) LIMIT ?2)",
    )
    .and_then(|mut u| u.execute(params![now.nanos(), limit]))
    .map(|n| n as u64)
    .map_err(map_err)
}

/// `NotFound` when absent, `Conflict` when ended (the trait's contract).
fn update_live(conn: &Connection, s: &Session, expires_at: Option<Timestamp>) -> StoreResult<()> {
    let mut stmt = conn.prepare_cached(UPDATE_LIVE).map_err(map_err)?;
    if rows::update_live(&mut stmt, s, expires_at)? == 1 {
        set_exact_deadline(conn, &s.id, expires_at)?;
        // The stored tenant, not the caller's copy, keys the side rows.
        conn.prepare_cached("DELETE FROM session_shares WHERE session_id = ?1")
            .and_then(|mut d| d.execute([s.id.as_str()]))
            .map_err(map_err)?;
        let tenant: u32 = conn
            .prepare_cached("SELECT tenant_id FROM sessions WHERE id = ?1")
            .and_then(|mut q| q.query_row([s.id.as_str()], |r| r.get(0)))
            .map_err(map_err)?;
        let mut stored = s.clone();
        stored.tenant_id = tenant;
        return insert_shares(conn, &stored);
    }
    match state_of(conn, &s.id)? {
        None => Err(StoreError::NotFound),
        Some(_) => Err(StoreError::Conflict("session has ended".into())),
    }
}

fn state_of(conn: &Connection, id: &SessionId) -> StoreResult<Option<String>> {
    conn.prepare_cached("SELECT state FROM sessions WHERE id = ?1")
        .and_then(|mut s| s.query_row([id.as_str()], |r| r.get(0)).optional())
        .map_err(map_err)
}

/// `last_active_at` only moves forward; the exact deadline follows the newest touch. Only
/// live sessions have an activity row, so an ended or unknown id changes nothing.
fn apply_touches(conn: &Connection, touches: &[Touch]) -> StoreResult<()> {
    let mut stmt = conn
        .prepare_cached(
            "UPDATE session_activity SET \
               expires_at = CASE WHEN ?2 >= last_active_at THEN ?4 ELSE expires_at END, \
               last_active_at = max(last_active_at, ?2), \
               call_count = CASE WHEN ?3 > 9223372036854775807 - call_count \
                            THEN 9223372036854775807 ELSE call_count + ?3 END \
             WHERE id = ?1",
        )
        .map_err(map_err)?;
    for t in touches {
        stmt.execute(params![
            t.id.as_str(),
            t.at.nanos(),
            counter(t.calls),
            t.expires_at.map(Timestamp::nanos)
        ])
        .map_err(map_err)?;
    }
    Ok(())
}

/// Compare-and-set: ends each id whose state is `active`, and reports what it found for the
/// others (absent, or already ended). Core has decided which sessions may be ended.
fn end_if_active(
    conn: &Connection,
    ids: &[SessionId],
    end: &EndInfo,
) -> StoreResult<Vec<EndOutcome>> {
    if end.state == SessionState::Active {
        return Err(StoreError::Internal(
            "a session cannot end as active".into(),
        ));
    }
    // One statement for the whole batch, not one per id: each statement with the tombstone
    // trigger opens a statement journal and copies into it every page it touches, so a
    // per-id UPDATE copied the same index pages once per id.
    let list = serde_json::to_string(&ids.iter().map(SessionId::as_str).collect::<Vec<_>>())
        .map_err(|e| StoreError::Internal(e.to_string()))?;
    // The tombstone keeps the session's last activity and call count: they are folded in
    // from its activity row, which then goes (only live sessions have one).
    let mut update = conn
        .prepare_cached(
            "UPDATE sessions SET state = ?2, ended_at = ?3, ended_by = ?4, end_reason = ?5, \
               last_active_at = coalesce((SELECT a.last_active_at FROM session_activity a \
                                          WHERE a.id = sessions.id), last_active_at), \
               call_count = coalesce((SELECT a.call_count FROM session_activity a \
                                      WHERE a.id = sessions.id), call_count) \
             WHERE id IN (SELECT value FROM json_each(?1)) AND state = 'active' \
             RETURNING id",
        )
        .map_err(map_err)?;
    let mut ended: HashSet<String> = update
        .query_map(
            params![list, end.state.as_str(), end.at.nanos(), end.by, end.reason],
            |r| r.get::<_, String>(0),
        )
        .and_then(|rows| rows.collect::<Result<_, _>>())
        .map_err(map_err)?;
    conn.prepare_cached(
        "DELETE FROM session_activity WHERE id IN (SELECT value FROM json_each(?1))",
    )
    .and_then(|mut d| d.execute([&list]))
    .map_err(map_err)?;
    let mut outcomes = Vec::with_capacity(ids.len());
    for id in ids {
        // A repeated id is ended once; its later copies find it ended, as they would have.
        outcomes.push(if ended.remove(id.as_str()) {
            EndOutcome::Ended
        } else {
            match state_of(conn, id)?.as_deref().and_then(SessionState::parse) {
                None => EndOutcome::NotFound,
                Some(SessionState::Active) => {
                    return Err(StoreError::Internal(format!(
                        "session {id} is active but could not be ended"
                    )))
                }
                Some(st) => EndOutcome::AlreadyEnded(st),
            }
        });
    }
    Ok(outcomes)
}

/// Appends the event of each id this op ended, once per id, in the order of `ids`.
fn append_end_events(
    conn: &Connection,
    ids: &[SessionId],
    outcomes: &[EndOutcome],
    events: &[EventDraft],
) -> StoreResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let by_id: std::collections::HashMap<&str, &EventDraft> = events
        .iter()
        .filter_map(|e| e.session_id.as_ref().map(|id| (id.as_str(), e)))
        .collect();
    let ended = ids
        .iter()
        .zip(outcomes)
        .filter(|(_, o)| **o == EndOutcome::Ended)
        .filter_map(|(id, _)| by_id.get(id.as_str()).copied());
    crate::events::append(conn, ended)
}

/// Deletes up to `limit` tombstones ended before `before`, oldest first, with their side rows.
fn purge_ended(conn: &Connection, before: Timestamp, limit: usize) -> StoreResult<u64> {
    let mut select = conn
        .prepare_cached(
            "SELECT id FROM sessions INDEXED BY sessions_by_ended \
             WHERE live = 0 AND ended_at < ?1 ORDER BY ended_at LIMIT ?2",
        )
        .map_err(map_err)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let ids: Vec<String> = select
        .query_map(params![before.nanos(), limit], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .map_err(map_err)?;
    let mut del_shares = conn
        .prepare_cached("DELETE FROM session_shares WHERE session_id = ?1")
        .map_err(map_err)?;
    let mut del = conn
        .prepare_cached("DELETE FROM sessions WHERE id = ?1 AND state <> 'active'")
        .map_err(map_err)?;
    let mut n = 0u64;
    for id in &ids {
        del_shares.execute([id]).map_err(map_err)?;
        n += del.execute([id]).map_err(map_err)? as u64;
    }
    Ok(n)
}
