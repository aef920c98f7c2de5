-- Replaces a principal's record and, in the same step, appends its event (a principal
-- disabled) to the directory's outbox; nothing is written for an unknown name.
-- KEYS[1] the principal hash `{P.dir}:p`. ARGV: base (`{P.dir}`), name, record (JSON), n,
-- then the n field/value items of the event (n = 0: none).
-- Returns {'0'} (no such principal) or {'1', outbox position of the event ('0' = none)}.
local base, name = ARGV[1], ARGV[2]
if redis.call('HEXISTS', KEYS[1], name) == 0 then return {'0'} end
-- The event first: a write that fails stops the script before the record changes.
local pos = append_event(base, 5, tonumber(ARGV[4]))
redis.call('HSET', KEYS[1], name, ARGV[3])
return {'1', string.format('%d', pos or 0)}
