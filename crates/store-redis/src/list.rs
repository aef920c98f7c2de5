//! Lists, counts and the highest matching id: fan out to every shard concurrently, read
//! candidate ids from the shard's narrowest index in id order (ZRANGEBYLEX after the
//! cursor), fetch them, keep those core's `SessionFilter::matches` accepts, merge by id.
//!
//! A page is bounded: each shard examines at most its share of [`scan_budget`] candidates.
//! The page then only holds ids up to the lowest point any unfinished shard reached (the
//! frontier), so nothing beyond it can be missing, and `next` resumes there: a walk never
//! skips or repeats a session that lives through it.
//!
//! Cost: `count_sessions` and `max_matching_id` are exact and read every candidate of the
//! narrowest index of each shard (one pass, in batches), so they cost O(candidates).

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
/// trip), for each state the filter asks for.
async fn pick_keys(store: &RedisStore, shard: u16, f: &SessionFilter) -> StoreResult<Vec<String>> {
    let layout: &Layout = &store.layout;
    let cands = candidates(f);
    let sets: Vec<Vec<String>> = cands
        .iter()
        .map(|w| {
            states(f)
                .iter()
                .map(|&ended| layout.index(shard, tenant_of(f), ended, w))
                .collect()
        })
        .collect();
    if cands.len() == 1 {
        return Ok(sets.into_iter().next().unwrap_or_default());
    }
    let mut p = redis::pipe();
    for keys in &sets {
        for k in keys {
            p.cmd("ZCARD").arg(k);
        }
    }
    let cards: Vec<u64> = store.conn.pipe(store.t(), &p).await?;
    let per = states(f).len();
    let best = (0..sets.len())
        .min_by_key(|&i| cards[i * per..(i + 1) * per].iter().sum::<u64>())
        .unwrap_or(0);
    let mut sets = sets;
    Ok(sets.swap_remove(best))
}

/// Up to `n` ids of `keys` (merged, ascending after `lo` or descending before `hi`),
/// within `(lo, hi]`.
async fn read_ids(
    store: &RedisStore,
    keys: &[String],
    lo: Option<&SessionId>,
    hi: Option<&SessionId>,
    n: usize,
    desc: bool,
) -> StoreResult<Vec<SessionId>> {
    let min = lo.map_or_else(|| "-".to_string(), |a| format!("({a}"));
    let max = hi.map_or_else(|| "+".to_string(), |m| format!("[{m}"));
    let mut p = redis::pipe();
    for k in keys {
        if desc {
            p.cmd("ZREVRANGEBYLEX").arg(k).arg(&max).arg(&min);
        } else {
            p.cmd("ZRANGEBYLEX").arg(k).arg(&min).arg(&max);
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
        p.cmd("HGETALL").arg(store.layout.session(id));
    }
    let rows: Vec<HashMap<String, Vec<u8>>> = store.conn.pipe(store.t(), &p).await?;
    let mut out = Vec::with_capacity(ids.len());
    for (id, row) in ids.iter().zip(rows) {
        if let Some((s, _)) = decode(id, &row)? {
            out.push(s);
        }
    }
    Ok(out)
}

/// What one shard found for a page.
struct ShardScan {
    matches: Vec<Session>,
    /// `None` when the shard's range is exhausted; else how far it looked.
    frontier: Option<SessionId>,
}

async fn scan_shard(
    store: &RedisStore,
    shard: u16,
    f: &SessionFilter,
    after: Option<SessionId>,
    want: usize,
    budget: usize,
) -> StoreResult<ShardScan> {
    let keys = pick_keys(store, shard, f).await?;
    let mut cursor = after;
    let mut matches = Vec::new();
    let mut scanned = 0usize;
    loop {
        let n = BATCH.min(budget.saturating_sub(scanned)).max(1);
        let ids = read_ids(store, &keys, cursor.as_ref(), f.max_id.as_ref(), n, false).await?;
        let exhausted = ids.len() < n;
        let sessions = load(store, &ids).await?;
        let mut found: HashMap<&SessionId, &Session> = HashMap::new();
        for s in &sessions {
            found.insert(&s.id, s);
        }
        for id in &ids {
            scanned += 1;
            cursor = Some(id.clone());
            if let Some(s) = found.get(id) {
                if f.matches(s) {
                    matches.push((*s).clone());
                    if matches.len() >= want {
                        return Ok(ShardScan {
                            matches,
                            frontier: Some(id.clone()),
                        });
                    }
                }
            }
        }
        if exhausted {
            return Ok(ShardScan {
                matches,
                frontier: None,
            });
        }
        if scanned >= budget {
            return Ok(ShardScan {
                matches,
                frontier: cursor,
            });
        }
    }
}

pub(crate) async fn list(store: &RedisStore, q: &ListQuery) -> StoreResult<Page> {
    let limit = q.limit.max(1);
    let shards = store.layout.shards;
    let budget = (scan_budget(limit) / usize::from(shards))
        .max(limit)
        .max(BATCH);
    let scans = try_join_all(
        (0..shards)
            .map(|shard| scan_shard(store, shard, &q.filter, q.after.clone(), limit, budget)),
    )
    .await?;
    // Nothing past the lowest unfinished shard's frontier may be returned: that shard has
    // not looked there yet.
    let frontier = scans.iter().filter_map(|s| s.frontier.clone()).min();
    let mut items: Vec<Session> = scans
        .into_iter()
        .flat_map(|s| s.matches)
        .filter(|s| frontier.as_ref().is_none_or(|fr| s.id <= *fr))
        .collect();
    items.sort_by(|a, b| a.id.cmp(&b.id));
    let more_items = items.len() > limit;
    items.truncate(limit);
    let next = if more_items {
        items.last().map(|s| s.id.clone())
    } else if items.len() == limit {
        // A full page: resume after its last item unless every shard is done.
        frontier.as_ref().and(items.last().map(|s| s.id.clone()))
    } else {
        frontier
    };
    Ok(Page { items, next })
}

pub(crate) async fn count(store: &RedisStore, f: &SessionFilter) -> StoreResult<u64> {
    let per = try_join_all((0..store.layout.shards).map(|shard| async move {
        let keys = pick_keys(store, shard, f).await?;
        let mut cursor: Option<SessionId> = None;
        let mut n = 0u64;
        loop {
            let ids = read_ids(
                store,
                &keys,
                cursor.as_ref(),
                f.max_id.as_ref(),
                BATCH,
                false,
            )
            .await?;
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
        let keys = pick_keys(store, shard, f).await?;
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
    let mut p = redis::pipe();
    for k in keys {
        p.cmd("ZREVRANGEBYLEX")
            .arg(k)
            .arg(&max)
            .arg("-")
            .arg("LIMIT")
            .arg(0)
            .arg(n);
    }
    let lists: Vec<Vec<String>> = store.conn.pipe(store.t(), &p).await?;
    let mut ids: Vec<SessionId> = lists
        .into_iter()
        .flatten()
        .filter_map(|s| SessionId::parse(&s))
        .collect();
    ids.sort();
    ids.reverse();
    ids.dedup();
    ids.truncate(n);
    Ok(ids)
}
