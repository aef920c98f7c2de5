//! The event outbox: appended inside the transaction of the change an event reports, read in
//! id order by subscribers, deleted from the front when retention ends.

use crate::error::map_err;
use rusqlite::{params, Connection, OptionalExtension};
use sessiond_core::events::{EventDraft, EventId, EventType, StoredEvent};
use sessiond_core::{SessionId, StoreError, StoreResult, Timestamp};

/// Appends events (in the caller's transaction).
pub(crate) fn append<'a>(
    conn: &Connection,
    events: impl IntoIterator<Item = &'a EventDraft>,
) -> StoreResult<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO events (at, type, tenant_id, service, session_id, body) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(map_err)?;
    for e in events {
        stmt.execute(params![
            e.at.nanos(),
            e.kind.as_str(),
            e.tenant_id,
            e.service,
            e.session_id.as_ref().map(SessionId::as_str),
            e.body
        ])
        .map_err(map_err)?;
    }
    Ok(())
}

/// The highest id ever given to an event (AUTOINCREMENT keeps it after deletes).
pub(crate) fn last_id(conn: &Connection) -> StoreResult<EventId> {
    let seq: Option<i64> = conn
        .prepare_cached("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
        .and_then(|mut s| s.query_row([], |r| r.get(0)).optional())
        .map_err(map_err)?;
    Ok(seq.map_or(0, |s| s.max(0) as EventId))
}

pub(crate) fn after(
    conn: &Connection,
    after: EventId,
    limit: usize,
) -> StoreResult<Vec<StoredEvent>> {
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, at, type, tenant_id, service, session_id, body FROM events \
             WHERE id > ?1 ORDER BY id LIMIT ?2",
        )
        .map_err(map_err)?;
    let rows = stmt
        .query_map(params![after, limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, u32>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, String>(6)?,
            ))
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(map_err)?;
    rows.into_iter()
        .map(|(id, at, kind, tenant_id, service, session_id, body)| {
            let kind = EventType::parse(&kind)
                .ok_or_else(|| StoreError::Internal(format!("event {id} has type {kind:?}")))?;
            let session_id = match session_id {
                Some(s) => Some(SessionId::parse(&s).ok_or_else(|| {
                    StoreError::Internal(format!("event {id} has session id {s:?}"))
                })?),
                None => None,
            };
            Ok(StoredEvent {
                id: id.max(0) as EventId,
                event: EventDraft {
                    kind,
                    at: Timestamp(at),
                    tenant_id,
                    service,
                    session_id,
                    body,
                },
            })
        })
        .collect()
}

/// Deletes up to `limit` events written before `before`. Events are written in time order,
/// so the old ones are the first ids: the scan stops at the first newer one.
pub(crate) fn purge(conn: &Connection, before: Timestamp, limit: usize) -> StoreResult<u64> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let ids: Vec<(i64, i64)> = conn
        .prepare_cached("SELECT id, at FROM events ORDER BY id LIMIT ?1")
        .and_then(|mut s| {
            s.query_map([limit], |r| Ok((r.get(0)?, r.get(1)?)))
                .and_then(|rows| rows.collect())
        })
        .map_err(map_err)?;
    let upto = ids
        .iter()
        .take_while(|(_, at)| *at < before.nanos())
        .last()
        .map(|(id, _)| *id);
    let Some(upto) = upto else {
        return Ok(0);
    };
    let n = conn
        .prepare_cached("DELETE FROM events WHERE id <= ?1")
        .and_then(|mut s| s.execute([upto]))
        .map_err(map_err)?;
    Ok(n as u64)
}
