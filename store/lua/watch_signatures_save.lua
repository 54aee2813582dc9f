-- watch_signatures_save.lua: move a Solana watcher's per-account cursors,
-- fenced by the chain lease's token.
--
-- KEYS[1] lease       STRING "<token> <holder>" with a TTL
-- KEYS[2] signatures  HASH account -> "<slot> <signature>"
-- ARGV[1] fencing token, ARGV[2..n] pairs of account, "<slot> <signature>"
--
-- Returns 1, or the error STALE_TOKEN, changing nothing, when the lease is
-- gone or holds another token: another replica may be watching.
local cur = redis.call('GET', KEYS[1])
if not cur or string.match(cur, '^(%d+) ') ~= ARGV[1] then
  return redis.error_reply('STALE_TOKEN')
end
for i = 2, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
return 1
