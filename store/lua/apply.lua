-- apply.lua: atomic changes of one merchant's records in one mode, made in
-- order, each independent of the others (one refused leaves the rest
-- made). A change holds optionally a checkout (compare-and-set on its
-- version, moved between status indexes, put on the expiry schedule while
-- open), optionally a payment (indexed, and in the unmatched index while it
-- has no checkout), and optionally the event recording the change.
--
-- A batch of changes is one script run because settling a scanned range of
-- transfers writes one change per transfer: the merchant-wide hashes and
-- indexes are then written once for the whole batch instead of once per
-- change. Checks see the changes made before them in the same run.
--
-- A checkout's moves between status indexes and on or off the expiry
-- schedule are written once per key at the end too, as the net effect of
-- the run's changes of that checkout: it is on the schedule exactly while
-- it is open.
--
-- KEYS[1]  open expiries       ZSET checkout id scored by expiry (unix ms)
-- KEYS[2]  events              HASH event id -> json
-- KEYS[3]  event index         ZSET (scores 0, by id)
-- KEYS[4]  payments            HASH payment id -> json
-- KEYS[5]  payments by transfer HASH "<chain>:<tx>:<log index>" -> payment id
-- KEYS[6]  payment index       ZSET (scores 0, by id)
-- KEYS[7]  unmatched index     ZSET (scores 0, by id)
-- KEYS[8]  payment checkouts   HASH payment id -> the checkout it is applied to
-- KEYS[9]  webhook endpoints of the mode  ZSET
-- KEYS[10] webhook outbox      LIST of event ids
-- then for change i, at k = 10 + 4*(i-1):
-- KEYS[k+1] checkout           HASH {v, json}
-- KEYS[k+2] old status index   ZSET
-- KEYS[k+3] new status index   ZSET
-- KEYS[k+4] event type index   ZSET (scores 0, by id)
--
-- ARGV[1]  the number of changes n
-- then for change i, at a = 1 + 14*(i-1):
-- ARGV[a+1]  '1' to change the checkout
-- ARGV[a+2]  expected checkout version
-- ARGV[a+3]  checkout json
-- ARGV[a+4]  checkout id
-- ARGV[a+5]  new checkout status
-- ARGV[a+6]  checkout expiry (unix ms)
-- ARGV[a+7]  event id ('' for none)
-- ARGV[a+8]  event json
-- ARGV[a+9]  payment id ('' for none)
-- ARGV[a+10] payment json
-- ARGV[a+11] transfer key of the payment
-- ARGV[a+12] '1' if the payment is unmatched
-- ARGV[a+13] checkout the payment is applied to ('' for none: unmatched or
--            reverted, it pays no checkout, whichever it names)
-- ARGV[a+14] the payment as it was read, "<status>/<checkout>", or '' to
--            write it whatever it is now
--
-- Returns n+1 values: for each change its checkout's new version (0
-- without a checkout) or the reason it was refused: NOTFOUND (no such
-- checkout), VERSION (the checkout changed since it was read), PAYMENT
-- (the payment changed since it was read), TRANSFER (another payment
-- already holds this transfer) or ATTACHED (the payment is applied to
-- another checkout already: a payment pays once); then 1 if events went to
-- the webhook outbox, else 0.
local per = 14
local n = tonumber(ARGV[1])
local out = {}

