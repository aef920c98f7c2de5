//! The key layout. Every key of shard N starts with its hash tag `{PREFIX.N.k}` (k: see
//! [`LAYOUT_V2`]; `{PREFIX.N}` in layout 1), so one
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
//! {P.dir}:layout                    `<version>:<shards>` of this data set (LAYOUT_V2)
//! {P.N}:x:<tenant>:<svc>:<len>:<node>:<xid>  the id of the live session holding an
//!                                   external id (`-:` when there is no node)
//! {P.N}:st:pairs                    set `<tenant>:<service>` of the pairs with live sessions
//!                                   in the shard (stats.rs; their live counts are the ZCARD
//!                                   of `i:<tenant>:l:svc:<service>`)
//! {P.N}:st:h:<hour>                 hash `o:<tenant>:<service>` / `e:…` → sessions opened /
//!                                   ended in that Unix hour; expires 8 days after its first
//!                                   write (lua/counters.lua)
//! {P.N}:st:hours                    sorted set of the hours that have an `st:h` hash
//! {P.N}:st:ready                    set once `st:pairs` holds the sessions written before
//!                                   it existed (stats.rs, at connect)
//! {P.N}:ev                          stream: shard N's event outbox. insert.lua and end.lua
//!                                   append each event with its change (outbox.lua); entry
//!                                   id `<position>-1`, fields at, type, tenant, svc, sid,
//!                                   body (svc, sid only when the event has them); trimmed
//!                                   (background) once a WAIT confirmed the relay
//! {P.N}:evseq                       INCR counter: the last outbox position given
//! {P.dir}:ev, {P.dir}:evseq         the directory's outbox (principal events), the same way
//! {P.events}:all                    stream of every event: entry id `<event id>-1`, the
//!                                   outbox entry's fields; retention trims it from the front
//! {P.events}:seq                    INCR counter: the last event id given (never reset, so
//!                                   an id is never given twice)
//! {P.events}:relayed                hash outbox key → last outbox position moved into `all`
//! ```
//!
//! Events (events.rs): a change's script appends its event to the outbox of its own slot,
//! atomically with the change; relay.lua (on the `{P.events}` slot) then moves outbox
//! entries into `all` in position order, skipping positions already moved, and the replica
//! that made the change runs it before answering. Every replica also relays every outbox
//! in the background.
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

/// Layout versions, recorded under `{P.dir}:layout` as `<version>:<shards>` by the first
/// replica that connects, so that every later one uses the same key names.
/// 1: shard N's hash tag is `P.N`. 2: the tag is `P.N.k`, k chosen so that the tags of the
/// S shards fall in S equal slot ranges: a Cluster whose primaries own equal slot ranges
/// then gets an equal share of shards (16 plain tags gave one of three primaries 7).
pub(crate) const LAYOUT_V1: u32 = 1;
pub(crate) const LAYOUT_V2: u32 = 2;

/// Redis Cluster's key slot of a hash tag's content.
fn slot(tag: &str) -> u32 {
    u32::from(crc16::State::<crc16::XMODEM>::calculate(tag.as_bytes())) % 16384
}

/// Shard `n`'s tag in layout 2: the first `P.n.k` whose slot is in the n-th of `shards`
/// equal slot ranges (about `shards` tries; the bound is never reached in practice).
fn balanced_tag(prefix: &str, n: u16, shards: u16) -> String {
    let (lo, hi) = (
        u32::from(n) * 16384 / u32::from(shards),
        (u32::from(n) + 1) * 16384 / u32::from(shards),
    );
    (0..1_000_000u32)
        .map(|k| format!("{prefix}.{n}.{k}"))
        .find(|t| (lo..hi).contains(&slot(t)))
        .unwrap_or_else(|| format!("{prefix}.{n}"))
}

/// Where a change's event is first written: the outbox in the change's own slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outbox {
    /// Shard N's (session events).
    Shard(u16),
    /// The directory's (principal events).
    Dir,
}

