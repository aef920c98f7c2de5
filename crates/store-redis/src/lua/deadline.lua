-- Prepended to every script that moves a deadline exactly (scripts.rs): one definition of
-- where the `due` entry sits and how it moves. The entry is at `dx`, or at `ex` for a session
-- written before `dx` existed (touch.lua lets `ex` run ahead of it lazily).
-- ex = '' removes the deadline and its entry.
local function set_deadline_exactly(key, base, id, old_ex, old_dx, ex)
  local dx = old_dx or old_ex
  if dx then redis.call('ZREM', base .. ':due', dx .. ':' .. id) end
  if ex ~= '' then
    redis.call('HSET', key, 'ex', ex, 'dx', ex)
    redis.call('ZADD', base .. ':due', 0, ex .. ':' .. id)
  elseif old_ex or old_dx then
    redis.call('HDEL', key, 'ex', 'dx')
  end
end

