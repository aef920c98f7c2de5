-- Compare-and-set end of sessions of one shard, in order: an active session gets the end's
-- state, time, ender and reason, leaves every live index, enters the one ended index of its
-- tenant and of all (`e:all`: tombstones are listed by scanning it, so an end costs two
-- ZADDs instead of one per index word), leaves the deadline index, enters the ended-at
-- index, frees its external id, and its key gets the tombstone TTL. The event of an end
-- enters the shard's outbox with it, only for a session this call ends (not for one already
-- ended, absent, or repeated after its first occurrence).
-- Each end is counted in the end's hour per (tenant, service) (counters.lua), and a pair whose
-- live index this call emptied leaves `st:pairs` (stats.rs), both after the ends.
-- KEYS: session keys. ARGV: base, state, ended_at, by, reason, has_reason, ttl_secs, the
-- Unix hour of ended_at, then per key: id, n, the n field/value items of its end's event
-- (n = 0: none).
-- Returns per key: 'N' (absent), the state it had already ended in, 'E' (ended now) or
-- 'E:<position>' (ended now, its event at that outbox position).
-- One HMGET per session and key prefixes built once per tenant: a bulk end runs this for
-- thousands of sessions, and on a cluster every replica replays each write it makes.
local base, state, ea, by, reason, has_reason, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4],
  ARGV[5], ARGV[6], ARGV[7]
local hour = ARGV[8]
local ended, tix = base .. ':ended', base .. ':tix'
local live_all, ended_all = base .. ':i:*:l:', base .. ':i:*:e:all'
local per_tenant = {}
-- Ends per `<tenant>:<service>`, and the pairs in the order first ended (a deterministic
-- order of the writes that follow).
local per_pair, pairs_ended = {}, {}
local out = {}
local j = 9
for i, key in ipairs(KEYS) do
  local id, n = ARGV[j], tonumber(ARGV[j + 1])
  local ev = j + 2
  j = ev + n
  local h = redis.call('HMGET', key, 'st', 't', 'ixf', 'ixm', 'ex', 'dx', 'xk')
  local st = h[1]
  if not st then
    out[i] = 'N'
  elseif st ~= 'active' then
    out[i] = st
  else
    -- The event first: a write that fails stops the script before this session changes.
    local pos = append_event(base, ev, n)
    local t = h[2]
    local p = per_tenant[t]
    if not p then
      p = { base .. ':i:' .. t .. ':l:', base .. ':i:' .. t .. ':e:all' }
      per_tenant[t] = p
    end
    local fixed, mutable = cjson.decode(h[3]), cjson.decode(h[4])
    for _, words in ipairs({ fixed, mutable }) do
      for _, w in ipairs(words) do
        redis.call('ZREM', p[1] .. w, id)
        redis.call('ZREM', live_all .. w, id)
      end
    end
    for _, w in ipairs(fixed) do
      if string.sub(w, 1, 4) == 'svc:' then
        local pair = t .. ':' .. string.sub(w, 5)
        if not per_pair[pair] then
          per_pair[pair] = 0
          pairs_ended[#pairs_ended + 1] = { pair, p[1] .. w }
        end
        per_pair[pair] = per_pair[pair] + 1
      end
    end
    redis.call('ZADD', p[2], 0, id)
    redis.call('ZADD', ended_all, 0, id)
    set_deadline_exactly(key, base, id, h[5], h[6], '')
    if has_reason == '1' then
      redis.call('HSET', key, 'st', state, 'ea', ea, 'eb', by, 'er', reason)
    else
      redis.call('HSET', key, 'st', state, 'ea', ea, 'eb', by)
    end
    redis.call('ZADD', ended, 0, ea .. ':' .. id)
    redis.call('HSET', tix, id, t)
    redis.call('EXPIRE', key, ttl)
    -- Free the external id (its key is in this slot) if this session still holds it. The
    -- prefix check only skips a key some other layout put elsewhere: never touch another slot.
    local xk = h[7]
    if xk and string.sub(xk, 1, #base + 1) == base .. ':' and redis.call('GET', xk) == id then
      redis.call('DEL', xk)
    end
    out[i] = pos and string.format('E:%d', pos) or 'E'
  end
end
for _, pe in ipairs(pairs_ended) do
  count_hour(base, hour, 'e:' .. pe[1], per_pair[pe[1]])
  if redis.call('ZCARD', pe[2]) == 0 then
    redis.call('SREM', base .. ':st:pairs', pe[1])
  end
end
return out
