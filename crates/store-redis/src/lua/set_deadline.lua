-- Moves the deadline of an active session, exactly (the due entry follows, earlier or later).
-- KEYS[1] session key. ARGV: base, id, ex ('' = none).
local base, id = ARGV[1], ARGV[2]
local cur = redis.call('HMGET', KEYS[1], 'st', 'ex', 'dx')
if cur[1] ~= 'active' then return 0 end
set_deadline_exactly(KEYS[1], base, id, cur[2], cur[3], ARGV[3])
return 1