-- Who holds the batch's transfers and which checkouts its payments pay,
-- read at once and kept up to date as the changes are made, so each check
-- sees the changes before it.
local tks, pids = {}, {}
for i = 1, n do
  local a = 1 + per * (i - 1)
  if ARGV[a + 9] ~= '' then
    tks[#tks + 1] = ARGV[a + 11]
    if ARGV[a + 13] ~= '' then
      pids[#pids + 1] = ARGV[a + 9]
    end
  end
end
-- hget returns the values of the fields of HASH key, by field.
local function hget(key, fields)
  local found = {}
  if #fields > 0 then
    local vals = redis.call('HMGET', key, unpack(fields))
    for j, f in ipairs(fields) do
      if vals[j] then
        found[f] = vals[j]
      end
    end
  end
  return found
end
local holders, applied = hget(KEYS[5], tks), hget(KEYS[8], pids)

-- Everything written once at the end: payments, events and their indexes,
-- and each checkout's move between status indexes and on or off the expiry
-- schedule (the net move, should a run change a checkout twice).
local payments, bytx = {}, {}
-- payment id -> the checkout it pays, or false when it pays none
local paycos, paycoOrder = {}, {}
local written = {} -- payment id -> json written by this run

-- stored returns the status and checkout of a payment as stored, or as
-- written earlier in this run; nil when there is none.
local function stored(id)
  local ok, p = pcall(cjson.decode, written[id] or redis.call('HGET', KEYS[4], id) or '')
  if not ok or type(p) ~= 'table' or type(p.status) ~= 'string' then
    return nil
  end
  if type(p.checkout) ~= 'string' then
    return p.status, ''
  end
  return p.status, p.checkout
end
local unmatched, unmatchedOrder = {}, {}
local events, outbox = {}, {}
local moves, moveOrder = {}, {}

-- Members to add to or remove from sorted sets, by key, in the order the
-- keys were first named. A run never adds and removes one member of one
-- key. Scores of the id indexes are the string '0': a Lua number would be
-- formatted with printf on every call.
local zadds, zrems, zorder = {}, {}, {}
local function zkey(key)
  if zadds[key] == nil then
    zadds[key], zrems[key] = {}, {}
    zorder[#zorder + 1] = key
  end
end
local function zadd(key, score, member)
  zkey(key)
  local t = zadds[key]
  t[#t + 1] = score
  t[#t + 1] = member
end
local function zrem(key, member)
  zkey(key)
  local t = zrems[key]
  t[#t + 1] = member
end

for i = 1, n do
  local k = 10 + 4 * (i - 1)
  local a = 1 + per * (i - 1)
  local changeCheckout = ARGV[a + 1] == '1'
  local paymentID = ARGV[a + 9]
  local refused = nil
  local v = nil
  if changeCheckout then
    v = redis.call('HGET', KEYS[k + 1], 'v')
    if not v then
      refused = 'NOTFOUND'
    elseif v ~= ARGV[a + 2] then
      refused = 'VERSION'
    end
  end
  if not refused and paymentID ~= '' and ARGV[a + 14] ~= '' then
    local status, checkout = stored(paymentID)
    if status == nil or status .. '/' .. checkout ~= ARGV[a + 14] then
      refused = 'PAYMENT'
    end
  end
  if not refused and paymentID ~= '' then
    local holder = holders[ARGV[a + 11]]
    local was = applied[paymentID]
    if holder and holder ~= paymentID then
      refused = 'TRANSFER'
    elseif ARGV[a + 13] ~= '' and was and was ~= ARGV[a + 13] and stored(paymentID) ~= 'reverted' then
      -- (A payment reverted before reverts freed it may still be listed
      -- as paying the checkout it names.)
      refused = 'ATTACHED'
    end
  end

  if refused then
    out[i] = refused
  else
    local nv = 0
    if changeCheckout then
      local id = ARGV[a + 4]
      nv = tonumber(v) + 1
      redis.call('HSET', KEYS[k + 1], 'v', nv, 'json', ARGV[a + 3])
      local m = moves[id]
      if m == nil then
        m = {from = KEYS[k + 2]}
        moves[id] = m
        moveOrder[#moveOrder + 1] = id
      end
      m.to, m.open, m.expiry = KEYS[k + 3], ARGV[a + 5] == 'open', ARGV[a + 6]
    end
    if paymentID ~= '' then
      local tk = ARGV[a + 11]
      holders[tk] = paymentID
      payments[#payments + 1] = paymentID
      payments[#payments + 1] = ARGV[a + 10]
      written[paymentID] = ARGV[a + 10]
      bytx[#bytx + 1] = tk
      bytx[#bytx + 1] = paymentID
      zadd(KEYS[6], '0', paymentID)
      if paycos[paymentID] == nil then
        paycoOrder[#paycoOrder + 1] = paymentID
      end
      if ARGV[a + 13] ~= '' then
        applied[paymentID], paycos[paymentID] = ARGV[a + 13], ARGV[a + 13]
      else
        applied[paymentID], paycos[paymentID] = nil, false
      end
      if unmatched[paymentID] == nil then
        unmatchedOrder[#unmatchedOrder + 1] = paymentID
      end
      unmatched[paymentID] = ARGV[a + 12] == '1'
    end
    local eventID = ARGV[a + 7]
    if eventID ~= '' then
      events[#events + 1] = eventID
      events[#events + 1] = ARGV[a + 8]
      zadd(KEYS[3], '0', eventID)
      zadd(KEYS[k + 4], '0', eventID)
      outbox[#outbox + 1] = eventID
    end
    out[i] = nv
  end
end

for _, id in ipairs(moveOrder) do
  local m = moves[id]
  if m.from ~= m.to then
    zrem(m.from, id)
    zadd(m.to, '0', id)
  end
  if m.open then
    zadd(KEYS[1], m.expiry, id)
  else
    zrem(KEYS[1], id)
  end
end
for _, id in ipairs(unmatchedOrder) do
  if unmatched[id] then
    zadd(KEYS[7], '0', id)
  else
    zrem(KEYS[7], id)
  end
end
for _, key in ipairs(zorder) do
  if #zrems[key] > 0 then
    redis.call('ZREM', key, unpack(zrems[key]))
  end
  if #zadds[key] > 0 then
    redis.call('ZADD', key, unpack(zadds[key]))
  end
end

if #payments > 0 then
  redis.call('HSET', KEYS[4], unpack(payments))
  redis.call('HSET', KEYS[5], unpack(bytx))
end
local pays, released = {}, {}
for _, id in ipairs(paycoOrder) do
  if paycos[id] then
    pays[#pays + 1] = id
    pays[#pays + 1] = paycos[id]
  else
    released[#released + 1] = id
  end
end
if #released > 0 then
  redis.call('HDEL', KEYS[8], unpack(released))
end
if #pays > 0 then
  redis.call('HSET', KEYS[8], unpack(pays))
end
local pushed = 0
if #events > 0 then
  redis.call('HSET', KEYS[2], unpack(events))
  if redis.call('ZCARD', KEYS[9]) > 0 then
    redis.call('RPUSH', KEYS[10], unpack(outbox))
    pushed = 1
  end
end
out[n + 1] = pushed
return out
