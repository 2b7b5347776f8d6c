"""The Lua steps of the shared credit budget; each runs atomically in Redis, on Redis's clock.

KEYS: budget hash (`spent`, `epoch`, `base`), leases sorted set (lease id -> deadline, µs of
Redis `TIME`), expired sorted set (leases counted as spent when their deadline passed, by
when), stop flag (the 402 flag, shared with RedisRateLimiter of the same name), settled sorted
set (leases settled, by when: a settlement sent again because its answer was lost is a no-op).

Every step first reaps the leases past their deadline: each counts as spent (its process may
have sent it and died), and is remembered in `expired` so that a live process settling it later
as unsent gets the credit back.

ARGV of every step: lease ttl µs, keep ms, epoch seen, floor, n, then n lease ids held by the
caller, then the step's own arguments. `epoch` names one life of the state: if the hash is gone
(Redis restarted empty, or the keys expired) or is another life than the caller saw, the caller
rejoins it: `spent` is raised by what it last saw (`floor`) beyond the life's `base` (what it
began from) and the caller's leases in flight are registered again. A Redis restart that loses
the data therefore does not hand out the budget a second time.
Each step answers {verdict, epoch, spent, held, ...}.
"""

from __future__ import annotations

__all__ = ["RESERVE", "SETTLE", "STATE"]

_PRELUDE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local lease_ttl = tonumber(ARGV[1])
local keep = tonumber(ARGV[2])
local floor = tonumber(ARGV[4])
local n = tonumber(ARGV[5])
local op = 6 + n  -- where the step's own arguments begin
local state = redis.call('HMGET', KEYS[1], 'epoch', 'spent', 'base', 'recovering')
local epoch = state[1]
local spent = tonumber(state[2]) or 0
local seed = tonumber(state[3]) or 0
local recovering = tonumber(state[4]) or 0
local rejoin = false
if not epoch then
  epoch = string.format('%.0f', now)
  spent = math.max(spent, floor)
  seed = floor
  rejoin = true
  if ARGV[3] ~= '' or floor > 0 then
    -- The count was lost (a restart without persistence): the fleet's requests in flight are
    -- registered again only at their holders' next steps, so new calls wait a lease's life.
    recovering = now + lease_ttl
  end
elseif ARGV[3] ~= '' and ARGV[3] ~= epoch then
  -- spent since this life began stays; what came before is what the callers saw, at most
  if floor > seed then
    spent = spent + floor - seed
    seed = floor
  end
  rejoin = true
end
if rejoin then
  local deadline = string.format('%.0f', now + lease_ttl)
  for i = 6, 5 + n do
    redis.call('ZADD', KEYS[2], 'NX', deadline, ARGV[i])
  end
end
local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', string.format('%.0f', now))
for _, id in ipairs(dead) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[3], string.format('%.0f', now), id)
end
spent = spent + #dead
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', string.format('(%.0f', now - keep * 1000))
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', string.format('(%.0f', now - keep * 1000))
local function save()
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'spent', string.format('%.0f', spent),
             'base', string.format('%.0f', seed), 'recovering', string.format('%.0f', recovering))
  for _, i in ipairs({1, 2, 3, 5}) do
    redis.call('PEXPIRE', KEYS[i], keep)
  end
end
"""

# Then: max credits, retry (1 or 0), the new lease's id.
# -> verdict -1 (the 402 flag: then its ms left and message), 0 (budget spent), 1 (leased),
#    2 (credits left are kept for retries of the calls in flight: ask again later), 3 (the count
#    was lost and is being rebuilt: new calls wait, then its ms left).
RESERVE = (
    _PRELUDE
    + """
local held = redis.call('ZCARD', KEYS[2])
local stop = redis.call('GET', KEYS[4])
local verdict = 0
if stop then
  save()
  return {-1, epoch, spent, held, redis.call('PTTL', KEYS[4]), stop}
end
local left = tonumber(ARGV[op]) - spent - held
if ARGV[op + 1] ~= '1' and now < recovering then
  save()
  return {3, epoch, spent, held, math.floor((recovering - now) / 1000)}
end
if left >= 1 and (ARGV[op + 1] == '1' or left >= 1 + held) then
  redis.call('ZADD', KEYS[2], string.format('%.0f', now + lease_ttl), ARGV[op + 2])
  held = held + 1
  verdict = 1
elseif left >= 1 then
  verdict = 2
end
save()
return {verdict, epoch, spent, held}
"""
)

# Then: pairs of lease id and sent (1 or 0). A lease still held is spent if sent; one that
# expired (already counted) is given back if it was not sent; one never seen (its reservation's
# answer was lost, or Redis lost it) is counted if sent: the safe side for money.
SETTLE = (
    _PRELUDE
    + """
local stamp = string.format('%.0f', now)
for i = op, #ARGV, 2 do
  local sent = ARGV[i + 1] == '1'
  if redis.call('ZSCORE', KEYS[5], ARGV[i]) then
    -- settled before: this is the same settlement again (its answer was lost on the way back)
  elseif redis.call('ZREM', KEYS[2], ARGV[i]) == 1 then
    if sent then spent = spent + 1 end
  elseif redis.call('ZREM', KEYS[3], ARGV[i]) == 1 then
    if not sent then spent = spent - 1 end
  elseif sent then
    spent = spent + 1
  end
  redis.call('ZADD', KEYS[5], stamp, ARGV[i])
end
save()
return {1, epoch, spent, redis.call('ZCARD', KEYS[2])}
"""
)

STATE = (
    _PRELUDE
    + """
save()
return {1, epoch, spent, redis.call('ZCARD', KEYS[2])}
"""
)
