-- idempotency_end.lua: the request owning an Idempotency-Key stores its
-- response for replay, or gives the key up. A request whose lease lapsed
-- and whose key another request has claimed since changes nothing.
--
-- KEYS[1] idempotency record HASH {state, fp, owner, status, body}
-- ARGV[1] owner token, ARGV[2] 'finish' or 'abort',
-- ARGV[3] status code, ARGV[4] body, ARGV[5] replay lifetime (ms)
--
-- Returns 1 when done, 0 when the key has another owner (or none).
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then
  return 0
end
if ARGV[2] == 'abort' then
  redis.call('DEL', KEYS[1])
  return 1
end
redis.call('HSET', KEYS[1], 'state', 'done', 'status', ARGV[3], 'body', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
