//! External-id uniqueness across slots. A session lives in the shard of its id (core draws
//! ids), its external id's claim key in the shard of (tenant, service, node, external_id);
//! in a Cluster the two are different slots, so one script cannot do both. The protocol:
//!
//! 1. claim: SET the claim key to our id if free, with a *pending* TTL;
//! 2. insert the session (its hash records the claim key);
//! 3. confirm: PERSIST the claim (only if still ours). An end frees it (DEL if ours).
//!
//! A claim held by a session that has ended (or whose confirmed holder was purged) is taken
//! over by compare-and-set, so a claim left behind by a crash between an end and its
//! release heals by itself; a pending claim whose insert never happened expires.
//! Residual window: a process dying between 2 and 3 leaves a live session whose claim
//! expires after [`PENDING_MS`]; a duplicate registered after that is not refused. The
//! DESIGN.md alternative (draw ids until one falls in the external id's shard, so one
//! script checks and inserts) needs core to draw ids that way: see `RedisStore::shard_of`.

use crate::RedisStore;
use sessiond_core::{SessionId, StoreError, StoreResult};

/// How long an unconfirmed claim lives.
pub(crate) const PENDING_MS: u64 = 30_000;

impl RedisStore {
    pub(crate) async fn claim(&self, key: &str, id: &SessionId) -> StoreResult<()> {
        let mut expected = String::new();
        for _ in 0..5 {
            let mut inv = self.scripts.claim.key(key);
            inv.arg(id.as_str()).arg(PENDING_MS).arg(&expected);
            let r: Vec<String> = self.conn.script(self.t(), &inv).await?;
            let (holder, pending) = match r.as_slice() {
                [ok] if ok == "ok" => return Ok(()),
                [retry] if retry == "retry" => {
                    expected.clear();
                    continue;
                }
                [holder, p] => (holder.clone(), p == "p"),
                other => return Err(crate::internal(format!("claim answered {other:?}"))),
            };
            let state = match SessionId::parse(&holder) {
                Some(h) => self.state_of_id(&h).await?,
                None => None,
            };
            match state.as_deref() {
                Some("active") => return Err(conflict()),
                None if pending => return Err(conflict()),
                // Ended, or a confirmed holder that was purged: the claim is stale.
                _ => expected = holder,
            }
        }
        Err(StoreError::Unavailable(
            "external id claim is contended; retry".into(),
        ))
    }

    /// Frees (`del`) or confirms (`!del`) a claim, only if `id` holds it.
    pub(crate) async fn release_claim(
        &self,
        key: &str,
        id: &SessionId,
        del: bool,
    ) -> StoreResult<()> {
        let mut inv = self.scripts.release.key(key);
        inv.arg(id.as_str()).arg(if del { "del" } else { "keep" });
        self.conn.script::<i64>(self.t(), &inv).await?;
        Ok(())
    }

    async fn state_of_id(&self, id: &SessionId) -> StoreResult<Option<String>> {
        self.conn
            .query(
                self.t(),
                redis::cmd("HGET").arg(self.layout.session(id)).arg("st"),
            )
            .await
    }
}

fn conflict() -> StoreError {
    StoreError::Conflict("a live session already has this external_id".into())
}
