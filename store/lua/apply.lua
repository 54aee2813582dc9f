-- apply.lua: one atomic change of a merchant's records: optionally a
-- checkout (compare-and-set on its version, moved between status indexes,
-- kept on the expiry schedule exactly while open), optionally a payment
-- (indexed, and in the unmatched index while it has no checkout), and
-- optionally the event recording the change.
--
-- KEYS[1]  checkout            HASH {v, json}
-- KEYS[2]  old status index    ZSET
-- KEYS[3]  new status index    ZSET
-- KEYS[4]  open expiries       ZSET checkout id scored by expiry (unix ms)
-- KEYS[5]  events              HASH event id -> json
-- KEYS[6]  event index         ZSET (scores 0, by id)
-- KEYS[7]  payments            HASH payment id -> json
-- KEYS[8]  payments by transfer HASH "<chain>:<tx>:<log index>" -> payment id
-- KEYS[9]  payment index       ZSET (scores 0, by id)
-- KEYS[10] unmatched index     ZSET (scores 0, by id)
-- KEYS[11] event type index    ZSET (scores 0, by id)
-- KEYS[12] payment checkouts    HASH payment id -> the checkout it is applied to
-- KEYS[13] webhook endpoints of the mode  ZSET
-- KEYS[14] webhook outbox      LIST of event ids
-- ARGV[1]  '1' to change the checkout
-- ARGV[2]  expected checkout version
-- ARGV[3]  checkout json
-- ARGV[4]  checkout id
-- ARGV[5]  new checkout status
-- ARGV[6]  checkout expiry (unix ms)
-- ARGV[7]  event id ('' for none)
-- ARGV[8]  event json
-- ARGV[9]  payment id ('' for none)
-- ARGV[10] payment json
-- ARGV[11] transfer key of the payment
-- ARGV[12] '1' if the payment is unmatched
-- ARGV[13] checkout the payment is applied to ('' for none)
--
-- Returns {the checkout's new version (0 without a checkout), 1 if the
-- event went to the webhook outbox else 0}, or the error
-- NOTFOUND or VERSION (the checkout changed since it was read), or
-- TRANSFER (another payment already holds this transfer), or ATTACHED (the
-- payment is applied to another checkout already: a payment pays once).
local nv = 0
if ARGV[1] == '1' then
  local v = redis.call('HGET', KEYS[1], 'v')
  if not v then
    return redis.error_reply('NOTFOUND')
  end
  if v ~= ARGV[2] then
    return redis.error_reply('VERSION')
  end
end
if ARGV[9] ~= '' then
  local holder = redis.call('HGET', KEYS[8], ARGV[11])
  if holder and holder ~= ARGV[9] then
    return redis.error_reply('TRANSFER')
  end
  if ARGV[13] ~= '' then
    local applied = redis.call('HGET', KEYS[12], ARGV[9])
    if applied and applied ~= ARGV[13] then
      return redis.error_reply('ATTACHED')
    end
  end
end
if ARGV[1] == '1' then
  nv = tonumber(redis.call('HGET', KEYS[1], 'v')) + 1
  redis.call('HSET', KEYS[1], 'v', nv, 'json', ARGV[3])
  if KEYS[2] ~= KEYS[3] then
    redis.call('ZREM', KEYS[2], ARGV[4])
    redis.call('ZADD', KEYS[3], 0, ARGV[4])
  end
  if ARGV[5] == 'open' then
    redis.call('ZADD', KEYS[4], ARGV[6], ARGV[4])
  else
    redis.call('ZREM', KEYS[4], ARGV[4])
  end
end
if ARGV[9] ~= '' then
  redis.call('HSET', KEYS[7], ARGV[9], ARGV[10])
  redis.call('HSET', KEYS[8], ARGV[11], ARGV[9])
  redis.call('ZADD', KEYS[9], 0, ARGV[9])
  if ARGV[13] ~= '' then
    redis.call('HSET', KEYS[12], ARGV[9], ARGV[13])
  end
  if ARGV[12] == '1' then
    redis.call('ZADD', KEYS[10], 0, ARGV[9])
  else
    redis.call('ZREM', KEYS[10], ARGV[9])
  end
end
local pushed = 0
if ARGV[7] ~= '' then
  redis.call('HSET', KEYS[5], ARGV[7], ARGV[8])
  redis.call('ZADD', KEYS[6], 0, ARGV[7])
  redis.call('ZADD', KEYS[11], 0, ARGV[7])
  if redis.call('ZCARD', KEYS[13]) > 0 then
    redis.call('RPUSH', KEYS[14], ARGV[7])
    pushed = 1
  end
end
return {nv, pushed}
