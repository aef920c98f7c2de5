//! Lists, counts and the highest matching id: fan out to every shard concurrently, read
//! candidate ids from the shard's narrowest index in id order (ZRANGEBYLEX after the
//! cursor), merge them by id across shards, then fetch candidates in that global order and
//! keep those core's `SessionFilter::matches` accepts.
//!
//! The merge is lazy: ids are read a batch per shard at a time, and only ids up to the
//! lowest id any unfinished shard has read so far can be ordered; so a page of `limit`
//! loads about `limit` sessions (not `limit` per shard). When the chosen index answers the
//! filter by itself ("exact": a live-session filter on only what the key encodes), no
//! session needs checking, and counts and maxima come from the index alone (ZLEXCOUNT,
//! ZREVRANGEBYLEX … LIMIT 0 1).
//!
//! A page is bounded: it examines at most [`scan_budget`] candidates, in global id order;
//! `next` resumes after the last one examined, so a walk never skips or repeats a session
//! that lives through it.
//!
//! Cost: `count_sessions` and `max_matching_id` are exact. With an exact index they cost
//! one command per shard; otherwise they read every candidate of the narrowest index of
//! each shard (one pass, in batches): O(candidates).

use crate::keys::Layout;
use crate::record::decode;
use crate::{RedisStore, StoreError};
use futures_util::future::try_join_all;
use sessiond_core::filter::{ListQuery, Page, SessionFilter, StateFilter, TenantScope};
use sessiond_core::identity::IdentityQuery;
use sessiond_core::{Session, SessionId, StoreResult};
use std::collections::HashMap;

/// Candidates a page may examine in total (as the SQLite store bounds its scans).
fn scan_budget(limit: usize) -> usize {
    limit.saturating_mul(8).max(10_000)
}

/// Ids read per round trip while scanning.
const BATCH: usize = 256;

/// The index entries (`what`) that could answer `f`, best guess first; always ends with `all`.
fn candidates(f: &SessionFilter) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(x) = &f.external_id {
        v.push(format!("xid:{x}"));
    }
    match &f.identity {
        Some(IdentityQuery::Name { folded, .. }) => v.push(format!("name:{folded}")),
        Some(IdentityQuery::Sid(s)) => v.push(format!("sid:{}", s.to_ascii_uppercase())),
        Some(IdentityQuery::Uid(n)) => v.push(format!("uid:{n}")),
        Some(IdentityQuery::Gid(n)) => v.push(format!("gid:{n}")),
        Some(IdentityQuery::AuthId(n)) => v.push(format!("aid:{n}")),
        None => {}
    }
    if let Some(s) = &f.share {
        v.push(format!("share:{s}"));
    }
    if let Some(n) = &f.node_id {
        v.push(format!("node:{n}"));
    }
    if let Some(o) = &f.owner {
        v.push(format!("own:{o}"));
    }
    if let Some(s) = &f.service {
        v.push(format!("svc:{s}"));
    }
    v.push("all".into());
    v
}

/// Whether the index entry `what` (of the filter's tenant and state) answers `f` by itself:
/// every other constraint is absent. Only for live sessions: a tombstone's key may have
/// expired before its index entries were purged.
fn exact(f: &SessionFilter, what: &str) -> bool {
    if f.state != StateFilter::Active {
        return false;
    }
    let mut rest = f.clone();
    rest.tenant = None;
    rest.max_id = None;
    if what.starts_with("xid:") {
        rest.external_id = None;
    } else if what.starts_with("name:") {
        if matches!(
            rest.identity,
            Some(IdentityQuery::Name { domain: None, .. })
        ) {
            rest.identity = None;
        }
    } else if ["sid:", "uid:", "gid:", "aid:"]
        .iter()
        .any(|p| what.starts_with(p))
    {
        rest.identity = None;
    } else if what.starts_with("share:") {
        rest.share = None;
    } else if what.starts_with("node:") {
        rest.node_id = None;
    } else if what.starts_with("own:") {
        rest.owner = None;
    } else if what.starts_with("svc:") {
        rest.service = None;
    }
    rest == SessionFilter::default()
}

