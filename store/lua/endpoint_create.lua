-- endpoint_create.lua: store a new webhook endpoint and index it, unless
-- the merchant has as many as allowed in its mode.
--
-- KEYS[1] endpoints        HASH id -> json, "<id>:v" -> version
-- KEYS[2] endpoint index   ZSET (scores 0, by id) of the mode
-- ARGV[1] endpoint id, ARGV[2] endpoint json, ARGV[3] most endpoints allowed
--
-- Returns 1, or the error LIMIT.
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then
  return redis.error_reply('LIMIT')
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2], ARGV[1] .. ':v', 1)
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
