-- Applies touches to active sessions of one shard: last_active_at only moves forward (padded
-- times compare as strings), the deadline follows the newest touch, calls add up
-- (saturating at 2^63-1). KEYS: session keys. ARGV: base, then per key: id, at, calls, ex.
local base = ARGV[1]
for i, key in ipairs(KEYS) do
  local j = 2 + (i - 1) * 4
  local id, at, calls, ex = ARGV[j], ARGV[j + 1], ARGV[j + 2], ARGV[j + 3]
  if redis.call('HGET', key, 'st') == 'active' then
    local la = redis.call('HGET', key, 'la')
    if at >= la then
      redis.call('HSET', key, 'la', at)
      local old = redis.call('HGET', key, 'ex')
      if old then redis.call('ZREM', base .. ':due', old .. ':' .. id) end
      if ex ~= '' then
        redis.call('HSET', key, 'ex', ex)
        redis.call('ZADD', base .. ':due', 0, ex .. ':' .. id)
      else
        redis.call('HDEL', key, 'ex')
      end
    end
    if calls ~= '0' then
      local r = redis.pcall('HINCRBY', key, 'cc', calls)
      if type(r) == 'table' and r.err then
        redis.call('HSET', key, 'cc', '9223372036854775807')
      end
    end
  end
end
return 'ok'
