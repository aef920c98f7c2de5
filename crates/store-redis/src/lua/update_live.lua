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
local cur = redis.call('HMGET', KEYS[1], 'ex', 'dx')
set_deadline_exactly(KEYS[1], base, id, cur[1], cur[2], ARGV[4])
redis.call('HSET', KEYS[1], 'm', ARGV[3], 'ixm', ARGV[5])
return 'ok'
