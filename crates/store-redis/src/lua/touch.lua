-- Applies touches to active sessions of one shard: last_active_at only moves forward (padded
-- times compare as strings), the deadline follows the newest touch, calls add up
-- (saturating at 2^63-1). KEYS: session keys. ARGV: base, then per key: id, at, calls, ex.
--
-- The deadline index is lazy: `dx` is the deadline the session's `due` entry holds, and it
-- may lag behind `ex` as long as it is not later (due.lua moves an entry it finds early).
-- A touch only ever moves the deadline later, so it writes `ex` alone; only a deadline
-- earlier than the entry, or a session without one, costs the two index writes. Validate
-- touches every session it answers, so this is most of the store's work under load.
local base = ARGV[1]
for i, key in ipairs(KEYS) do
  local j = 2 + (i - 1) * 4
  local id, at, calls, ex = ARGV[j], ARGV[j + 1], ARGV[j + 2], ARGV[j + 3]
  local cur = redis.call('HMGET', key, 'st', 'la', 'ex', 'dx')
  if cur[1] == 'active' then
    if at >= cur[2] then
      local dx = cur[4] or cur[3]
      if ex == '' then
        redis.call('HSET', key, 'la', at)
        if cur[3] then redis.call('HDEL', key, 'ex') end
      elseif dx and ex >= dx then
        redis.call('HSET', key, 'la', at, 'ex', ex)
      else
        redis.call('HSET', key, 'la', at)
        set_deadline_exactly(key, base, id, cur[3], cur[4], ex)
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
