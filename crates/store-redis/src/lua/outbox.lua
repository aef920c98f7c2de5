-- Prepended to every script that writes an event with its change (scripts.rs): one definition
-- of how an event enters the outbox of the script's slot (`<base>:ev`, a stream). Its stream
-- id is `<position>-1`, the position being the next value of `<base>:evseq`, so outbox
-- positions are plain increasing integers the relay (relay.lua) can compare and record.
-- The event's field/value items are ARGV[from] … ARGV[from + n - 1]; n = 0 writes nothing.
-- Returns the position written, or nil.
local function append_event(base, from, n)
  if n == 0 then return nil end
  local pos = redis.call('INCR', base .. ':evseq')
  redis.call('XADD', base .. ':ev', string.format('%d-1', pos), unpack(ARGV, from, from + n - 1))
  return pos
end