fn tenant_of(f: &SessionFilter) -> Option<u32> {
    match f.tenant {
        Some(TenantScope::One(t)) => Some(t),
        _ => None,
    }
}

fn states(f: &SessionFilter) -> &'static [bool] {
    match f.state {
        StateFilter::Active => &[false],
        StateFilter::Ended => &[true],
        StateFilter::All => &[false, true],
    }
}

/// The keys to scan on one shard: the narrowest candidate by ZCARD (one pipelined round
/// trip), for each state the filter asks for; and whether that index answers `f` exactly.
async fn pick_keys(
    store: &RedisStore,
    shard: u16,
    f: &SessionFilter,
) -> StoreResult<(Vec<String>, bool)> {
    let layout: &Layout = &store.layout;
    let cands = candidates(f);
    let sets: Vec<Vec<String>> = cands
        .iter()
        .map(|w| {
            states(f)
                .iter()
                .map(|&ended| {
                    // Tombstones have one index per tenant (end.lua): scan it and filter.
                    let w = if ended { "all" } else { w.as_str() };
                    layout.index(shard, tenant_of(f), ended, w)
                })
                .collect()
        })
        .collect();
    let best = if cands.len() == 1 {
        0
    } else {
        let mut p = redis::pipe();
        for keys in &sets {
            for k in keys {
                p.cmd("ZCARD").arg(k);
            }
        }
        let cards: Vec<u64> = store.conn.pipe(store.t(), &p).await?;
        let per = states(f).len();
        (0..sets.len())
            .min_by_key(|&i| cards[i * per..(i + 1) * per].iter().sum::<u64>())
            .unwrap_or(0)
    };
    let is_exact = exact(f, &cands[best]);
    let mut sets = sets;
    Ok((sets.swap_remove(best), is_exact))
}

/// Up to `n` ids of `keys` (merged, ascending) within `(lo, hi]`.
async fn read_ids(
    store: &RedisStore,
    keys: &[String],
    lo: Option<&SessionId>,
    hi: Option<&SessionId>,
    n: usize,
) -> StoreResult<Vec<SessionId>> {
    let min = lo.map_or_else(|| "-".to_string(), |a| format!("({a}"));
    let max = hi.map_or_else(|| "+".to_string(), |m| format!("[{m}"));
    read_range(store, keys, &min, &max, n, false).await
}

/// Up to `n` ids of `keys` between two ZRANGEBYLEX bounds, merged across the keys in id
/// order (descending with `desc`), without repeats.
async fn read_range(
    store: &RedisStore,
    keys: &[String],
    min: &str,
    max: &str,
    n: usize,
    desc: bool,
) -> StoreResult<Vec<SessionId>> {
    let mut p = redis::pipe();
    for k in keys {
        if desc {
            p.cmd("ZREVRANGEBYLEX").arg(k).arg(max).arg(min);
        } else {
            p.cmd("ZRANGEBYLEX").arg(k).arg(min).arg(max);
        }
        p.arg("LIMIT").arg(0).arg(n);
    }
    let lists: Vec<Vec<String>> = store.conn.pipe(store.t(), &p).await?;
    let mut ids: Vec<SessionId> = lists
        .into_iter()
        .flatten()
        .filter_map(|s| SessionId::parse(&s))
        .collect();
    ids.sort();
    if desc {
        ids.reverse();
    }
    ids.dedup();
    ids.truncate(n);
    Ok(ids)
}

/// Sessions of one shard by id (absent ones, e.g. expired tombstones, are skipped).
async fn load(store: &RedisStore, ids: &[SessionId]) -> StoreResult<Vec<Session>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let mut p = redis::pipe();
    for id in ids {
        p.add_command(crate::record::read(store.layout.session(id)));
    }
    let rows: Vec<crate::record::Row> = store.conn.pipe(store.t(), &p).await?;
    let mut out = Vec::with_capacity(ids.len());
    for (id, row) in ids.iter().zip(rows) {
        if let Some((s, _)) = decode(id, &row)? {
            out.push(s);
        }
    }
    Ok(out)
}

