-- idempotency_begin.lua: claim an Idempotency-Key for a request, or report
-- what the first request with that key left.
--
-- KEYS[1] idempotency record HASH {state, fp, owner, status, body}
-- ARGV[1] request fingerprint, ARGV[2] in-flight lease (ms),
-- ARGV[3] owner token of the claiming request
--
-- Returns {'new'} when claimed, else {state, fp, status, body} where state is
-- 'inflight' or 'done'.
local cur = redis.call('HMGET', KEYS[1], 'state', 'fp', 'status', 'body')
if not cur[1] then
  redis.call('HSET', KEYS[1], 'state', 'inflight', 'fp', ARGV[1], 'owner', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {'new'}
end
return cur
