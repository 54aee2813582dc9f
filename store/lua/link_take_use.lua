-- link_take_use.lua: take one use of a payment link for a checkout about
-- to be opened, if the link is active, its product (if any) is active and
-- it has opened fewer checkouts than its max uses (0 for no limit).
--
-- KEYS[1] payment links    HASH "<id>:active", "<id>:max", "<id>:uses"
-- KEYS[2] products         HASH "<id>:active"
-- ARGV[1] link id, ARGV[2] product id ('' for an ad-hoc price)
--
-- Returns the uses after this one, or the error NOTFOUND, INACTIVE,
-- PRODUCT_INACTIVE or EXHAUSTED.
local id = ARGV[1]
local st = redis.call('HMGET', KEYS[1], id .. ':active', id .. ':max', id .. ':uses')
if not st[1] then
  return redis.error_reply('NOTFOUND')
end
if st[1] ~= '1' then
  return redis.error_reply('INACTIVE')
end
if ARGV[2] ~= '' and redis.call('HGET', KEYS[2], ARGV[2] .. ':active') ~= '1' then
  return redis.error_reply('PRODUCT_INACTIVE')
end
local max = tonumber(st[2] or '0')
if max > 0 and tonumber(st[3] or '0') >= max then
  return redis.error_reply('EXHAUSTED')
end
return redis.call('HINCRBY', KEYS[1], id .. ':uses', 1)
