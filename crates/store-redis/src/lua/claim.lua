-- Claims an external id for a session about to be inserted (the claim key lives in the
-- external id's shard). KEYS[1] claim key. ARGV: id, pending_ms, expected holder ('' = none).
-- With no expected holder: set if absent. With one: replace it only if it still holds.
-- Returns 'ok', or the current holder and whether its claim is still pending ('p'/'d').
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then return {'ok'} end
if (not cur and ARGV[3] == '') or (cur and cur == ARGV[3]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
  return {'ok'}
end
if not cur then return {'retry'} end
if redis.call('PTTL', KEYS[1]) > 0 then return {cur, 'p'} end
return {cur, 'd'}
