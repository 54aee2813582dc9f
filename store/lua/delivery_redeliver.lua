-- delivery_redeliver.lua: make a delivery due at once again, whatever its
-- state, unless an attempt is in flight.
--
-- KEYS[1] due              ZSET delivery id scored by next attempt (unix ms)
-- KEYS[2] lease tokens     HASH delivery id -> token
-- KEYS[3] deliveries       HASH delivery id -> json
-- ARGV[1] delivery id, ARGV[2] delivery json, ARGV[3] now (unix ms)
--
-- Returns 1, or the error BUSY or NOTFOUND.
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
  return redis.error_reply('BUSY')
end
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 0 then
  return redis.error_reply('NOTFOUND')
end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
