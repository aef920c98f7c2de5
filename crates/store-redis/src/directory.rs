//! `DirectoryStore` and `AuditStore`: tenants, principals, access keys, login failures and
//! the audit trail, all under one hash tag `{PREFIX.dir}` (small data, one slot, so each
//! change is one atomic script).
//!
//! ```text
//! {P.dir}:tseq           INCR counter of tenant ids
//! {P.dir}:tid            hash name → id        {P.dir}:tname   hash id → name
//! {P.dir}:p              hash principal name → JSON
//! {P.dir}:ak             hash access key → JSON
//! {P.dir}:lf:<name>      hash {c: count, l: last ns}, TTL 1 h (login throttle)
//! {P.dir}:audit          list of JSON records, newest first, capped at AUDIT_CAP
//! {P.dir}:ev, :evseq     the directory's event outbox (principal events; events.rs)
//! ```

use crate::events::items;
use crate::keys::Outbox;
use crate::{internal, RedisStore};
use async_trait::async_trait;
use redis::Script;
use serde::{Deserialize, Serialize};
use sessiond_core::events::EventDraft;
use sessiond_core::filter::TenantScope;
use sessiond_core::store::{AuditStore, DirectoryStore, LoginFailures};
use sessiond_core::{
    AccessKey, AuditRecord, Principal, Role, StoreError, StoreResult, Tenant, TenantId, Timestamp,
    DEFAULT_TENANT_ID, DEFAULT_TENANT_NAME,
};
use std::collections::HashMap;

/// Audit records kept (the oldest fall off). `list_audit` reads the whole list: O(cap).
const AUDIT_CAP: usize = 100_000;
/// How long failed logins are remembered after the last one.
const LOGIN_FAILURE_TTL_MS: u64 = 3_600_000;

pub(crate) struct DirScripts {
    create_tenant: Script,
    ensure_default: Script,
    update_principal: Script,
    delete_keys_of: Script,
    login_failure: Script,
}

