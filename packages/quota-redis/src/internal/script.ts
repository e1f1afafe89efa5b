/**
 * The Lua script behind the Redis store. One script serves every operation, so that a `take` over
 * all of a request's buckets is one atomic `EVALSHA`: Redis runs a script to the end before it
 * serves any other command, which is what makes "all or nothing" hold across processes.
 *
 * Every bucket is one string key holding a MessagePack array (doubles are kept exactly):
 *
 * - `[kind, units, last, pausedUntil, factor, adaptedAt, ...]`, where kind is 0 (sliding window),
 *   1 (token bucket) or 2 (concurrency);
 * - a window continues with `runs, firstAt, lastAt, lastUnits`: all takes in one sub-window join one
 *   run, dated by the latest of them, exactly as the in-memory store does. Only the last run is in
 *   the array; the older ones follow it in the key's value as packed `at, units` pairs, oldest first,
 *   and `firstAt` is the oldest one's date. A call decodes them only when one leaves the window or a
 *   caller must wait, and otherwise writes them back as the bytes it read, so a busy window's take
 *   reads and writes ten values, not forty-six. With in-flight tracking, `last` (unused otherwise)
 *   holds the units each process took and has not seen answered, as a nested array of
 *   `owner, units, expiresAt` triples: they float, counted as taken now, until the answer dates them
 *   (a triple lapses after one lease);
 * - a token bucket keeps its tokens in `units` as of `last`; with in-flight tracking it appends the
 *   units each process took and has not seen answered as `owner, units, expiresAt` triples, and
 *   refills only up to its capacity less their sum (a triple lapses after one lease: a process
 *   that died no longer holds the refill back);
 * - a concurrency bucket appends its leases as `owner, permits, expiresAt` triples; `units` is their
 *   sum. A lease whose expiry has passed is dropped on the next touch, which is how the permits of a
 *   process that died come back.
 *
 * Each write sets the key's expiry to the instant its state becomes indistinguishable from a fresh
 * bucket (the last run leaves the window, the bucket is full again, the last lease and any pause
 * end, a lowered limit is forgotten), so idle buckets cost nothing. With the caller's instant,
 * keys get no expiry: Redis expires keys by its own clock, which would drop a bucket that the
 * caller's (virtual) clock still counts; such a key goes only when a write finds it idle.
 *
 * Time is Redis's own (`TIME`) unless the caller passes an instant (the tests' virtual time):
 * instants the caller gives (a pause's end, a redate's origin) travel as durations relative to the
 * caller's `now`, and instants the script answers (when to retry) are translated back the same way,
 * so a process whose clock is hours off still shares one timeline with the others.
 *
 * @internal
 */

/** @internal */
export const Op = {
  take: "take",
  release: "release",
  pause: "pause",
  scale: "scale",
  charge: "charge",
  redate: "redate",
  renew: "renew",
  inspect: "inspect",
  answers: "answers"
} as const

/**
 * ARGV slots before the entries: the operation, the caller's instant (or `''` for Redis's clock),
 * the owner id, one operation parameter and the number R of answers carried along. Then come R
 * answer quintuples (kind, capacity, rate, cost, how many ms before now the answer came), whose
 * keys are the first R of KEYS, then the operation's quadruples (kind, capacity, rate, cost) for
 * the other keys. `rate` is the window's length in milliseconds, or a token bucket's refill per
 * millisecond.
 *
 * @internal
 */
export const HEADER = 5

/** ARGV slots per answer carried along (see {@link HEADER}). @internal */
export const ANSWER = 5

/**
 * The settings a script is written for. They are the same on every call of one store, so they are
 * part of the script's text rather than arguments: Redis then converts nothing for them on each call
 * (one script per distinct set of settings, usually one per deployment).
 *
 * @internal
 */
export interface ScriptSettings {
  readonly clock: "redis" | "caller"
  readonly leaseMillis: number
  readonly windowSlots: number
  readonly adaptiveMemoryMillis: number
  readonly tokenReserveMillis: number
  readonly permitPollMillis: number
  readonly unitsInFlight: boolean
}

/** A number as a Lua literal (`math.huge` for an unbounded duration). */
const literal = (n: number): string =>
  Number.isFinite(n) ? String(n) : n > 0 ? "math.huge" : "-math.huge"