/// One shard's place in a lazy merge: ids read but not yet ordered, and how far it read.
struct Lane {
    shard: u16,
    keys: Vec<String>,
    exact: bool,
    buf: std::collections::VecDeque<SessionId>,
    /// The highest id read so far (the cursor of the next read).
    read_to: Option<SessionId>,
    done: bool,
}

pub(crate) async fn list(store: &RedisStore, q: &ListQuery) -> StoreResult<Page> {
    let limit = q.limit.max(1);
    let shards = store.layout.shards;
    let f = &q.filter;
    let picked = try_join_all((0..shards).map(|shard| pick_keys(store, shard, f))).await?;
    let mut lanes: Vec<Lane> = picked
        .into_iter()
        .zip(0..shards)
        .map(|((keys, exact), shard)| Lane {
            shard,
            keys,
            exact,
            buf: Default::default(),
            read_to: q.after.clone(),
            done: false,
        })
        .collect();
    // Ids per shard per read: about this page's share of the shards, at least a batch.
    let per_read = (limit / usize::from(shards) + 16).clamp(32, 1024);
    let budget = scan_budget(limit);
    let mut items: Vec<Session> = Vec::with_capacity(limit);
    let mut examined = 0usize;
    let mut last_examined: Option<SessionId> = None;
    loop {
        refill(store, &mut lanes, f, per_read).await?;
        // Ids up to the lowest point an unfinished lane has read are in their final order.
        let bound = lanes
            .iter()
            .filter(|l| !l.done)
            .filter_map(|l| l.read_to.clone())
            .min();
        let mut ready: Vec<(SessionId, usize)> = Vec::new();
        for (i, l) in lanes.iter_mut().enumerate() {
            while l
                .buf
                .front()
                .is_some_and(|id| bound.as_ref().is_none_or(|b| id <= b))
            {
                if let Some(id) = l.buf.pop_front() {
                    ready.push((id, i));
                }
            }
        }
        ready.sort();
        let mut rest = &ready[..];
        while !rest.is_empty() {
            // With exact lanes every candidate matches: load only what the page still needs.
            let want = if ready.iter().all(|(_, l)| lanes[*l].exact) {
                (limit - items.len()).clamp(1, BATCH)
            } else {
                BATCH
            };
            let (chunk, tail) = rest.split_at(want.min(rest.len()));
            rest = tail;
            let sessions = load_lanes(store, chunk).await?;
            for (id, _) in chunk {
                examined += 1;
                last_examined = Some(id.clone());
                if let Some(s) = sessions.get(id) {
                    if f.matches(s) {
                        items.push(s.clone());
                        if items.len() == limit {
                            return Ok(Page {
                                next: Some(id.clone()),
                                items,
                            });
                        }
                    }
                }
            }
            if examined >= budget {
                return Ok(Page {
                    items,
                    next: last_examined,
                });
            }
        }
        if lanes.iter().all(|l| l.done && l.buf.is_empty()) {
            return Ok(Page { items, next: None });
        }
    }
}

/// Reads the next ids of every unfinished lane whose buffer ran dry (concurrently).
async fn refill(
    store: &RedisStore,
    lanes: &mut [Lane],
    f: &SessionFilter,
    n: usize,
) -> StoreResult<()> {
    let reads = lanes
        .iter()
        .filter(|l| !l.done && l.buf.is_empty())
        .map(|l| async move {
            let ids = read_ids(store, &l.keys, l.read_to.as_ref(), f.max_id.as_ref(), n).await?;
            Ok::<_, StoreError>((l.shard, ids))
        });
    for (shard, ids) in try_join_all(reads).await? {
        if let Some(l) = lanes.iter_mut().find(|l| l.shard == shard) {
            l.done = ids.len() < n;
            if let Some(last) = ids.last() {
                l.read_to = Some(last.clone());
            }
            l.buf.extend(ids);
        }
    }
    Ok(())
}

