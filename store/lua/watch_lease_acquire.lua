-- watch_lease_acquire.lua: take a chain watcher's lease with a new fencing
-- token, unless another replica holds it.
--
-- KEYS[1] lease  STRING "<token> <holder>" with a TTL
-- KEYS[2] fence  STRING counter, no TTL: the last token issued
-- ARGV[1] holder, ARGV[2] lease TTL (ms)
--
-- Returns the new token (tokens only grow, across holders and expiries), or
-- 0 when another holder has the lease. A holder that asks again while it
-- still holds the lease gets a new token too: it lost track of the old one.
local cur = redis.call('GET', KEYS[1])
if cur then
  local holder = string.match(cur, '^%d+ (.*)$')
  if holder ~= ARGV[1] then
    return 0
  end
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token .. ' ' .. ARGV[1], 'PX', ARGV[2])
return token
