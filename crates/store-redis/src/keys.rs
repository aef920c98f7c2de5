//! The key layout. Every key of shard N starts with the hash tag `{PREFIX.N}`, so one
//! session's hash and all of its shard's indexes share a slot and a Lua script may touch
//! them together; the directory lives under `{PREFIX.dir}`.
//!
//! ```text
//! {P.N}:s:<id>                      hash: one session (fields in record.rs)
//! {P.N}:i:<tenant|*>:l:<what>       sorted set of ids (score 0, lexicographic): live
//!                                   sessions of a tenant (or of all, `*`) by
//!                                   `all`, `svc:…`, `node:…`, `name:<folded>`, `sid:<UPPER>`,
//!                                   `uid:…`, `gid:…`, `aid:…`, `xid:…`, `share:…`, `own:…`
//! {P.N}:i:<tenant|*>:e:all          the same for ended sessions, by `all` only: an end moves
//!                                   a session out of every live index and into this one
//!                                   (two ZADDs, not one per word); lists of tombstones scan
//!                                   it and filter each candidate
//! {P.N}:due                         sorted set `<deadline>:<id>` of live sessions (sweeper);
//!                                   lazy: an entry may be earlier than the deadline (a touch
//!                                   moves only the hash's `ex`; the sweep moves the entry)
//! {P.N}:ended                       sorted set `<ended_at>:<id>` of tombstones (purge)
//! {P.N}:tix                         hash id → "<tenant>" of tombstones, so a purge can clean
//!                                   the ended index of an expired key
//! {P.N}:x:<tenant>:<svc>:<len>:<node>:<xid>  the id of the live session holding an
//!                                   external id (`-:` when there is no node)
//! ```
//!
//! A session with an external id lives in the shard of (tenant, service, node, external_id):
//! `RedisStore::accepts_id` refuses other ids and core draws again, so the `x` key and the
//! session share a slot and one script checks, inserts and (at the end) releases.
//!
//! Times are members, not scores: nanoseconds exceed f64's 53 bits, so they are written as
//! 20 zero-padded digits of `ns + 2^63`, which sort as the numbers do.

use sessiond_core::identity::{fnv1a32, fold};
use sessiond_core::{Session, SessionId, Timestamp};

/// The 20-digit order-preserving form of a timestamp.
pub(crate) fn pad(t: Timestamp) -> String {
    let shifted = (i128::from(t.nanos()) + (1i128 << 63)) as u64;
    format!("{shifted:020}")
}

pub(crate) fn unpad(s: &str) -> Option<Timestamp> {
    let v: u64 = s.parse().ok()?;
    Some(Timestamp((i128::from(v) - (1i128 << 63)) as i64))
}

#[derive(Clone, Debug)]
pub(crate) struct Layout {
    prefix: String,
    pub(crate) shards: u16,
}

impl Layout {
    pub(crate) fn new(prefix: &str, shards: u16) -> Layout {
        Layout {
            prefix: prefix.to_string(),
            shards,
        }
    }

    /// The shard of a session id: what a token or URL id finds its key with.
    pub(crate) fn shard_of(&self, id: &SessionId) -> u16 {
        (fnv1a32(id.as_str().as_bytes()) % u32::from(self.shards)) as u16
    }

    /// `{P.N}`: the prefix of every key of shard N (scripts build index keys from it).
    pub(crate) fn base(&self, shard: u16) -> String {
        format!("{{{}.{}}}", self.prefix, shard)
    }

    pub(crate) fn session(&self, id: &SessionId) -> String {
        format!("{}:s:{}", self.base(self.shard_of(id)), id)
    }

    pub(crate) fn index(&self, shard: u16, tenant: Option<u32>, ended: bool, what: &str) -> String {
        let t = tenant.map_or_else(|| "*".to_string(), |t| t.to_string());
        let st = if ended { "e" } else { "l" };
        format!("{}:i:{}:{}:{}", self.base(shard), t, st, what)
    }

    pub(crate) fn due(&self, shard: u16) -> String {
        format!("{}:due", self.base(shard))
    }

    pub(crate) fn ended(&self, shard: u16) -> String {
        format!("{}:ended", self.base(shard))
    }

    /// The shard and the `what` part of a session's external-id key, when it has one:
    /// (tenant, service, node, external_id), hashed like an id.
    fn external_parts(&self, s: &Session) -> Option<(u16, String)> {
        let xid = s.external_id.as_ref()?;
        // Lengths make the parts unambiguous whatever characters node and xid contain.
        let node = match &s.node_id {
            Some(n) => format!("{}:{}", n.len(), n),
            None => "-:".to_string(),
        };
        let what = format!("{}:{}:{}:{}", s.tenant_id, s.service, node, xid);
        let shard = (fnv1a32(what.as_bytes()) % u32::from(self.shards)) as u16;
        Some((shard, what))
    }

    /// The shard a session must live in: that of its external id when it has one (so one
    /// script checks uniqueness and inserts), else any.
    pub(crate) fn external_shard(&self, s: &Session) -> Option<u16> {
        self.external_parts(s).map(|(shard, _)| shard)
    }

    /// The key naming the live session that holds an external id, in the external id's
    /// shard (which is also that session's shard).
    pub(crate) fn external(&self, s: &Session) -> Option<String> {
        let (shard, what) = self.external_parts(s)?;
        Some(format!("{}:x:{}", self.base(shard), what))
    }

    /// A directory key (`{P.dir}:…`): small data, one slot.
    pub(crate) fn dir(&self, what: &str) -> String {
        format!("{{{}.dir}}:{}", self.prefix, what)
    }
}

/// The index entries (`what` parts) of the fields fixed at registration (hash field `ixf`).
pub(crate) fn fixed_entries(s: &Session) -> Vec<String> {
    let mut v = vec![
        "all".to_string(),
        format!("svc:{}", s.service),
        format!("own:{}", s.owner),
    ];
    if let Some(n) = &s.node_id {
        v.push(format!("node:{n}"));
    }
    if let Some(x) = &s.external_id {
        v.push(format!("xid:{x}"));
    }
    v
}

/// The index entries of the fields `update_live` may change (hash field `ixm`), deduplicated.
pub(crate) fn mutable_entries(s: &Session) -> Vec<String> {
    let mut v = Vec::new();
    let u = &s.user;
    if let Some(n) = &u.name {
        v.push(format!("name:{}", fold(n)));
    }
    if let Some(sid) = &u.sid {
        v.push(format!("sid:{}", sid.to_ascii_uppercase()));
    }
    if let Some(n) = u.uid {
        v.push(format!("uid:{n}"));
    }
    if let Some(n) = u.gid {
        v.push(format!("gid:{n}"));
    }
    if let Some(n) = u.auth_id {
        v.push(format!("aid:{n}"));
    }
    for sh in &s.share_names {
        v.push(format!("share:{sh}"));
    }
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_times_sort_like_numbers_and_round_trip() {
        let ts = [i64::MIN, -5, 0, 1, 1_795_392_000_000_000_000, i64::MAX];
        for w in ts.windows(2) {
            assert!(pad(Timestamp(w[0])) < pad(Timestamp(w[1])));
        }
        for t in ts {
            assert_eq!(unpad(&pad(Timestamp(t))), Some(Timestamp(t)));
            assert_eq!(pad(Timestamp(t)).len(), 20);
        }
    }
}
