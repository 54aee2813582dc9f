-- catalog_put.lua: create a product or payment link, or replace one if it
-- is still at the version it was read at, with the state fields the
-- use-taking script reads kept beside its JSON.
--
-- KEYS[1] objects          HASH id -> json, "<id>:v" -> version,
--                          "<id>:active", "<id>:max"
-- KEYS[2] index            ZSET (scores 0, by id) of the object's mode
-- ARGV[1] object id, ARGV[2] expected version ('0' to create),
-- ARGV[3] json, ARGV[4] active ('1' or '0'),
-- ARGV[5] max uses ('' for an object without a limit, a product)
--
-- Returns the new version, or the error EXISTS, NOTFOUND or VERSION.
local id = ARGV[1]
local v = redis.call('HGET', KEYS[1], id .. ':v')
if ARGV[2] == '0' then
  if v then
    return redis.error_reply('EXISTS')
  end
elseif not v then
  return redis.error_reply('NOTFOUND')
elseif v ~= ARGV[2] then
  return redis.error_reply('VERSION')
end
redis.call('HSET', KEYS[1], id, ARGV[3], id .. ':active', ARGV[4])
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[1], id .. ':max', ARGV[5])
end
redis.call('ZADD', KEYS[2], 0, id)
return redis.call('HINCRBY', KEYS[1], id .. ':v', 1)
