-- endpoint_update.lua: replace a webhook endpoint if it is still at the
-- version it was read at, or delete it.
--
-- KEYS[1] endpoints        HASH id -> json, "<id>:v" -> version
-- KEYS[2] endpoint index   ZSET (scores 0, by id) of the endpoint's mode
-- ARGV[1] endpoint id, ARGV[2] expected version,
-- ARGV[3] new json, or '' to delete the endpoint
--
-- Returns the new version (0 once deleted), or the error NOTFOUND or
-- VERSION.
local v = redis.call('HGET', KEYS[1], ARGV[1] .. ':v')
if not v then
  return redis.error_reply('NOTFOUND')
end
if v ~= ARGV[2] then
  return redis.error_reply('VERSION')
end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1], ARGV[1] .. ':v')
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':v', 1)
