-- delivery_redeliver.lua: replace a delivery's record, made pending, if it
-- is still the one read, and make it due at once whatever its state,
-- unless an attempt is in flight. A parked delivery leaves the parking.
--
-- KEYS[1] due              ZSET delivery id scored by next attempt (unix ms)
-- KEYS[2] lease tokens     HASH delivery id -> token
-- KEYS[3] deliveries       HASH delivery id -> json
-- KEYS[4] parked           ZSET (scores 0) of "<endpoint id>:<due ms>:<delivery id>"
-- KEYS[5] parked index     HASH delivery id -> its member of parked
-- ARGV[1] delivery id, ARGV[2] the json it was read as, ARGV[3] new json,
-- ARGV[4] now (unix ms)
--
-- Returns 1, or the error BUSY (an attempt is in flight), NOTFOUND or
-- CHANGED (the record changed since it was read).
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
  return redis.error_reply('BUSY')
end
local cur = redis.call('HGET', KEYS[3], ARGV[1])
if not cur then
  return redis.error_reply('NOTFOUND')
end
if cur ~= ARGV[2] then
  return redis.error_reply('CHANGED')
end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
local m = redis.call('HGET', KEYS[5], ARGV[1])
if m then
  redis.call('ZREM', KEYS[4], m)
  redis.call('HDEL', KEYS[5], ARGV[1])
end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
return 1
