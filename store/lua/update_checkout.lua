-- update_checkout.lua: compare-and-set a checkout, move it between status
-- indexes and record its event, in one step.
--
-- KEYS[1] checkout          HASH {v, json}
-- KEYS[2] old status index  ZSET
-- KEYS[3] new status index  ZSET
-- KEYS[4] events            HASH
-- KEYS[5] event index       ZSET
-- KEYS[6] open expiries     ZSET checkout id scored by expiry (unix ms)
-- ARGV[1] expected version, ARGV[2] new json, ARGV[3] checkout id,
-- ARGV[4] event id ('' for a change without event), ARGV[5] event json,
-- ARGV[6] new status, ARGV[7] expiry (unix ms): the checkout stays on the
-- expiry schedule exactly while its status is open
--
-- Returns the new version, or the error NOTFOUND or VERSION (someone else
-- changed the checkout since it was read).
local v = redis.call('HGET', KEYS[1], 'v')
if not v then
  return redis.error_reply('NOTFOUND')
end
if v ~= ARGV[1] then
  return redis.error_reply('VERSION')
end
local nv = tonumber(v) + 1
redis.call('HSET', KEYS[1], 'v', nv, 'json', ARGV[2])
if KEYS[2] ~= KEYS[3] then
  redis.call('ZREM', KEYS[2], ARGV[3])
  redis.call('ZADD', KEYS[3], 0, ARGV[3])
end
if ARGV[6] == 'open' then
  redis.call('ZADD', KEYS[6], ARGV[7], ARGV[3])
else
  redis.call('ZREM', KEYS[6], ARGV[3])
end
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[4], ARGV[4], ARGV[5])
  redis.call('ZADD', KEYS[5], 0, ARGV[4])
end
return nv
