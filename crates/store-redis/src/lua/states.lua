-- The state of each session key of one shard ('' when absent): the check of an atomic end.
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = redis.call('HGET', key, 'st') or ''
end
return out
