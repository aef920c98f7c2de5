-- Prepended to the scripts that open and end sessions (scripts.rs): the hourly counters of
-- the session statistics (stats.rs). `<base>:st:h:<hour>` is a hash of `o:<tenant>:<service>`
-- (sessions opened in that Unix hour) and `e:<tenant>:<service>` (ended), which expires
-- STATS_KEEP_HOURS after its first write; `<base>:st:hours` lists the hours that have one
-- (score = member = the hour), and forgets those STATS_KEEP_HOURS older than an hour added.
-- Only the branch of a script that opens or ends a session counts (a replay finds the id
-- taken or the session ended and counts nothing), in the same atomic step as the change.
-- A field that existed already means the hash and its hour were set up by an earlier call,
-- so most calls cost one HINCRBY.
local STATS_KEEP_HOURS = 192
local function count_hour(base, hour, field, n)
  local key = base .. ':st:h:' .. hour
  if redis.call('HINCRBY', key, field, n) ~= n then return end
  if redis.call('TTL', key) < 0 then
    redis.call('EXPIRE', key, STATS_KEEP_HOURS * 3600)
  end
  local hours = base .. ':st:hours'
  if redis.call('ZADD', hours, hour, hour) == 1 then
    redis.call('ZREMRANGEBYSCORE', hours, '-inf',
      string.format('(%d', tonumber(hour) - STATS_KEEP_HOURS))
  end
end

