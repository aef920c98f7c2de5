-- Moves the deadline of an active session. KEYS[1] session key. ARGV: base, id, ex ('' = none).
local base, id = ARGV[1], ARGV[2]
if redis.call('HGET', KEYS[1], 'st') ~= 'active' then return 0 end
local old = redis.call('HGET', KEYS[1], 'ex')
if old then redis.call('ZREM', base .. ':due', old .. ':' .. id) end
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'ex', ARGV[3])
  redis.call('ZADD', base .. ':due', 0, ARGV[3] .. ':' .. id)
else
  redis.call('HDEL', KEYS[1], 'ex')
end
return 1
