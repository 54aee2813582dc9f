-- delivery_claim.lua: lease due deliveries to a dispatcher. Deliveries
-- whose lease ended (their dispatcher died) are due again first. A
-- delivery whose endpoint already has its limit of attempts in flight is
-- put off a little, so it never blocks the deliveries behind it.
--
-- KEYS[1] due              ZSET delivery id scored by next attempt (unix ms)
-- KEYS[2] leased           ZSET delivery id scored by lease end (unix ms)
-- KEYS[3] lease tokens     HASH delivery id -> token
-- KEYS[4] in flight        HASH endpoint id -> deliveries being attempted
-- KEYS[5] deliveries       HASH delivery id -> json
-- KEYS[6] lease sequence   STRING counter the tokens come from
-- ARGV[1] now (unix ms), ARGV[2] lease length (ms), ARGV[3] most deliveries
-- to lease, ARGV[4] most attempts in flight per endpoint, ARGV[5] how long
-- to put off a delivery whose endpoint is at its limit (ms)
--
-- Returns a flat list: delivery id, lease token, delivery json, ...
--
-- A delivery id ends with its endpoint id's 26 characters (see
-- stablegate.DeliveryID).
local function endpoint(id)
  return 'we_' .. string.sub(id, -26)
end
local function release(ep)
  if redis.call('HINCRBY', KEYS[4], ep, -1) <= 0 then
    redis.call('HDEL', KEYS[4], ep)
  end
end
local now = tonumber(ARGV[1])
local ended = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)
for _, id in ipairs(ended) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  release(endpoint(id))
  redis.call('ZADD', KEYS[1], now, id)
end
local want = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local out = {}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, want * 4)
for _, id in ipairs(due) do
  if #out >= want * 3 then
    break
  end
  local ep = endpoint(id)
  if tonumber(redis.call('HGET', KEYS[4], ep) or '0') >= limit then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[5]), id)
  else
    local token = redis.call('INCR', KEYS[6])
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), id)
    redis.call('HSET', KEYS[3], id, token)
    redis.call('HINCRBY', KEYS[4], ep, 1)
    out[#out + 1] = id
    out[#out + 1] = tostring(token)
    out[#out + 1] = redis.call('HGET', KEYS[5], id) or ''
  end
end
return out