/// The sessions of `ids` (each with its lane), one pipeline per shard, concurrently.
async fn load_lanes(
    store: &RedisStore,
    ids: &[(SessionId, usize)],
) -> StoreResult<HashMap<SessionId, Session>> {
    let mut per: HashMap<usize, Vec<SessionId>> = HashMap::new();
    for (id, lane) in ids {
        per.entry(*lane).or_default().push(id.clone());
    }
    let loads = per
        .into_values()
        .map(|ids| async move { load(store, &ids).await });
    let mut out = HashMap::with_capacity(ids.len());
    for sessions in try_join_all(loads).await? {
        for s in sessions {
            out.insert(s.id.clone(), s);
        }
    }
    Ok(out)
}

pub(crate) async fn count(store: &RedisStore, f: &SessionFilter) -> StoreResult<u64> {
    let per = try_join_all((0..store.layout.shards).map(|shard| async move {
        let (keys, is_exact) = pick_keys(store, shard, f).await?;
        if is_exact {
            let max = f
                .max_id
                .as_ref()
                .map_or_else(|| "+".to_string(), |m| format!("[{m}"));
            let mut p = redis::pipe();
            for k in &keys {
                p.cmd("ZLEXCOUNT").arg(k).arg("-").arg(&max);
            }
            let counts: Vec<u64> = store.conn.pipe(store.t(), &p).await?;
            return Ok::<u64, StoreError>(counts.into_iter().sum());
        }
        let mut cursor: Option<SessionId> = None;
        let mut n = 0u64;
        loop {
            let ids = read_ids(store, &keys, cursor.as_ref(), f.max_id.as_ref(), BATCH).await?;
            let Some(last) = ids.last().cloned() else {
                return Ok::<u64, StoreError>(n);
            };
            n += load(store, &ids)
                .await?
                .iter()
                .filter(|s| f.matches(s))
                .count() as u64;
            if ids.len() < BATCH {
                return Ok(n);
            }
            cursor = Some(last);
        }
    }))
    .await?;
    Ok(per.into_iter().sum())
}

pub(crate) async fn max_id(
    store: &RedisStore,
    f: &SessionFilter,
) -> StoreResult<Option<SessionId>> {
    let per = try_join_all((0..store.layout.shards).map(|shard| async move {
        let (keys, is_exact) = pick_keys(store, shard, f).await?;
        if is_exact {
            let top = read_ids_desc(store, &keys, f.max_id.as_ref(), true, 1).await?;
            return Ok::<_, StoreError>(top.into_iter().next());
        }
        // Descending from max_id: `hi` bounds, and the cursor moves down.
        let mut hi: Option<SessionId> = f.max_id.clone();
        let mut first = true;
        loop {
            let ids = read_ids_desc(store, &keys, hi.as_ref(), first, BATCH).await?;
            first = false;
            let Some(last) = ids.last().cloned() else {
                return Ok::<_, StoreError>(None);
            };
            let sessions = load(store, &ids).await?;
            if let Some(s) = sessions
                .iter()
                .filter(|s| f.matches(s))
                .map(|s| s.id.clone())
                .max()
            {
                return Ok(Some(s));
            }
            if ids.len() < BATCH {
                return Ok(None);
            }
            hi = Some(last);
        }
    }))
    .await?;
    Ok(per.into_iter().flatten().max())
}

/// Descending read below `hi` (inclusive only on the first round, when `hi` is max_id).
async fn read_ids_desc(
    store: &RedisStore,
    keys: &[String],
    hi: Option<&SessionId>,
    inclusive: bool,
    n: usize,
) -> StoreResult<Vec<SessionId>> {
    let max = match hi {
        None => "+".to_string(),
        Some(h) if inclusive => format!("[{h}"),
        Some(h) => format!("({h}"),
    };
    read_range(store, keys, "-", &max, n, true).await
}
