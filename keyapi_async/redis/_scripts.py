"""The Lua steps of the shared schedule; each runs atomically in Redis, on Redis's clock.

Times are integer microseconds of Redis `TIME`; what goes back to clients is relative (a wait),
so clients with skewed clocks still share one schedule. Every write re-arms the keys' expiry to
the end of the reserved horizon plus `linger`, never earlier: a long backlog keeps its state.

KEYS: pace hash, starts sorted set, stop flag. The schedule is a GCRA like RateLimiter's: `tat`
is the next free slot; a caller takes max(now, tat) and moves `tat` one interval on.
"""

from __future__ import annotations

__all__ = ["ACQUIRE", "RATE_LIMITED", "SLIP"]

# Shared by every step: read the state, with the rate recovered for the time since it moved.
_PRELUDE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local qps = tonumber(ARGV[1])
local linger = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tat', 'rate', 'changed')
local tat = tonumber(state[1]) or now
local rate = tonumber(state[2]) or qps
local changed = tonumber(state[3]) or now
if rate >= qps then
  rate = qps
else
  rate = math.min(qps, rate * tonumber(ARGV[3]) ^ ((now - changed) / 1000000))
end
local function save()
  redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', tat),
             'rate', string.format('%.17g', rate), 'changed', string.format('%.0f', now))
  local ttl = math.ceil((math.max(tat, now) - now) / 1000) + linger
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
end
"""

# ARGV: qps, linger ms, recovery per second, headroom.
# -> {-1, flag ms left, message} when the 402 flag is up, else {wait µs, rate * 1000}.
ACQUIRE = (
    """
local stop = redis.call('GET', KEYS[3])
if stop then
  return {-1, redis.call('PTTL', KEYS[3]), stop}
end
"""
    + _PRELUDE
    + """
local slot = math.max(now, tat)
tat = slot + math.ceil(tonumber(ARGV[4]) * 1000000 / rate)
local member = string.format('%.0f', slot)
redis.call('ZADD', KEYS[2], member, member)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('(%.0f', now - 2000000))
save()
return {slot - now, math.floor(rate * 1000)}
"""
)

# A 429 to the start `ago` µs before now. ARGV: qps, linger, recovery, ago µs, hold µs, back-off,
# minimum rate. The server counted the fleet's starts of the second before the rejected one
# (itself included) and let one fewer through; one 429 never more than halves the rate.
# -> rate * 1000.
RATE_LIMITED = (
    _PRELUDE
    + """
local sent = now - tonumber(ARGV[4])
local started = redis.call('ZCOUNT', KEYS[2], string.format('(%.0f', sent - 1000000),
                           string.format('%.0f', sent + 1000))
local estimate = math.max(started - 1, rate / 2)
rate = math.max(tonumber(ARGV[7]), math.min(rate, estimate * tonumber(ARGV[6])))
tat = math.max(tat, now + tonumber(ARGV[5]))
save()
return math.floor(rate * 1000)
"""
)

# A start went out `late` µs after its slot: move the schedule back as much, as RateLimiter.slip
# does (slots handed out keep their times). ARGV: qps, linger, recovery, late µs. -> 1 or 0.
SLIP = (
    """
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
"""
    + _PRELUDE
    + """
tat = tat + tonumber(ARGV[4])
save()
return 1
"""
)
