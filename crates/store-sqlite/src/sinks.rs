//! Event sinks (webhooks, SSF streams): their rows, compare-and-set delivery state, leases
//! and attempt logs. Reads run on the read pool; writes inside the writer's transaction.

use crate::error::map_err;
use rusqlite::{params, Connection, OptionalExtension, Row};
use sessiond_core::filter::TenantScope;
use sessiond_core::sinks::{
    DeliveryAttempt, DeliveryState, Sink, SinkKind, SinkStatus, MAX_LOGGED_ATTEMPTS,
};
use sessiond_core::{StoreError, StoreResult, Timestamp};

const COLS: &str = "id, kind, tenant_id, created_by, created_at, config, sealed_secret, status, \
                    status_reason, cursor, attempts, failing_since, next_attempt_at";

fn corrupt(what: &str, v: &str) -> StoreError {
    StoreError::Internal(format!("sink row has {what} {v:?}"))
}

fn sink_of(r: &Row<'_>) -> rusqlite::Result<(Sink, String, String)> {
    let kind: String = r.get(1)?;
    let status: String = r.get(7)?;
    Ok((
        Sink {
            id: r.get(0)?,
            // Checked by the caller (`finish`): rusqlite's closure cannot return our error.
            kind: SinkKind::parse(&kind).unwrap_or(SinkKind::Webhook),
            tenant_id: r.get(2)?,
            created_by: r.get(3)?,
            created_at: Timestamp(r.get(4)?),
            config: r.get(5)?,
            sealed_secret: r.get(6)?,
            status: SinkStatus::parse(&status).unwrap_or(SinkStatus::Disabled),
            status_reason: r.get(8)?,
            delivery: DeliveryState {
                cursor: r.get::<_, i64>(9)?.max(0) as u64,
                attempts: r.get(10)?,
                failing_since: r.get::<_, Option<i64>>(11)?.map(Timestamp),
                next_attempt_at: r.get::<_, Option<i64>>(12)?.map(Timestamp),
            },
        },
        kind,
        status,
    ))
}

fn finish((s, kind, status): (Sink, String, String)) -> StoreResult<Sink> {
    if SinkKind::parse(&kind).is_none() {
        return Err(corrupt("kind", &kind));
    }
    if SinkStatus::parse(&status).is_none() {
        return Err(corrupt("status", &status));
    }
    Ok(s)
}

fn id_of(cursor: u64) -> i64 {
    i64::try_from(cursor).unwrap_or(i64::MAX)
}

pub(crate) fn get(conn: &Connection, id: &str) -> StoreResult<Option<Sink>> {
    let row = conn
        .prepare_cached(&format!("SELECT {COLS} FROM sinks WHERE id = ?1"))
        .and_then(|mut s| s.query_row([id], sink_of).optional())
        .map_err(map_err)?;
    row.map(finish).transpose()
}

pub(crate) fn list(
    conn: &Connection,
    kind: Option<SinkKind>,
    scope: &TenantScope,
) -> StoreResult<Vec<Sink>> {
    let rows = conn
        .prepare_cached(&format!(
            "SELECT {COLS} FROM sinks WHERE (?1 IS NULL OR kind = ?1) ORDER BY created_at, id"
        ))
        .and_then(|mut s| {
            s.query_map([kind.map(SinkKind::as_str)], sink_of)
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        })
        .map_err(map_err)?;
    rows.into_iter()
        .map(finish)
        .filter(|s| s.as_ref().map_or(true, |s| scope.contains(s.tenant_id)))
        .collect()
}

pub(crate) fn attempts(
    conn: &Connection,
    id: &str,
    limit: usize,
) -> StoreResult<Vec<DeliveryAttempt>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    conn.prepare_cached(
        "SELECT event_id, attempt, at, delivered, status, error, duration_ms FROM sink_attempts \
         WHERE sink_id = ?1 ORDER BY id DESC LIMIT ?2",
    )
    .and_then(|mut s| {
        s.query_map(params![id, limit], |r| {
            Ok(DeliveryAttempt {
                event_id: r.get::<_, i64>(0)?.max(0) as u64,
                attempt: r.get(1)?,
                at: Timestamp(r.get(2)?),
                delivered: r.get(3)?,
                status: r.get(4)?,
                error: r.get(5)?,
                duration_ms: r.get::<_, i64>(6)?.max(0) as u64,
            })
        })
        .and_then(|rows| rows.collect())
    })
    .map_err(map_err)
}

