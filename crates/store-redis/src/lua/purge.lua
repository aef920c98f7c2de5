-- Deletes the given tombstones of one shard (members `<ended_at>:<id>` of its ended-at
-- index) with their index entries, also those of tombstones whose key expired by TTL.
-- KEYS[1] the shard's ended-at index. ARGV: base, members…
local base = ARGV[1]
local n = 0
for i = 2, #ARGV do
  local m = ARGV[i]
  if redis.call('ZREM', KEYS[1], m) == 1 then
    local id = string.sub(m, 22)
    local tix = redis.call('HGET', base .. ':tix', id)
    if tix then
      -- "<tenant>"; an entry written before ended sessions had only the `all` index is
      -- "<tenant>|<JSON list of index words>".
      local bar = string.find(tix, '|', 1, true)
      local t = tix
      local words = {'all'}
      if bar then
        t = string.sub(tix, 1, bar - 1)
        words = cjson.decode(string.sub(tix, bar + 1))
      end
      for _, w in ipairs(words) do
        redis.call('ZREM', base .. ':i:' .. t .. ':e:' .. w, id)
        redis.call('ZREM', base .. ':i:*:e:' .. w, id)
      end
      redis.call('HDEL', base .. ':tix', id)
    end
    local key = base .. ':s:' .. id
    if redis.call('HGET', key, 'st') ~= 'active' then redis.call('DEL', key) end
    n = n + 1
  end
end
return n
