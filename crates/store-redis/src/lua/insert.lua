-- Inserts a live session and its index entries (one shard, one slot).
-- KEYS[1] session key. ARGV: base, id, tenant, f, m, la, cc, h, ex ('' = none),
-- fixed index entries (JSON array), mutable ones (JSON array), claim key ('' = none).
local base, id, t = ARGV[1], ARGV[2], ARGV[3]
if redis.call('EXISTS', KEYS[1]) == 1 then return 'exists' end
redis.call('HSET', KEYS[1], 'f', ARGV[4], 'm', ARGV[5], 'st', 'active', 'la', ARGV[6],
  'cc', ARGV[7], 'h', ARGV[8], 't', t, 'ixf', ARGV[10], 'ixm', ARGV[11])
if ARGV[9] ~= '' then
  redis.call('HSET', KEYS[1], 'ex', ARGV[9])
  redis.call('ZADD', base .. ':due', 0, ARGV[9] .. ':' .. id)
end
if ARGV[12] ~= '' then redis.call('HSET', KEYS[1], 'xk', ARGV[12]) end
for _, field in ipairs({ARGV[10], ARGV[11]}) do
  for _, w in ipairs(cjson.decode(field)) do
    redis.call('ZADD', base .. ':i:' .. t .. ':l:' .. w, 0, id)
    redis.call('ZADD', base .. ':i:*:l:' .. w, 0, id)
  end
end
return 'ok'
