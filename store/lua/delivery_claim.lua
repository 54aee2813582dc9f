-- delivery_claim.lua: lease due deliveries to a dispatcher. Deliveries
-- whose lease ended (their dispatcher died) are due again first. A due
-- delivery whose endpoint already has its limit of attempts in flight is
-- parked with that endpoint, in due order, and leaves the due set: it
-- never blocks the deliveries of other endpoints behind it, and each slot
-- the endpoint frees brings its longest-parked delivery back.
--
-- KEYS[1] due              ZSET delivery id scored by next attempt (unix ms)
-- KEYS[2] leased           ZSET delivery id scored by lease end (unix ms)
-- KEYS[3] lease tokens     HASH delivery id -> token
-- KEYS[4] in flight        HASH endpoint id -> deliveries being attempted
-- KEYS[5] deliveries       HASH delivery id -> json
-- KEYS[6] lease sequence   STRING counter the tokens come from
-- KEYS[7] parked           ZSET (scores 0) of "<endpoint id>:<due ms, 15 digits>:<delivery id>"
-- KEYS[8] parked index     HASH delivery id -> its member of parked
-- ARGV[1] now (unix ms), ARGV[2] lease length (ms), ARGV[3] most deliveries
-- to lease, ARGV[4] most attempts in flight per endpoint
--
-- Returns a flat list: '1' when the due set may hold more deliveries due
-- now than were looked at (else '0'), then delivery id, lease token,
-- delivery json, ...
--
-- A delivery id ends with its endpoint id's 26 characters (see
-- stablegate.DeliveryID).
local function endpoint(id)
  return 'we_' .. string.sub(id, -26)
end
local now = tonumber(ARGV[1])
-- release frees one of ep's slots and brings its longest-parked delivery
-- back to the due set.
local function release(ep)
  if redis.call('HINCRBY', KEYS[4], ep, -1) <= 0 then
    redis.call('HDEL', KEYS[4], ep)
  end
  local m = redis.call('ZRANGEBYLEX', KEYS[7], '[' .. ep .. ':', '(' .. ep .. ';', 'LIMIT', 0, 1)[1]
  if m then
    local id = string.sub(m, #ep + 18)
    redis.call('ZREM', KEYS[7], m)
    redis.call('HDEL', KEYS[8], id)
    redis.call('ZADD', KEYS[1], now, id)
  end
end
local ended = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)
for _, id in ipairs(ended) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  redis.call('ZADD', KEYS[1], now, id)
  release(endpoint(id))
end
local want = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local scan = want * 4
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, scan)
local out = {'0'}
if #due == 2 * scan then
  out[1] = '1'
end
for i = 1, #due, 2 do
  if #out > want * 3 then
    out[1] = '1'
    break
  end
  local id = due[i]
  local js = redis.call('HGET', KEYS[5], id)
  local ep = endpoint(id)
  if not js then
    redis.call('ZREM', KEYS[1], id) -- its record is gone
  elseif tonumber(redis.call('HGET', KEYS[4], ep) or '0') >= limit then
    local m = ep .. ':' .. string.format('%015d', tonumber(due[i + 1])) .. ':' .. id
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZADD', KEYS[7], 0, m)
    redis.call('HSET', KEYS[8], id, m)
  else
    local token = redis.call('INCR', KEYS[6])
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), id)
    redis.call('HSET', KEYS[3], id, token)
    redis.call('HINCRBY', KEYS[4], ep, 1)
    out[#out + 1] = id
    out[#out + 1] = tostring(token)
    out[#out + 1] = js
  end
end
return out
