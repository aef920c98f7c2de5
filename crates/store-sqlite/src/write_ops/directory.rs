//! The writes to the directory (tenants, principals, access keys, login throttle) and the
//! audit trail, inside the writer's transaction.

use super::{done, Applied, WriteOp, WriteReply};
use crate::error::map_err;
use rusqlite::{params, Connection, OptionalExtension};
use sessiond_core::store::LoginFailures;
use sessiond_core::{
    AccessKey, AuditRecord, Principal, StoreError, StoreResult, Tenant, Timestamp,
};

pub(crate) fn apply(conn: &Connection, op: &WriteOp) -> StoreResult<Applied> {
    match op {
        WriteOp::CreateTenant(name) => Ok(Applied {
            reply: WriteReply::Tenant(create_tenant(conn, name)?),
            rollback: false,
        }),
        WriteOp::CreatePrincipal(p) => {
            create_principal(conn, p)?;
            done()
        }
        WriteOp::UpdatePrincipal(p, event) => {
            update_principal(conn, p)?;
            crate::events::append(conn, event)?;
            done()
        }
        WriteOp::CreateAccessKey(k) => {
            create_access_key(conn, k)?;
            done()
        }
        WriteOp::DeleteAccessKeys {
            access_key,
            principal,
        } => Ok(Applied {
            reply: WriteReply::Deleted(delete_access_keys(
                conn,
                access_key.as_deref(),
                principal.as_deref(),
            )?),
            rollback: false,
        }),
        WriteOp::AppendAudit(records) => {
            append_audit(conn, records)?;
            done()
        }
        WriteOp::PurgeLoginFailures(before, limit) => Ok(Applied {
            reply: WriteReply::Purged(purge_login_failures(conn, *before, *limit)?),
            rollback: false,
        }),
        WriteOp::LoginFailure(name, at) => Ok(Applied {
            reply: WriteReply::Failures(login_failure(conn, name, *at)?),
            rollback: false,
        }),
        WriteOp::ClearLoginFailures(name) => {
            conn.prepare_cached("DELETE FROM login_failures WHERE name = ?1")
                .and_then(|mut s| s.execute([name]))
                .map_err(map_err)?;
            done()
        }
        other => Err(StoreError::Internal(format!(
            "{other:?} is not a directory write"
        ))),
    }
}

fn create_tenant(conn: &Connection, name: &str) -> StoreResult<Tenant> {
    conn.prepare_cached("INSERT INTO tenants (name) VALUES (?1)")
        .and_then(|mut s| s.execute([name]))
        .map_err(map_err)?;
    let id = u32::try_from(conn.last_insert_rowid())
        .map_err(|_| StoreError::Internal("tenant ids exhausted".into()))?;
    Ok(Tenant {
        id,
        name: name.to_string(),
    })
}

fn create_principal(conn: &Connection, p: &Principal) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO principals (name, tenant_id, role, password_hash, disabled, \
         created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut s| {
        s.execute(params![
            p.name,
            p.tenant_id,
            p.role.as_str(),
            p.password_hash,
            p.disabled,
            p.created_at.nanos()
        ])
    })
    .map_err(map_err)?;
    Ok(())
}

/// Sets role, password hash and disabled flag; `NotFound` if there is no such principal.
fn update_principal(conn: &Connection, p: &Principal) -> StoreResult<()> {
    let n = conn
        .prepare_cached(
            "UPDATE principals SET role = ?2, password_hash = ?3, disabled = ?4 \
             WHERE name = ?1",
        )
        .and_then(|mut s| {
            s.execute(params![
                p.name,
                p.role.as_str(),
                p.password_hash,
                p.disabled
            ])
        })
        .map_err(map_err)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

fn create_access_key(conn: &Connection, k: &AccessKey) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO access_keys (access_key, principal, tenant_id, created_at, \
         sealed_secret) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| {
        s.execute(params![
            k.access_key,
            k.principal,
            k.tenant_id,
            k.created_at.nanos(),
            k.sealed_secret
        ])
    })
    .map_err(map_err)?;
    Ok(())
}

/// Deletes one key (`access_key` given) or every key of `principal`; returns how many.
fn delete_access_keys(
    conn: &Connection,
    access_key: Option<&str>,
    principal: Option<&str>,
) -> StoreResult<u64> {
    let n = match (access_key, principal) {
        (Some(k), _) => conn
            .prepare_cached("DELETE FROM access_keys WHERE access_key = ?1")
            .and_then(|mut s| s.execute([k])),
        (None, Some(p)) => conn
            .prepare_cached("DELETE FROM access_keys WHERE principal = ?1")
            .and_then(|mut s| s.execute([p])),
        (None, None) => Ok(0),
    }
    .map_err(map_err)?;
    Ok(n as u64)
}

pub(super) fn append_audit(conn: &Connection, records: &[AuditRecord]) -> StoreResult<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO audit (at, actor, tenant_id, action, target, origin, detail) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(map_err)?;
    for r in records {
        stmt.execute(params![
            r.at.nanos(),
            r.actor,
            r.tenant_id,
            r.action,
            r.target,
            r.origin,
            r.detail
        ])
        .map_err(map_err)?;
    }
    Ok(())
}

/// Adds one failure and returns the new count (an upsert, so concurrent writers each count).
/// No index on `last_at`: the table holds one row per name or address that failed within
/// the last hour or so, and the sweeper's scan of it is that small.
fn purge_login_failures(conn: &Connection, before: Timestamp, limit: usize) -> StoreResult<u64> {
    let n = conn
        .prepare_cached(
            "DELETE FROM login_failures WHERE name IN \
             (SELECT name FROM login_failures WHERE last_at < ?1 LIMIT ?2)",
        )
        .and_then(|mut s| s.execute(params![before.nanos(), limit as i64]))
        .map_err(map_err)?;
    Ok(n as u64)
}

fn login_failure(conn: &Connection, name: &str, at: Timestamp) -> StoreResult<LoginFailures> {
    let count: Option<u32> = conn
        .prepare_cached(
            "INSERT INTO login_failures (name, count, last_at) VALUES (?1, 1, ?2) \
             ON CONFLICT (name) DO UPDATE SET count = count + 1, last_at = ?2 \
             RETURNING count",
        )
        .and_then(|mut s| {
            s.query_row(params![name, at.nanos()], |r| r.get(0))
                .optional()
        })
        .map_err(map_err)?;
    Ok(LoginFailures {
        count: count.unwrap_or(1),
        last: at,
    })
}
