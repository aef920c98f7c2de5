-- Rewrites the mutable blob, deadline and index entries of an active session.
-- KEYS[1] session key. ARGV: base, id, m, ex ('' = none), new mutable index entries (JSON).
local base, id = ARGV[1], ARGV[2]
local st = redis.call('HGET', KEYS[1], 'st')
if not st then return 'missing' end
if st ~= 'active' then return 'ended' end
local t = redis.call('HGET', KEYS[1], 't')
for _, w in ipairs(cjson.decode(redis.call('HGET', KEYS[1], 'ixm'))) do
  redis.call('ZREM', base .. ':i:' .. t .. ':l:' .. w, id)
  redis.call('ZREM', base .. ':i:*:l:' .. w, id)
end
for _, w in ipairs(cjson.decode(ARGV[5])) do
  redis.call('ZADD', base .. ':i:' .. t .. ':l:' .. w, 0, id)
  redis.call('ZADD', base .. ':i:*:l:' .. w, 0, id)
end
-- The due entry sits at `dx` (touch.lua keeps it lazily); this moves it exactly.
local cur = redis.call('HMGET', KEYS[1], 'ex', 'dx')
local dx = cur[2] or cur[1]
if dx then redis.call('ZREM', base .. ':due', dx .. ':' .. id) end
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[1], 'ex', ARGV[4], 'dx', ARGV[4])
  redis.call('ZADD', base .. ':due', 0, ARGV[4] .. ':' .. id)
else
  redis.call('HDEL', KEYS[1], 'ex', 'dx')
end
redis.call('HSET', KEYS[1], 'm', ARGV[3], 'ixm', ARGV[5])
return 'ok'
