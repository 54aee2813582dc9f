-- release.lua: give back a reservation that a failed checkout creation took.
--
-- KEYS[1] reserved amounts ZSET, KEYS[2] reserved until ZSET, KEYS[3] amount -> checkout HASH
-- ARGV[1] padded amount, ARGV[2] checkout id that must hold it
--
-- Returns 1 when released, 0 when the amount is held by another checkout or free.
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then
  return 0
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1