#[derive(Clone, Debug)]
pub(crate) struct Layout {
    prefix: String,
    pub(crate) shards: u16,
    /// Hash tag of each shard (without braces).
    tags: Vec<String>,
}

impl Layout {
    pub(crate) fn new(prefix: &str, shards: u16, version: u32) -> Layout {
        let tags = (0..shards)
            .map(|n| {
                if version >= LAYOUT_V2 {
                    balanced_tag(prefix, n, shards)
                } else {
                    format!("{prefix}.{n}")
                }
            })
            .collect();
        Layout {
            prefix: prefix.to_string(),
            shards,
            tags,
        }
    }

    /// The shard of a session id: what a token or URL id finds its key with.
    pub(crate) fn shard_of(&self, id: &SessionId) -> u16 {
        (fnv1a32(id.as_str().as_bytes()) % u32::from(self.shards)) as u16
    }

    /// `{tag}`: the prefix of every key of shard N (scripts build index keys from it).
    pub(crate) fn base(&self, shard: u16) -> String {
        match self.tags.get(usize::from(shard)) {
            Some(t) => format!("{{{t}}}"),
            None => format!("{{{}.{}}}", self.prefix, shard),
        }
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

    /// `st:pairs`, `st:hours` or `st:ready` of shard N (stats.rs).
    pub(crate) fn stats(&self, shard: u16, what: &str) -> String {
        format!("{}:st:{}", self.base(shard), what)
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
        format!("{}:{}", self.dir_base(), what)
    }

    /// `{P.dir}`: the prefix of every directory key (the principal script builds its
    /// outbox's keys from it).
    pub(crate) fn dir_base(&self) -> String {
        format!("{{{}.dir}}", self.prefix)
    }

    /// A key of the global event stream's slot (`{P.events}:…`).
    pub(crate) fn events(&self, what: &str) -> String {
        format!("{{{}.events}}:{}", self.prefix, what)
    }

    /// The slot prefix an outbox's keys are built from (the `base` of its scripts).
    pub(crate) fn outbox_base(&self, o: Outbox) -> String {
        match o {
            Outbox::Shard(n) => self.base(n),
            Outbox::Dir => self.dir_base(),
        }
    }

    /// An outbox's stream (`<base>:ev`); also its name in `{P.events}:relayed`.
    pub(crate) fn outbox(&self, o: Outbox) -> String {
        format!("{}:ev", self.outbox_base(o))
    }

    /// An outbox's position counter (`<base>:evseq`).
    pub(crate) fn outbox_seq(&self, o: Outbox) -> String {
        format!("{}:evseq", self.outbox_base(o))
    }

    /// Every outbox: one per shard and the directory's.
    pub(crate) fn outboxes(&self) -> Vec<Outbox> {
        (0..self.shards)
            .map(Outbox::Shard)
            .chain(std::iter::once(Outbox::Dir))
            .collect()
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
    fn balanced_tags_fall_in_equal_slot_ranges() {
        for shards in [1u16, 3, 16, 1024] {
            let l = Layout::new("sessiond", shards, LAYOUT_V2);
            for n in 0..shards {
                let b = l.base(n);
                let tag = b.trim_start_matches('{').trim_end_matches('}');
                let s = slot(tag);
                assert!(
                    s * u32::from(shards) / 16384 == u32::from(n),
                    "{b} slot {s}"
                );
            }
        }
        // Three primaries with equal slot ranges hold 5 or 6 of 16 shards each.
        let l = Layout::new("sessiond", 16, LAYOUT_V2);
        let mut per = [0; 3];
        for n in 0..16 {
            let b = l.base(n);
            per[(slot(b.trim_matches(['{', '}'])) * 3 / 16384) as usize] += 1;
        }
        assert!(per.iter().all(|&c| (5..=6).contains(&c)), "{per:?}");
        assert_eq!(Layout::new("p", 4, LAYOUT_V1).base(3), "{p.3}");
    }

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
