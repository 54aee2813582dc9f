-- watch_cursor_save.lua: move a chain watcher's cursor and its recent block
-- hashes in one step, fenced by the lease's token.
--
-- KEYS[1] lease   STRING "<token> <holder>" with a TTL
-- KEYS[2] cursor  HASH {height, hash, token, at}
-- KEYS[3] recent  ZSET block hash scored by height
-- ARGV[1] fencing token, ARGV[2] new cursor height, ARGV[3] its hash,
-- ARGV[4] drop recent entries at this height and above first,
-- ARGV[5] recent entries to keep at most, ARGV[6] the watcher's clock (unix ms),
-- ARGV[7..n] pairs of height, hash to add to recent
--
-- Returns 1, or the error STALE_TOKEN, changing nothing, when the lease is
-- gone or holds another token: another replica may be scanning.
local cur = redis.call('GET', KEYS[1])
if not cur or string.match(cur, '^(%d+) ') ~= ARGV[1] then
  return redis.error_reply('STALE_TOKEN')
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], ARGV[4], '+inf')
for i = 7, #ARGV, 2 do
  redis.call('ZREMRANGEBYSCORE', KEYS[3], ARGV[i], ARGV[i])
  redis.call('ZADD', KEYS[3], ARGV[i], ARGV[i + 1])
end
local keep = tonumber(ARGV[5])
if keep > 0 then
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -keep - 1)
end
redis.call('HSET', KEYS[2], 'height', ARGV[2], 'hash', ARGV[3], 'token', ARGV[1], 'at', ARGV[6])
return 1
