-- Ends or confirms a claim, only if `id` holds it. KEYS[1] claim key. ARGV: id, 'del'|'keep'.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == 'del' then redis.call('DEL', KEYS[1]) else redis.call('PERSIST', KEYS[1]) end
return 1
