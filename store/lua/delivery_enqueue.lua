-- delivery_enqueue.lua: add deliveries of events to endpoints, each due at
-- once, skipping any that exist already: fanning an event out again after
-- a crash never sends it twice.
--
-- KEYS[1] deliveries       HASH delivery id -> json
-- KEYS[2] due              ZSET delivery id scored by next attempt (unix ms)
-- KEYS[2+2i-1], KEYS[2+2i] the i-th delivery's endpoint and event indexes, ZSETs (scores 0, by id)
-- ARGV[1] now (unix ms)
-- ARGV[2i], ARGV[2i+1]     the i-th delivery's id and json
--
-- Returns how many deliveries were added.
local added = 0
local n = (#ARGV - 1) / 2
for i = 1, n do
  local id = ARGV[2 * i]
  if redis.call('HSETNX', KEYS[1], id, ARGV[2 * i + 1]) == 1 then
    redis.call('ZADD', KEYS[2], ARGV[1], id)
    redis.call('ZADD', KEYS[1 + 2 * i], 0, id)
    redis.call('ZADD', KEYS[2 + 2 * i], 0, id)
    added = added + 1
  end
end
return added
