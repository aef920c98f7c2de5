-- Moves events from outboxes (a shard's or the directory's `:ev` stream) into the global
-- stream `{P.events}:all`, which gives each its event id: the next value of `{P.events}:seq`,
-- written as stream id `<id>-1`. `{P.events}:relayed` records, per outbox, the last outbox
-- position moved; an entry at or below it is skipped, so relaying an entry twice, or two
-- replicas relaying the same outbox at once, never moves an event twice. Entries move in
-- the order given, which keeps each outbox's order (its entries come in position order)
-- and lets one call order the events of one change across outboxes (an end's, in the
-- order of its ids).
-- KEYS[1] {P.events}:all, KEYS[2] {P.events}:seq, KEYS[3] {P.events}:relayed.
-- ARGV: strict, k, the k outbox keys, then per entry: outbox (1..k), position, n, the n
-- field/value items.
-- strict = '1' (a change relaying its own entries): in each outbox, the first entry not
-- yet moved must come right after the recorded position; else an earlier entry (another
-- call's) waits in that outbox, nothing is moved and 'gap' is answered, so the caller moves
-- those first. Otherwise the batch was read from the outbox itself, which holds every
-- position after the recorded one.
-- Every listed outbox's position is written, even when unchanged: a WAIT after this call
-- then also covers a position another replica recorded, before the outbox is trimmed.
-- Returns {'ok' or 'gap', last event id, then per listed outbox: its recorded position and
-- '1' if it has a gap (else '0')}.
local strict, k = ARGV[1], tonumber(ARGV[2])
local names, done = {}, {}
for j = 1, k do
  names[j] = ARGV[2 + j]
  done[j] = tonumber(redis.call('HGET', KEYS[3], names[j]) or '0')
end
local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
local first = 3 + k
local function answer(status, gap)
  local out = {status, string.format('%d', seq)}
  for j = 1, k do
    out[#out + 1] = string.format('%d', done[j])
    out[#out + 1] = gap[j] and '1' or '0'
  end
  return out
end
if strict == '1' then
  local seen, gap, any = {}, {}, false
  local i = first
  while i <= #ARGV do
    local o, pos = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
    if not seen[o] and pos > done[o] then
      seen[o] = true
      if pos ~= done[o] + 1 then
        gap[o] = true
        any = true
      end
    end
    i = i + 3 + tonumber(ARGV[i + 2])
  end
  if any then return answer('gap', gap) end
end
local i = first
while i <= #ARGV do
  local o, pos, n = tonumber(ARGV[i]), tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  if pos > done[o] then
    seq = redis.call('INCR', KEYS[2])
    redis.call('XADD', KEYS[1], string.format('%d-1', seq), unpack(ARGV, i + 3, i + 2 + n))
    done[o] = pos
  end
  i = i + 3 + n
end
for j = 1, k do
  redis.call('HSET', KEYS[3], names[j], string.format('%d', done[j]))
end
return answer('ok', {})
