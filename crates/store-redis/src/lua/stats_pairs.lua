-- Records the (tenant, service) pair of live sessions written before the statistics existed
-- (stats.rs: run at connect until `<base>:st:ready` is set): a batch of one shard's live
-- index `i:*:l:all` after a cursor. Adding a pair that is already there changes nothing, so
-- replicas starting together may both run it.
-- KEYS[1] the shard's `i:*:l:all`. ARGV: base, min (ZRANGEBYLEX bound: '-' or '(<id>'),
-- batch size. Returns the last id read, or '' when the index is exhausted.
local base, n = ARGV[1], tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[2], '+', 'LIMIT', 0, n)
for _, id in ipairs(ids) do
  local h = redis.call('HMGET', base .. ':s:' .. id, 'st', 't', 'ixf')
  if h[1] == 'active' and h[2] and h[3] then
    for _, w in ipairs(cjson.decode(h[3])) do
      if string.sub(w, 1, 4) == 'svc:' then
        redis.call('SADD', base .. ':st:pairs', h[2] .. ':' .. string.sub(w, 5))
      end
    end
  end
end
if #ids < n then return '' end
return ids[#ids]
