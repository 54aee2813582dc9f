-- reserve.lua: take the first free fingerprinted amount among candidates in
-- one reservation space (one token at one address on one chain).
--
-- KEYS[1] reserved amounts   ZSET, scores 0, members zero-padded base units
-- KEYS[2] reserved until     ZSET, member padded amount, score end time (unix ms)
-- KEYS[3] amount -> checkout HASH
-- ARGV[1] now (unix ms)
-- ARGV[2] end of the new reservation (unix ms)
-- ARGV[3] checkout id
-- ARGV[4] lowest padded amount of the price's window (inclusive)
-- ARGV[5] highest padded amount of the price's window (inclusive)
-- ARGV[6..n] candidate padded amounts, tried in order
--
-- Returns {amount, tries, 0} on success, or {false, tries, taken} where taken
-- counts live reservations in the window, so the caller can tell a crowded
-- window from an exhausted one.

local function prune(limit)
  local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, limit)
  for _, a in ipairs(stale) do
    redis.call('ZREM', KEYS[1], a)
    redis.call('ZREM', KEYS[2], a)
    redis.call('HDEL', KEYS[3], a)
  end
end

prune(100)
for i = 6, #ARGV do
  local a = ARGV[i]
  if not redis.call('ZSCORE', KEYS[1], a) then
    redis.call('ZADD', KEYS[1], 0, a)
    redis.call('ZADD', KEYS[2], ARGV[2], a)
    redis.call('HSET', KEYS[3], a, ARGV[3])
    return {a, i - 5, 0}
  end
end
prune(10000)
return {false, #ARGV - 5, redis.call('ZLEXCOUNT', KEYS[1], '[' .. ARGV[4], '[' .. ARGV[5])}
