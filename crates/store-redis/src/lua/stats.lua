-- The session statistics of one shard, read in one step (stats.rs): live sessions per
-- (tenant, service), and the hourly counters from a given hour on.
-- KEYS[1] the shard's `st:pairs`, KEYS[2] its `st:hours`. ARGV: base, first hour, tenant
-- ('' = every tenant).
-- Returns {live, hourly}: live is flat `<tenant>:<service>`, count (only counts above 0);
-- hourly is flat hour, field (`o:` or `e:` `<tenant>:<service>`), count.
local base, since, tenant = ARGV[1], ARGV[2], ARGV[3]
local live, hourly = {}, {}
-- The live count of a pair is the size of the pair's live index, which insert.lua and
-- end.lua keep exact: no second count that could drift from it.
for _, pair in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local t, svc = string.match(pair, '^([^:]*):(.*)$')
  if t and (tenant == '' or t == tenant) then
    local n = redis.call('ZCARD', base .. ':i:' .. t .. ':l:svc:' .. svc)
    if n > 0 then
      live[#live + 1] = pair
      live[#live + 1] = tostring(n)
    end
  end
end
for _, h in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], since, '+inf')) do
  local kv = redis.call('HGETALL', base .. ':st:h:' .. h)
  for i = 1, #kv, 2 do
    local t = string.match(kv[i], '^[oe]:([^:]*):')
    if t and (tenant == '' or t == tenant) then
      hourly[#hourly + 1] = h
      hourly[#hourly + 1] = kv[i]
      hourly[#hourly + 1] = kv[i + 1]
    end
  end
end
return {live, hourly}
