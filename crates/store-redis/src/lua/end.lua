-- Compare-and-set end of sessions of one shard, in order: an active session gets the end's
-- state, time, ender and reason, leaves every live index, enters the one ended index of its
-- tenant and of all (`e:all`: tombstones are listed by scanning it, so an end costs two
-- ZADDs instead of one per index word), leaves the deadline index, enters the ended-at
-- index, frees its external id, and its key gets the tombstone TTL.
-- KEYS: session keys. ARGV: base, state, ended_at, by, reason, has_reason, ttl_secs, ids…
-- Returns per key: 'N' (absent), the state it had already ended in, or 'E' (ended now).
local base, state, ea, by, reason, has_reason, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4],
  ARGV[5], ARGV[6], ARGV[7]
local out = {}
for i, key in ipairs(KEYS) do
  local id = ARGV[7 + i]
  local st = redis.call('HGET', key, 'st')
  if not st then
    out[i] = 'N'
  elseif st ~= 'active' then
    out[i] = st
  else
    local t = redis.call('HGET', key, 't')
    local all = cjson.decode(redis.call('HGET', key, 'ixf'))
    for _, w in ipairs(cjson.decode(redis.call('HGET', key, 'ixm'))) do table.insert(all, w) end
    for _, w in ipairs(all) do
      redis.call('ZREM', base .. ':i:' .. t .. ':l:' .. w, id)
      redis.call('ZREM', base .. ':i:*:l:' .. w, id)
    end
    redis.call('ZADD', base .. ':i:' .. t .. ':e:all', 0, id)
    redis.call('ZADD', base .. ':i:*:e:all', 0, id)
    local d = redis.call('HMGET', key, 'ex', 'dx')
    local dx = d[2] or d[1]
    if dx then redis.call('ZREM', base .. ':due', dx .. ':' .. id) end
    if d[1] or d[2] then redis.call('HDEL', key, 'ex', 'dx') end
    redis.call('HSET', key, 'st', state, 'ea', ea, 'eb', by)
    if has_reason == '1' then redis.call('HSET', key, 'er', reason) end
    redis.call('ZADD', base .. ':ended', 0, ea .. ':' .. id)
    redis.call('HSET', base .. ':tix', id, t)
    redis.call('EXPIRE', key, ttl)
    -- Free the external id (its key is in this slot) if this session still holds it. The
    -- prefix check only skips a key some other layout put elsewhere: never touch another slot.
    local xk = redis.call('HGET', key, 'xk')
    if xk and string.sub(xk, 1, #base + 1) == base .. ':' and redis.call('GET', xk) == id then
      redis.call('DEL', xk)
    end
    out[i] = 'E'
  end
end
return out
