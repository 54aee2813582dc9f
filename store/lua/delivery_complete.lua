-- delivery_complete.lua: record an attempt's outcome under the lease it
-- was made under, end the lease, schedule the next attempt if any, and
-- bring the endpoint's longest-parked delivery back to the due set for
-- the slot this one frees.
--
-- KEYS[1] due              ZSET delivery id scored by next attempt (unix ms)
-- KEYS[2] leased           ZSET delivery id scored by lease end (unix ms)
-- KEYS[3] lease tokens     HASH delivery id -> token
-- KEYS[4] in flight        HASH endpoint id -> deliveries being attempted
-- KEYS[5] deliveries       HASH delivery id -> json
-- KEYS[6] parked           ZSET (scores 0) of "<endpoint id>:<due ms, 15 digits>:<delivery id>"
-- KEYS[7] parked index     HASH delivery id -> its member of parked
-- ARGV[1] delivery id, ARGV[2] lease token, ARGV[3] delivery json,
-- ARGV[4] next attempt (unix ms), or '' for none, ARGV[5] endpoint id,
-- ARGV[6] now (unix ms)
--
-- Returns 1, or 2 when a parked delivery came back, or the error STALE
-- when the lease ended and the delivery went to another dispatcher (the
-- outcome is dropped; that one decides).
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then
  return redis.error_reply('STALE')
end
local ep = ARGV[5]
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
if redis.call('HINCRBY', KEYS[4], ep, -1) <= 0 then
  redis.call('HDEL', KEYS[4], ep)
end
redis.call('HSET', KEYS[5], ARGV[1], ARGV[3])
if ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
end
local m = redis.call('ZRANGEBYLEX', KEYS[6], '[' .. ep .. ':', '(' .. ep .. ';', 'LIMIT', 0, 1)[1]
if m then
  local id = string.sub(m, #ep + 18)
  redis.call('ZREM', KEYS[6], m)
  redis.call('HDEL', KEYS[7], id)
  redis.call('ZADD', KEYS[1], ARGV[6], id)
  return 2
end
return 1