/** @internal */
export const luaFor = (settings: ScriptSettings): string =>
  `
local op = ARGV[1]
local now
if ARGV[2] == '' then
  if redis.replicate_commands then pcall(redis.replicate_commands) end
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
else
  now = tonumber(ARGV[2])
end
-- the caller's clock (virtual time in tests) is not the one Redis expires keys by
local callerClock = ${settings.clock === "caller"}
local owner = ARGV[3]
local p1 = tonumber(ARGV[4])
local lease = ${literal(settings.leaseMillis)}
local slots = ${literal(settings.windowSlots)}
local memory = ${literal(settings.adaptiveMemoryMillis)}
local reserveMillis = ${literal(settings.tokenReserveMillis)}
local poll = ${literal(settings.permitPollMillis)}
local inflight = ${settings.unitsInFlight}
local EPS = 1e-9
-- answers carried along, then where the operation's entries start
local R = tonumber(ARGV[5])
local E = ${HEADER} + R * ${ANSWER}

local function num(x) return string.format('%.17g', x) end

local function entry(i)
  local b = E + (i - 1) * 4
  return tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4])
end

-- s = { kind, units, last, pausedUntil, factor, adaptedAt, extra... }; capacity and rate come from
-- the entry (the catalogue's values), so they are not stored. A window's extra is
-- { runs, firstAt, lastAt, lastUnits }: how many runs it has, the date of its oldest run (when it has
-- two or more), and its last run; the older runs (all but the last) are its tail, kept encoded (packed
-- \`at, units\` pairs, oldest first) and decoded only when one leaves the window or the caller waits.
-- States this call has read or changed, by key (false: deleted); the changed ones are written once,
-- when the call ends (commit), however many times the call touched them.
local cache = {}
local ttls = {}
local dirty = {}
-- each window state's tail, by state
local tails = {}
-- every key's stored value, read at once (false: none)
local raws = {}
if #KEYS > 0 then
  local got = redis.call('MGET', unpack(KEYS))
  for i = 1, #KEYS do raws[KEYS[i]] = got[i] end
end

local function load(key, create, kind, cap)
  local cached = cache[key]
  if cached then return cached end
  if cached == nil then
    local raw = raws[key]
    if raw then
      local off
      off, cached = cmsgpack.unpack_one(raw)
      if cached[1] == 0 then
        if #cached ~= 10 or cached[7] > slots + 2 then
          -- a window an older version wrote, with every run in the array (its 7th value a run's
          -- date, not a count): its runs move to the tail
          local runs = {}
          for j = 7, #cached do runs[j - 6] = cached[j] end
          for j = #cached, 7, -1 do cached[j] = nil end
          local count = #runs / 2
          cached[7], cached[8], cached[9], cached[10] = count, runs[1] or 0, runs[#runs - 1] or 0, runs[#runs] or 0
          tails[cached] = count > 1 and cmsgpack.pack(unpack(runs, 1, #runs - 2)) or ''
        else
          tails[cached] = off > 0 and string.sub(raw, off + 1) or ''
        end
      end
      cache[key] = cached
      return cached
    end
  end
  if not create then return nil end
  if kind == 1 then return { 1, cap, now, 0, 1, 0 } end
  if kind == 0 then
    local s = { 0, 0, 0, 0, 1, 0, 0, 0, 0, 0 }
    tails[s] = ''
    return s
  end
  return { kind, 0, 0, 0, 1, 0 }
end

-- a window's runs, oldest first, as a flat array of at, units
local function runsOf(s)
  local r = {}
  if s[7] > 1 then r = { cmsgpack.unpack(tails[s]) } end
  if s[7] > 0 then
    r[#r + 1] = s[9]
    r[#r + 1] = s[10]
  end
  return r
end

local function effective(s, cap)
  if s[1] == 2 then return math.max(1, math.floor(cap * s[5])) end
  return cap * s[5]
end

local function width(cap, rate)
  if cap <= slots then return 1 end
  return rate / slots
end

-- Leases are triples { owner, units, expiresAt } stored from index \`from\` of an array: from 7 in a
-- concurrency or token bucket's state, from 1 in a window's nested array of units in flight (s[3]).

-- adds cost units to this process's lease, and renews it
local function leaseAdd(t, from, cost)
  for j = from, #t, 3 do
    if t[j] == owner then
      t[j + 1] = t[j + 1] + cost
      t[j + 2] = now + lease
      return
    end
  end
  local n = #t
  t[n + 1] = owner
  t[n + 2] = cost
  t[n + 3] = now + lease
end

-- takes cost units off this process's lease (never below 0)
local function leaseDrop(t, from, cost)
  for j = from, #t, 3 do
    if t[j] == owner then t[j + 1] = math.max(0, t[j + 1] - cost) end
  end
end

-- the earliest expiry before \`at\`, else \`at\`
local function firstLapse(t, from, at)
  for j = from, #t, 3 do
    if t[j + 2] < at then at = t[j + 2] end
  end
  return at
end

-- the latest expiry after \`until_\`, else \`until_\`
local function lastExpiry(t, from, until_)
  for j = from, #t, 3 do
    if t[j + 2] > until_ then until_ = t[j + 2] end
  end
  return until_
end

-- a window's units in flight: { owner, units, expiresAt, ... } in s[3], or 0
local function floating(s)
  local f = 0
  if type(s[3]) == 'table' then
    for j = 1, #s[3], 3 do f = f + s[3][j + 1] end
  end
  return f
end

-- drops, in place, the leases of t (from index \`from\`) that have lapsed or hold nothing; the
-- units of those left
local function prune(t, from)
  local n = #t
  local to = from
  local units = 0
  for j = from, n, 3 do
    if t[j + 2] > now and t[j + 1] > 0 then
      if to ~= j then
        t[to] = t[j]
        t[to + 1] = t[j + 1]
        t[to + 2] = t[j + 2]
      end
      units = units + t[j + 1]
      to = to + 3
    end
  end
  for j = n, to, -1 do t[j] = nil end
  return units
end

local function advance(s, cap, rate)
  local kind = s[1]
  if kind == 0 then
    if type(s[3]) == 'table' then
      prune(s[3], 1)
      if #s[3] == 0 then s[3] = 0 end
    end
    local runs = s[7]
    if runs > 1 and s[8] + rate <= now then
      -- the runs that left the window go: only they (and the next one's date) are decoded
      local tail, off = tails[s], 0
      repeat
        local next, _, units = cmsgpack.unpack_limit(tail, 2, off)
        off = next
        s[2] = s[2] - units
        runs = runs - 1
        if runs > 1 then
          local _, at = cmsgpack.unpack_one(tail, off)
          s[8] = at
        end
      until runs == 1 or s[8] + rate > now
      s[7] = runs
      if runs == 1 then tails[s] = '' else tails[s] = string.sub(tail, off + 1) end
    end
    if runs == 1 and s[9] + rate <= now then
      s[7], s[8], s[9], s[10] = 0, 0, 0, 0
      runs = 0
    end
    if runs == 0 then s[2] = 0 end
  elseif kind == 1 then
    local c = effective(s, cap)
    -- units in flight (leases of live processes) hold the refill back
    if #s > 6 then c = c - prune(s, 7) end
    if now > s[3] then
      local nx = s[2] + (now - s[3]) * rate * s[5]
      if nx > c then nx = c end
      s[2] = nx
      s[3] = now
    elseif s[2] > c then
      s[2] = c
    end
  else
    s[2] = prune(s, 7)
  end
  return s
end

local function needed(s, cap, rate, cost)
  local c = effective(s, cap)
  local need = cost + rate * reserveMillis * s[5]
  if need < c then return need end
  return c
end

local function fits(s, cap, rate, cost)
  if s[1] == 1 then return s[2] + EPS >= needed(s, cap, rate, cost) end
  -- a window's units in flight are counted as taken now
  local used = s[2]
  if s[1] == 0 then used = used + floating(s) end
  return used + cost <= effective(s, cap) + EPS or used <= EPS
end

local function readyAt(s, cap, rate, cost)
  local kind = s[1]
  if kind == 0 then
    local c = effective(s, cap)
    local f = floating(s)
    local remaining = s[2]
    local r = runsOf(s)
    for j = 1, #r, 2 do
      remaining = remaining - r[j + 1]
      local used = remaining + f
      if used + cost <= c + EPS or used <= EPS then return r[j] + rate end
    end
    if f <= EPS then return now end
    -- only an answer makes room: another process's cannot be seen, so poll (or wait for a lapse)
    return firstLapse(s[3], 1, now + poll)
  elseif kind == 1 then
    return now + (needed(s, cap, rate, cost) - s[2]) / (rate * s[5])
  end
  -- another process's release cannot be seen: poll, or wait for the first lease to lapse
  return firstLapse(s, 7, now + poll)
end


local function apply(s, cap, rate, cost, taking)
  local kind = s[1]
  if kind == 0 and taking and inflight then
    -- it floats until its answer dates it
    if type(s[3]) ~= 'table' then s[3] = {} end
    leaseAdd(s[3], 1, cost)
  elseif kind == 0 then
    local w = width(cap, rate)
    local runs = s[7]
    if runs > 0 and (math.floor(s[9] / w) == math.floor(now / w) or runs >= slots + 2) then
      s[10] = s[10] + cost
      if now > s[9] then s[9] = now end
    else
      -- a new run: the last one joins the tail, encoded as it is
      if runs > 0 then
        if runs == 1 then s[8] = s[9] end
        tails[s] = tails[s] .. cmsgpack.pack(s[9], s[10])
      end
      s[7] = runs + 1
      s[9] = now
      s[10] = cost
    end
    s[2] = s[2] + cost
  elseif kind == 1 then
    s[2] = s[2] - cost
    if taking and inflight then leaseAdd(s, 7, cost) end
  else
    leaseAdd(s, 7, cost)
    s[2] = s[2] + cost
  end
end

-- Stores the state until it would be indistinguishable from a fresh bucket, or deletes it.
local function save(key, s, cap, rate)
  local until_ = s[4]
  if s[5] < 1 and s[6] + memory > until_ then until_ = s[6] + memory end
  local kind = s[1]
  if kind == 0 then
    if s[7] > 0 and s[9] + rate > until_ then until_ = s[9] + rate end
    if type(s[3]) == 'table' then until_ = lastExpiry(s[3], 1, until_) end
  elseif kind == 1 then
    local c = effective(s, cap)
    -- full again once the last lease is over and the refill has caught up
    local from = lastExpiry(s, 7, s[3])
    if s[2] + EPS < c or from > s[3] then
      local full = from + math.max(0, c - s[2]) / (rate * s[5])
      if full > until_ then until_ = full end
    end
  else
    until_ = lastExpiry(s, 7, until_)
  end
  local ttl = math.ceil(until_ - now) + 1
  if ttls[key] == nil then dirty[#dirty + 1] = key end
  ttls[key] = ttl
  if ttl <= 1 then cache[key] = false else cache[key] = s end
end

-- Writes every state this call changed, once each.
local function commit()
  for _, key in ipairs(dirty) do
    local s = cache[key]
    if not s then
      redis.call('DEL', key)
    else
      local v = cmsgpack.pack(s)
      if s[1] == 0 and s[7] > 1 then v = v .. tails[s] end
      if callerClock then
        -- an expiry would run on Redis's clock and could drop a bucket the caller's clock still counts
        redis.call('SET', key, v)
      else
        redis.call('SET', key, v, 'PX', ttls[key])
      end
    end
  end
end

-- Answers this process saw (with unitsInFlight) since its last call: each ends a flight, as of the
-- answer's instant (never before the bucket's last run, so that runs stay in order). Sent with the
-- next call rather than on their own; until then the units still count as in flight, which only
-- holds others back.
local realNow = now
for i = 1, R do
  local b = ${HEADER} + (i - 1) * ${ANSWER}
  local key = KEYS[i]
  local kind, cap, rate, cost = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4])
  local at = realNow - tonumber(ARGV[b + 5])
  if kind == 1 then
    -- refill up to the answer under the old cap, then the units are no longer in flight
    local s = load(key, false)
    if s and s[1] == 1 and #s > 6 then
      now = at
      s = advance(s, cap, rate)
      leaseDrop(s, 7, cost)
      now = realNow
      save(key, advance(s, cap, rate), cap, rate)
    end
  elseif kind == 0 and cost > 0 then
    -- the floating units are dated at the answer (all of them, even if their lease lapsed
    -- meanwhile: Graph counted them no later than that)
    local s = load(key, true, kind, cap)
    if s[7] > 0 and s[9] > at then at = s[9] end
    now = at
    s = advance(s, cap, rate)
    if type(s[3]) == 'table' then leaseDrop(s[3], 1, cost) end
    apply(s, cap, rate, cost, false)
    now = realNow
    save(key, advance(s, cap, rate), cap, rate)
  end
end

local n = #KEYS - R

if op == 'take' then
  local states = {}
  -- each entry's arguments, converted once
  local cs, rs, ns = {}, {}, {}
  local blocked = {}
  local retry = nil
  local unknown = false
  for i = 1, n do
    local kind, cap, rate, cost = entry(i)
    cs[i], rs[i], ns[i] = cap, rate, cost
    local s = advance(load(KEYS[R + i], true, kind, cap), cap, rate)
    states[i] = s
    local short = false
    local at = nil
    if s[4] > now then
      short = true
      at = s[4]
      if not fits(s, cap, rate, cost) then
        local ready = readyAt(s, cap, rate, cost)
        if ready > at then at = ready end
      end
    elseif not fits(s, cap, rate, cost) then
      short = true
      at = readyAt(s, cap, rate, cost)
    end
    if short then
      blocked[#blocked + 1] = i
      if retry == nil or at > retry then retry = at end
    end
  end
  if #blocked > 0 then
    commit()
    return { 0, num(retry), num(now), blocked }
  end
  for i = 1, n do
    apply(states[i], cs[i], rs[i], ns[i], true)
    save(KEYS[R + i], states[i], cs[i], rs[i])
  end
  commit()
  -- taken: the caller needs nothing more
  return 1
end

if op == 'release' or op == 'renew' then
  local lost = 0
  for i = 1, n do
    local kind, cap, rate, cost = entry(i)
    local s = load(KEYS[R + i], false)
    local found = false
    if s and s[1] == 2 then
      s = advance(s, cap, rate)
      for j = 7, #s, 3 do
        if s[j] == owner then
          found = true
          if op == 'release' then
            s[j + 1] = s[j + 1] - cost
            s[2] = s[2] - cost
          else
            s[j + 2] = now + lease
          end
        end
      end
      save(KEYS[R + i], advance(s, cap, rate), cap, rate)
    end
    if not found then lost = lost + 1 end
  end
  commit()
  return lost
end

if op == 'inspect' then
  local kind, cap, rate, cost = entry(1)
  local s = load(KEYS[R + 1], false)
  commit()
  if not s then return { num(1), '0', num(now) } end
  s = advance(s, cap, rate)
  return { num(s[5]), num(s[2]), num(now) }
end

for i = 1, n do
  local kind, cap, rate, cost = entry(i)
  if op == 'pause' then
    local s = load(KEYS[R + i], true, kind, cap)
    if now + p1 > s[4] then s[4] = now + p1 end
    save(KEYS[R + i], s, cap, rate)
  elseif op == 'scale' then
    -- the client decided the factor; a bucket without state set to 1 stays without state
    local f = math.min(1, p1)
    local s = load(KEYS[R + i], f < 1, kind, cap)
    if s and f > 0 then
      s = advance(s, cap, rate)
      s[5] = f
      s[6] = now
      s = advance(s, cap, rate)
      save(KEYS[R + i], s, cap, rate)
    end
  elseif op == 'charge' then
    if kind ~= 2 then
      local s = advance(load(KEYS[R + i], true, kind, cap), cap, rate)
      apply(s, cap, rate, cost, false)
      save(KEYS[R + i], s, cap, rate)
    end
  elseif op == 'redate' and kind == 1 then
    -- answered: this process's units are no longer in flight (refill up to now under the old cap first)
    local s = load(KEYS[R + i], false)
    if s and s[1] == 1 and #s > 6 then
      s = advance(s, cap, rate)
      leaseDrop(s, 7, cost)
      save(KEYS[R + i], advance(s, cap, rate), cap, rate)
    end
  elseif op == 'redate' and kind == 0 and inflight then
    -- answered: this process's floating units are dated now (all of them, even if their lease
    -- lapsed meanwhile: Graph counted them no later than now)
    if cost > 0 then
      local s = advance(load(KEYS[R + i], true, kind, cap), cap, rate)
      if type(s[3]) == 'table' then leaseDrop(s[3], 1, cost) end
      s = advance(s, cap, rate)
      apply(s, cap, rate, cost, false)
      save(KEYS[R + i], s, cap, rate)
    end
  elseif op == 'redate' then
    if kind == 0 and cost > 0 and p1 > 0 then
      local s = advance(load(KEYS[R + i], true, kind, cap), cap, rate)
      local w = width(cap, rate)
      local slot = math.floor((now - p1) / w)
      local r = runsOf(s)
      for j = 1, #r, 2 do
        if math.floor(r[j] / w) == slot then
          local moved = math.min(r[j + 1], cost)
          s[2] = s[2] - moved
          if j == #r - 1 then
            s[10] = s[10] - moved
          else
            r[j + 1] = r[j + 1] - moved
            tails[s] = cmsgpack.pack(unpack(r, 1, #r - 2))
          end
          break
        end
      end
      apply(s, cap, rate, cost, false)
      save(KEYS[R + i], s, cap, rate)
    end
  end
end
commit()
return 0
`
