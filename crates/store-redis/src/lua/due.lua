-- The sessions of one shard whose deadline has passed, oldest first. The `due` index is lazy
-- (touch.lua): an entry may be earlier than the session's deadline `ex`, or belong to a
-- session that has none any more. Such entries are moved to `ex` (or dropped) here, so the
-- answer holds only sessions that are due by their own `ex`.
-- KEYS[1] the shard's due index. ARGV: base, max (exclusive ZRANGEBYLEX bound), limit,
-- most entries to examine in this call (bounds the time Redis spends here).
-- Returns `more` ('1' when the budget ran out before `limit` due ones were found, so early
-- entries may still hide due ones: call again; else '0'), then the due members `<ex>:<id>`,
-- at most `limit`.
local base, max, limit, budget = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local out = {}
local seen = 0
local more = '0'
while #out < limit do
  if seen >= budget then
    more = '1'
    break
  end
  -- Due entries stay in place (the end removes them), so skip the ones already taken.
  local batch = redis.call('ZRANGEBYLEX', KEYS[1], '-', max, 'LIMIT', #out, limit - #out)
  if #batch == 0 then break end
  for _, m in ipairs(batch) do
    seen = seen + 1
    local at, id = string.sub(m, 1, 20), string.sub(m, 22)
    local key = base .. ':s:' .. id
    local cur = redis.call('HMGET', key, 'st', 'ex')
    if cur[1] ~= 'active' or not cur[2] then
      redis.call('ZREM', KEYS[1], m)
      if cur[1] == 'active' then redis.call('HDEL', key, 'dx') end
    elseif cur[2] > at then
      redis.call('ZREM', KEYS[1], m)
      redis.call('ZADD', KEYS[1], 0, cur[2] .. ':' .. id)
      redis.call('HSET', key, 'dx', cur[2])
    else
      out[#out + 1] = m
    end
  end
end
table.insert(out, 1, more)
return out
