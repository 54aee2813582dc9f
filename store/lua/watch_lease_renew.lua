-- watch_lease_renew.lua: extend or give up a chain watcher's lease, only if
-- the caller still holds it under its token.
--
-- KEYS[1] lease  STRING "<token> <holder>" with a TTL
-- ARGV[1] "<token> <holder>" the caller holds, ARGV[2] new TTL (ms), or 0 to
-- release the lease
--
-- Returns 1 when extended or released, 0 when the lease is gone or another's.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if ARGV[2] == '0' then
  redis.call('DEL', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
