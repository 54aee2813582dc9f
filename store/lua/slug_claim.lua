-- slug_claim.lua: claim a payment link slug, when nobody holds it or when
-- it is still held by the owner the caller found stale (a link whose
-- creation did not finish).
--
-- KEYS[1] slug claim       STRING "<merchant id> <link id>"
-- ARGV[1] new owner, ARGV[2] the owner to replace ('' when none)
--
-- Returns 1 when claimed, else the current owner.
local cur = redis.call('GET', KEYS[1])
if (not cur and ARGV[2] == '') or cur == ARGV[2] then
  redis.call('SET', KEYS[1], ARGV[1])
  return 1
end
return cur or ''
