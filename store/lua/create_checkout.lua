-- create_checkout.lua: store a new checkout with its indexes and its
-- checkout.created event in one step.
--
-- KEYS[1] checkout           HASH {v, json}
-- KEYS[2] checkout index     ZSET (scores 0, by id)
-- KEYS[3] status index       ZSET
-- KEYS[4] order_id index     ZSET (written only when ARGV[3] == '1')
-- KEYS[5] events             HASH event id -> json
-- KEYS[6] event index        ZSET (scores 0, by id)
-- KEYS[7] open expiries      ZSET checkout id scored by expiry (unix ms)
-- KEYS[8] event type index   ZSET (scores 0, by id)
-- KEYS[9] webhook endpoints of the mode  ZSET
-- KEYS[10] webhook outbox    LIST of event ids
-- ARGV[1] checkout id, ARGV[2] checkout json, ARGV[3] '1' if it has an order_id,
-- ARGV[4] event id, ARGV[5] event json, ARGV[6] expiry (unix ms)
--
-- Returns 1, or 2 when the event went to the webhook outbox, or the error
-- EXISTS when the id is taken.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.error_reply('EXISTS')
end
redis.call('HSET', KEYS[1], 'v', 1, 'json', ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('ZADD', KEYS[3], 0, ARGV[1])
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[4], 0, ARGV[1])
end
redis.call('HSET', KEYS[5], ARGV[4], ARGV[5])
redis.call('ZADD', KEYS[6], 0, ARGV[4])
redis.call('ZADD', KEYS[8], 0, ARGV[4])
redis.call('ZADD', KEYS[7], ARGV[6], ARGV[1])
if redis.call('ZCARD', KEYS[9]) > 0 then
  redis.call('RPUSH', KEYS[10], ARGV[4])
  return 2
end
return 1
