-- Moves the deadline of an active session, exactly (the due entry follows, earlier or later).
-- KEYS[1] session key. ARGV: base, id, ex ('' = none).
local base, id = ARGV[1], ARGV[2]
local cur = redis.call('HMGET', KEYS[1], 'st', 'ex', 'dx')
if cur[1] ~= 'active' then return 0 end
local dx = cur[3] or cur[2]
if dx then redis.call('ZREM', base .. ':due', dx .. ':' .. id) end
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'ex', ARGV[3], 'dx', ARGV[3])
  redis.call('ZADD', base .. ':due', 0, ARGV[3] .. ':' .. id)
else
  redis.call('HDEL', KEYS[1], 'ex', 'dx')
end
return 1