impl DirScripts {
    pub(crate) fn new() -> DirScripts {
        DirScripts {
            // KEYS: tseq, tid, tname. ARGV: name. → id, or 0 when the name exists.
            create_tenant: Script::new(
                "if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end \
                 local id = redis.call('INCR', KEYS[1]) \
                 redis.call('HSET', KEYS[2], ARGV[1], id) \
                 redis.call('HSET', KEYS[3], id, ARGV[1]) return id",
            ),
            // Tenant 1 is `default`; later ids start at 2.
            ensure_default: Script::new(
                "if redis.call('HEXISTS', KEYS[3], ARGV[2]) == 0 then \
                   redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) \
                   redis.call('HSET', KEYS[3], ARGV[2], ARGV[1]) end \
                 local seq = tonumber(redis.call('GET', KEYS[1]) or '0') \
                 if seq < tonumber(ARGV[2]) then redis.call('SET', KEYS[1], ARGV[2]) end \
                 return 1",
            ),
            update_principal: crate::scripts::Scripts::update_principal(),
            // KEYS[1] the access-key hash. ARGV: principal. Deletes that principal's keys.
            delete_keys_of: Script::new(
                "local all = redis.call('HGETALL', KEYS[1]) local n = 0 \
                 for i = 1, #all, 2 do \
                   if cjson.decode(all[i + 1]).principal == ARGV[1] then \
                     redis.call('HDEL', KEYS[1], all[i]) n = n + 1 end end \
                 return n",
            ),
            // KEYS[1] the failure hash. ARGV: at (ns), ttl ms. → the new count.
            login_failure: Script::new(
                "local c = redis.call('HINCRBY', KEYS[1], 'c', 1) \
                 redis.call('HSET', KEYS[1], 'l', ARGV[1]) \
                 redis.call('PEXPIRE', KEYS[1], ARGV[2]) return c",
            ),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct StoredPrincipal {
    name: String,
    tenant: u32,
    role: String,
    hash: String,
    disabled: bool,
    created: i64,
}

#[derive(Serialize, Deserialize)]
struct StoredKey {
    access_key: String,
    principal: String,
    tenant: u32,
    created: i64,
    secret: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct StoredAudit {
    at: i64,
    actor: String,
    tenant: u32,
    action: String,
    target: String,
    origin: Option<String>,
    detail: Option<String>,
}

fn to_json<T: Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(internal)
}

fn principal_json(p: &Principal) -> StoreResult<String> {
    to_json(&StoredPrincipal {
        name: p.name.clone(),
        tenant: p.tenant_id,
        role: p.role.as_str().into(),
        hash: p.password_hash.clone(),
        disabled: p.disabled,
        created: p.created_at.nanos(),
    })
}

fn principal_of(s: &str) -> StoreResult<Principal> {
    let p: StoredPrincipal = serde_json::from_str(s).map_err(internal)?;
    Ok(Principal {
        role: Role::parse(&p.role).ok_or_else(|| internal("bad role"))?,
        name: p.name,
        tenant_id: p.tenant,
        password_hash: p.hash,
        disabled: p.disabled,
        created_at: Timestamp(p.created),
    })
}

fn key_of(s: &str) -> StoreResult<AccessKey> {
    let k: StoredKey = serde_json::from_str(s).map_err(internal)?;
    Ok(AccessKey {
        access_key: k.access_key,
        principal: k.principal,
        tenant_id: k.tenant,
        created_at: Timestamp(k.created),
        sealed_secret: k.secret,
    })
}

impl RedisStore {
    pub(crate) async fn ensure_default_tenant(&self) -> StoreResult<()> {
        let l = &self.layout;
        let mut inv = self.scripts.dir.ensure_default.key(l.dir("tseq"));
        inv.key(l.dir("tid"))
            .key(l.dir("tname"))
            .arg(DEFAULT_TENANT_NAME)
            .arg(DEFAULT_TENANT_ID);
        self.conn.script::<i64>(self.t(), &inv).await?;
        Ok(())
    }

    pub(crate) async fn hget(&self, key: String, field: &str) -> StoreResult<Option<String>> {
        self.conn
            .query(self.t(), redis::cmd("HGET").arg(key).arg(field))
            .await
    }

    pub(crate) async fn hgetall(&self, key: String) -> StoreResult<HashMap<String, String>> {
        self.conn
            .query(self.t(), redis::cmd("HGETALL").arg(key))
            .await
    }

    /// Directory writes are few and matter on every replica: WAIT like sessions do.
    pub(crate) async fn dir_wait(&self) -> StoreResult<()> {
        self.conn
            .wait(
                self.tw(),
                &self.layout.dir("p"),
                self.wait_n,
                self.opts.wait_timeout,
            )
            .await
    }
}

#[async_trait]
impl DirectoryStore for RedisStore {
    async fn create_tenant(&self, name: &str) -> StoreResult<Tenant> {
        let l = &self.layout;
        let mut inv = self.scripts.dir.create_tenant.key(l.dir("tseq"));
        inv.key(l.dir("tid")).key(l.dir("tname")).arg(name);
        let id: i64 = self.conn.script(self.t(), &inv).await?;
        if id == 0 {
            return Err(StoreError::Conflict(format!("tenant {name} exists")));
        }
        self.dir_wait().await?;
        Ok(Tenant {
            id: TenantId::try_from(id).map_err(|_| internal("tenant ids exhausted"))?,
            name: name.to_string(),
        })
    }

    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>> {
        let id = self.hget(self.layout.dir("tid"), name).await?;
        id.map(|i| {
            Ok(Tenant {
                id: i.parse().map_err(|_| internal("bad tenant id"))?,
                name: name.to_string(),
            })
        })
        .transpose()
    }

    async fn tenant_by_id(&self, id: TenantId) -> StoreResult<Option<Tenant>> {
        let name = self.hget(self.layout.dir("tname"), &id.to_string()).await?;
        Ok(name.map(|name| Tenant { id, name }))
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        let all = self.hgetall(self.layout.dir("tname")).await?;
        let mut v: Vec<Tenant> = all
            .into_iter()
            .filter_map(|(id, name)| id.parse().ok().map(|id| Tenant { id, name }))
            .collect();
        v.sort_by_key(|t| t.id);
        Ok(v)
    }

    async fn create_principal(&self, p: &Principal) -> StoreResult<()> {
        let mut c = redis::cmd("HSETNX");
        c.arg(self.layout.dir("p"))
            .arg(&p.name)
            .arg(principal_json(p)?);
        let set: i64 = self.conn.query(self.t(), &c).await?;
        if set == 0 {
            return Err(StoreError::Conflict(format!("principal {} exists", p.name)));
        }
        self.dir_wait().await
    }

    async fn get_principal(&self, name: &str) -> StoreResult<Option<Principal>> {
        self.hget(self.layout.dir("p"), name)
            .await?
            .map(|s| principal_of(&s))
            .transpose()
    }

    async fn list_principals(&self, scope: &TenantScope) -> StoreResult<Vec<Principal>> {
        let mut v = Vec::new();
        for s in self.hgetall(self.layout.dir("p")).await?.values() {
            let p = principal_of(s)?;
            if scope.contains(p.tenant_id) {
                v.push(p);
            }
        }
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(v)
    }

    async fn update_principal(&self, p: &Principal, event: Option<&EventDraft>) -> StoreResult<()> {
        let mut inv = self.scripts.dir.update_principal.key(self.layout.dir("p"));
        let ev = event.map(items).unwrap_or_default();
        inv.arg(self.layout.dir_base())
            .arg(&p.name)
            .arg(principal_json(p)?)
            .arg(ev.len());
        for item in &ev {
            inv.arg(item);
        }
        let r: Vec<String> = self.conn.script(self.t(), &inv).await?;
        if r.first().map(String::as_str) != Some("1") {
            return Err(StoreError::NotFound);
        }
        let position: u64 = r
            .get(1)
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| internal(format!("update_principal answered {r:?}")))?;
        self.dir_wait().await?;
        if position > 0 {
            self.events
                .after_change(&[(Outbox::Dir, position, ev)])
                .await;
        }
        Ok(())
    }

    async fn count_principals(&self) -> StoreResult<u64> {
        self.conn
            .query(self.t(), redis::cmd("HLEN").arg(self.layout.dir("p")))
            .await
    }

    async fn create_access_key(&self, k: &AccessKey) -> StoreResult<()> {
        let json = to_json(&StoredKey {
            access_key: k.access_key.clone(),
            principal: k.principal.clone(),
            tenant: k.tenant_id,
            created: k.created_at.nanos(),
            secret: k.sealed_secret.clone(),
        })?;
        let mut c = redis::cmd("HSETNX");
        c.arg(self.layout.dir("ak")).arg(&k.access_key).arg(json);
        let set: i64 = self.conn.query(self.t(), &c).await?;
        if set == 0 {
            return Err(StoreError::Conflict("access key exists".into()));
        }
        self.dir_wait().await
    }

    async fn get_access_key(&self, access_key: &str) -> StoreResult<Option<AccessKey>> {
        self.hget(self.layout.dir("ak"), access_key)
            .await?
            .map(|s| key_of(&s))
            .transpose()
    }

    async fn list_access_keys(&self, principal: &str) -> StoreResult<Vec<AccessKey>> {
        let mut v = Vec::new();
        for s in self.hgetall(self.layout.dir("ak")).await?.values() {
            let k = key_of(s)?;
            if k.principal == principal {
                v.push(k);
            }
        }
        v.sort_by(|a, b| (a.created_at, &a.access_key).cmp(&(b.created_at, &b.access_key)));
        Ok(v)
    }

    async fn delete_access_key(&self, access_key: &str) -> StoreResult<bool> {
        let n: i64 = self
            .conn
            .query(
                self.t(),
                redis::cmd("HDEL")
                    .arg(self.layout.dir("ak"))
                    .arg(access_key),
            )
            .await?;
        self.dir_wait().await?;
        Ok(n > 0)
    }

    async fn delete_access_keys_of(&self, principal: &str) -> StoreResult<u64> {
        let mut inv = self.scripts.dir.delete_keys_of.key(self.layout.dir("ak"));
        inv.arg(principal);
        let n: u64 = self.conn.script(self.t(), &inv).await?;
        self.dir_wait().await?;
        Ok(n)
    }

    async fn login_failures(&self, name: &str) -> StoreResult<Option<LoginFailures>> {
        let h = self.hgetall(self.layout.dir(&format!("lf:{name}"))).await?;
        let (Some(c), Some(l)) = (h.get("c"), h.get("l")) else {
            return Ok(None);
        };
        Ok(Some(LoginFailures {
            count: c.parse().map_err(|_| internal("bad failure count"))?,
            last: Timestamp(l.parse().map_err(|_| internal("bad failure time"))?),
        }))
    }

    async fn record_login_failure(&self, name: &str, at: Timestamp) -> StoreResult<LoginFailures> {
        let mut inv = self
            .scripts
            .dir
            .login_failure
            .key(self.layout.dir(&format!("lf:{name}")));
        inv.arg(at.nanos()).arg(LOGIN_FAILURE_TTL_MS);
        let count: i64 = self.conn.script(self.t(), &inv).await?;
        Ok(LoginFailures {
            count: u32::try_from(count).unwrap_or(u32::MAX),
            last: at,
        })
    }

    async fn clear_login_failures(&self, name: &str) -> StoreResult<()> {
        self.conn
            .query::<i64>(
                self.t(),
                redis::cmd("DEL").arg(self.layout.dir(&format!("lf:{name}"))),
            )
            .await?;
        Ok(())
    }
}

#[async_trait]
impl AuditStore for RedisStore {
    async fn append_audit(&self, records: &[AuditRecord]) -> StoreResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        let key = self.layout.dir("audit");
        let mut p = redis::pipe();
        p.atomic();
        for r in records {
            let json = to_json(&StoredAudit {
                at: r.at.nanos(),
                actor: r.actor.clone(),
                tenant: r.tenant_id,
                action: r.action.clone(),
                target: r.target.clone(),
                origin: r.origin.clone(),
                detail: r.detail.clone(),
            })?;
            p.cmd("LPUSH").arg(&key).arg(json).ignore();
        }
        p.cmd("LTRIM").arg(&key).arg(0).arg(AUDIT_CAP - 1).ignore();
        self.conn.pipe::<()>(self.t(), &p).await?;
        self.dir_wait().await
    }

    /// Newest first (by time, then by insertion).
    async fn list_audit(&self, scope: &TenantScope, limit: usize) -> StoreResult<Vec<AuditRecord>> {
        let all: Vec<String> = self
            .conn
            .query(
                self.t(),
                redis::cmd("LRANGE")
                    .arg(self.layout.dir("audit"))
                    .arg(0)
                    .arg(-1),
            )
            .await?;
        let mut v = Vec::new();
        for s in all {
            let a: StoredAudit = serde_json::from_str(&s).map_err(internal)?;
            if scope.contains(a.tenant) {
                v.push(AuditRecord {
                    at: Timestamp(a.at),
                    actor: a.actor,
                    tenant_id: a.tenant,
                    action: a.action,
                    target: a.target,
                    origin: a.origin,
                    detail: a.detail,
                });
            }
        }
        // The list is newest-inserted first; a stable sort keeps that order among equal times.
        v.sort_by_key(|a| std::cmp::Reverse(a.at));
        v.truncate(limit);
        Ok(v)
    }
}
