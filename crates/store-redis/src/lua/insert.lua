-- Inserts a live session and its index entries (one shard, one slot). A session with an
-- external id lives in that id's shard (RedisStore::accepts_id), so the same script checks
-- and takes the external id's key: refused while a live session holds it; a key still naming
-- an ended or purged session is taken over.
-- KEYS[1] session key, KEYS[2] external-id key (only when the session has an external id).
-- ARGV: base, id, tenant, f, m, la, cc, h, ex ('' = none), fixed index entries (JSON array),
-- mutable ones (JSON array), service, the Unix hour it opened in, n, then the n field/value
-- items of its `session.created` event (n = 0: none), appended to the shard's outbox only
-- when the session is inserted. The session's (tenant, service) pair joins `st:pairs` and
-- its opening is counted in its hour (counters.lua), also only when it is inserted.
-- Returns {'ok', outbox position of the event ('0' = none)}, {'exists'} (the id is taken) or
-- {'conflict'} (a live session has the external id).
local base, id, t = ARGV[1], ARGV[2], ARGV[3]
local xk = KEYS[2]
if redis.call('EXISTS', KEYS[1]) == 1 then return {'exists'} end
if xk then
  local holder = redis.call('GET', xk)
  if holder and redis.call('HGET', base .. ':s:' .. holder, 'st') == 'active' then
    return {'conflict'}
  end
end
-- The event and the counts first: a write that fails stops the script before the session
-- is written.
local pos = append_event(base, 15, tonumber(ARGV[14]))
local pair = t .. ':' .. ARGV[12]
redis.call('SADD', base .. ':st:pairs', pair)
count_hour(base, ARGV[13], 'o:' .. pair, 1)
redis.call('HSET', KEYS[1], 'f', ARGV[4], 'm', ARGV[5], 'st', 'active', 'la', ARGV[6],
  'cc', ARGV[7], 'h', ARGV[8], 't', t, 'ixf', ARGV[10], 'ixm', ARGV[11])
if ARGV[9] ~= '' then
  redis.call('HSET', KEYS[1], 'ex', ARGV[9], 'dx', ARGV[9])
  redis.call('ZADD', base .. ':due', 0, ARGV[9] .. ':' .. id)
end
if xk then
  redis.call('SET', xk, id)
  redis.call('HSET', KEYS[1], 'xk', xk)
end
for _, field in ipairs({ARGV[10], ARGV[11]}) do
  for _, w in ipairs(cjson.decode(field)) do
    redis.call('ZADD', base .. ':i:' .. t .. ':l:' .. w, 0, id)
    redis.call('ZADD', base .. ':i:*:l:' .. w, 0, id)
  end
end
return {'ok', string.format('%d', pos or 0)}