pub(crate) fn create(conn: &Connection, s: &Sink) -> StoreResult<()> {
    let d = &s.delivery;
    conn.prepare_cached(
        "INSERT INTO sinks (id, kind, tenant_id, created_by, created_at, config, sealed_secret, \
         status, status_reason, cursor, attempts, failing_since, next_attempt_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )
    .and_then(|mut st| {
        st.execute(params![
            s.id,
            s.kind.as_str(),
            s.tenant_id,
            s.created_by,
            s.created_at.nanos(),
            s.config,
            s.sealed_secret,
            s.status.as_str(),
            s.status_reason,
            id_of(d.cursor),
            d.attempts,
            d.failing_since.map(Timestamp::nanos),
            d.next_attempt_at.map(Timestamp::nanos)
        ])
    })
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict(format!("sink {} exists", s.id))
        }
        e => map_err(e),
    })?;
    Ok(())
}

pub(crate) fn update(conn: &Connection, s: &Sink) -> StoreResult<()> {
    let n = conn
        .prepare_cached(
            "UPDATE sinks SET config = ?2, sealed_secret = ?3, status = ?4, status_reason = ?5 \
             WHERE id = ?1",
        )
        .and_then(|mut st| {
            st.execute(params![
                s.id,
                s.config,
                s.sealed_secret,
                s.status.as_str(),
                s.status_reason
            ])
        })
        .map_err(map_err)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(crate) fn delete(conn: &Connection, id: &str) -> StoreResult<u64> {
    conn.prepare_cached("DELETE FROM sink_attempts WHERE sink_id = ?1")
        .and_then(|mut s| s.execute([id]))
        .map_err(map_err)?;
    let n = conn
        .prepare_cached("DELETE FROM sinks WHERE id = ?1")
        .and_then(|mut s| s.execute([id]))
        .map_err(map_err)?;
    Ok(n as u64)
}

/// The compare-and-set of `SinkStore::advance_sink`; 1 when it applied.
pub(crate) fn advance(
    conn: &Connection,
    id: &str,
    expected: &DeliveryState,
    next: &DeliveryState,
    status: &Option<(SinkStatus, Option<String>)>,
    log: &[DeliveryAttempt],
) -> StoreResult<u64> {
    let n = conn
        .prepare_cached(
            "UPDATE sinks SET cursor = ?6, attempts = ?7, failing_since = ?8, \
               next_attempt_at = ?9, status = coalesce(?10, status), \
               status_reason = CASE WHEN ?10 IS NULL THEN status_reason ELSE ?11 END \
             WHERE id = ?1 AND cursor = ?2 AND attempts = ?3 \
               AND failing_since IS ?4 AND next_attempt_at IS ?5",
        )
        .and_then(|mut st| {
            st.execute(params![
                id,
                id_of(expected.cursor),
                expected.attempts,
                expected.failing_since.map(Timestamp::nanos),
                expected.next_attempt_at.map(Timestamp::nanos),
                id_of(next.cursor),
                next.attempts,
                next.failing_since.map(Timestamp::nanos),
                next.next_attempt_at.map(Timestamp::nanos),
                status.as_ref().map(|(s, _)| s.as_str()),
                status.as_ref().and_then(|(_, r)| r.clone())
            ])
        })
        .map_err(map_err)?;
    if n == 0 || log.is_empty() {
        return Ok(n as u64);
    }
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO sink_attempts (sink_id, event_id, attempt, at, delivered, status, error, \
             duration_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(map_err)?;
    for a in log {
        insert
            .execute(params![
                id,
                id_of(a.event_id),
                a.attempt,
                a.at.nanos(),
                a.delivered,
                a.status,
                a.error,
                i64::try_from(a.duration_ms).unwrap_or(i64::MAX)
            ])
            .map_err(map_err)?;
    }
    // Keep the newest entries only.
    conn.prepare_cached(
        "DELETE FROM sink_attempts WHERE sink_id = ?1 AND id <= \
           (SELECT id FROM sink_attempts WHERE sink_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
    )
    .and_then(|mut st| st.execute(params![id, MAX_LOGGED_ATTEMPTS as i64]))
    .map_err(map_err)?;
    Ok(1)
}

/// `SinkStore::lease_sink`; 1 when `holder` has the lease.
pub(crate) fn lease(
    conn: &Connection,
    id: &str,
    holder: &str,
    now: Timestamp,
    until: Timestamp,
) -> StoreResult<u64> {
    let n = conn
        .prepare_cached(
            "UPDATE sinks SET lease_holder = ?2, lease_until = ?4 WHERE id = ?1 \
             AND (lease_holder IS NULL OR lease_holder = ?2 OR lease_until IS NULL \
                  OR lease_until <= ?3)",
        )
        .and_then(|mut st| st.execute(params![id, holder, now.nanos(), until.nanos()]))
        .map_err(map_err)?;
    Ok(n as u64)
}
