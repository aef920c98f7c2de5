//! Coalesces last-activity touches in memory so that validate costs no write of its own;
//! a flusher drains it into one store transaction at least once a second.

use crate::domain::SessionId;
use crate::store::Touch;
use crate::time::Timestamp;
use std::collections::HashMap;
use std::sync::Mutex;

/// Sharded to keep validate's lock short under concurrency.
pub struct TouchBuffer {
    shards: Vec<Mutex<HashMap<SessionId, Touch>>>,
}

const SHARDS: usize = 16;

impl Default for TouchBuffer {
    fn default() -> Self {
        TouchBuffer {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }
}

impl TouchBuffer {
    fn shard(&self, id: &SessionId) -> &Mutex<HashMap<SessionId, Touch>> {
        let h = crate::identity::fnv1a32(id.as_str().as_bytes()) as usize;
        &self.shards[h % SHARDS]
    }

    /// Records activity; later touches win for time and deadline, call counts add up.
    pub fn record(&self, id: &SessionId, at: Timestamp, calls: u64, expires_at: Option<Timestamp>) {
        let mut map = match self.shard(id).lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        map.entry(id.clone())
            .and_modify(|t| {
                if at >= t.at {
                    t.at = at;
                    t.expires_at = expires_at;
                }
                t.calls += calls;
            })
            .or_insert(Touch {
                id: id.clone(),
                at,
                calls,
                expires_at,
            });
    }

    /// The latest buffered activity for a session, if any (validate's timeout check must see
    /// activity that has not been flushed yet).
    pub fn pending(&self, id: &SessionId) -> Option<(Timestamp, u64)> {
        let map = match self.shard(id).lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        map.get(id).map(|t| (t.at, t.calls))
    }

    /// Takes everything buffered so far.
    pub fn drain(&self) -> Vec<Touch> {
        let mut out = Vec::new();
        for s in &self.shards {
            let mut map = match s.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            out.extend(map.drain().map(|(_, t)| t));
        }
        out
    }

    /// Puts touches back after a failed flush, without overwriting newer ones.
    pub fn restore(&self, touches: Vec<Touch>) {
        for t in touches {
            self.record(&t.id.clone(), t.at, t.calls, t.expires_at);
        }
    }
}
