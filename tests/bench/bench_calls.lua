-- tests/bench/bench_calls.lua - the Lua side of the binding call-overhead
-- benchmark (tests/bench/bench_bindings.sh runs it beside bench_calls.c and
-- bench_calls.py and prints the combined table).
--
--   LUA_CPATH="$BUILD/lua/?.so" LD_LIBRARY_PATH=$OUT \
--     lua5.4 tests/bench/bench_calls.lua [--items N] [--users N] [--events N]
--       [--recs N] [--cheap N] [--rounds N]
--
-- The same data, the same rounds and the same timed loops as bench_calls.c
-- (see its header): a 32-bit xorshift generator (seed 2463534242) draws the
-- catalogue and the events; the data checksum and the result checksum must
-- equal the C program's. Each round opens a fresh engine (pz.open(), the
-- default configuration), puts the catalogue untimed, then times track,
-- recommend (k=10, options {now = the data's end}, one table reused; the
-- binding copies every field into tables), item_count and event_count;
-- then, on a second fresh engine, track_many of the same events (the
-- table of {user, item, type, 1.0, ts} built from the same arrays inside
-- the timed part, then one call; its rate is in events per second).
-- Every call's result is checked (nil, message on failure). The methods are
-- looked up once before each loop, as a careful caller would.
-- Rates are calls per second of process CPU time (os.clock: stock Lua 5.4
-- has no finer wall clock) and, as a cross-check, of wall time read from
-- an engine's system clock (e:now(), whole milliseconds). Prints
-- "key value" lines for the driver; peak RSS is VmHWM of
-- /proc/self/status, the counter getrusage's ru_maxrss reports (KiB).

local pz = require "personalize"

local FEATURES, VALUES, K = 8, 50, 10
local SEED = 2463534242
local T0 = 1767225600000 -- 2026-01-01T00:00:00Z, in ms
local MASK = 0xFFFFFFFF
local FNV_INIT, FNV_PRIME = 2166136261, 16777619
local EVENT_TYPES = { "view", "click", "purchase" }
local REASON_CODES = { POPULAR = 1, CONTENT = 2, FALLBACK = 3, SEGMENT = 4,
                       CF = 5, PINNED = 6, EDITORIAL = 7, PROMOTED = 8 }

-- xorshift32, as next_u32() in bench_calls.c (integers are 64-bit here)
local rng = SEED
local function next_u32()
  local x = rng
  x = x ~ ((x << 13) & MASK)
  x = x ~ (x >> 17)
  x = x ~ ((x << 5) & MASK)
  rng = x
  return x
end

local function fnv_str(h, s)
  for i = 1, #s do
    h = ((h ~ s:byte(i)) * FNV_PRIME) & MASK
  end
  return (h * FNV_PRIME) & MASK -- the terminating NUL
end

local function fnv_u32(h, v)
  return ((h ~ (v & MASK)) * FNV_PRIME) & MASK
end

local function generate(items, users, events, recs)
  local h = FNV_INIT
  local item_ids, feats = {}, {}
  for i = 0, items - 1 do
    local iid = string.format("i%d", i)
    item_ids[i + 1] = iid
    h = fnv_str(h, iid)
    local fs = {}
    for j = 0, FEATURES - 1 do
      local f = string.format("f%d=v%d", j, next_u32() % VALUES)
      fs[j + 1] = f
      h = fnv_str(h, f)
    end
    feats[i + 1] = fs
  end
  local user_ids = {}
  for u = 0, users - 1 do
    local uid = string.format("u%d", u)
    user_ids[u + 1] = uid
    h = fnv_str(h, uid)
  end
  local ev_user, ev_item, ev_type, ev_ts = {}, {}, {}, {}
  for e = 0, events - 1 do
    local u = next_u32() % users
    local it = next_u32() % items
    local r = next_u32() % 100
    local t = r < 70 and 0 or r < 95 and 1 or 2
    ev_user[e + 1] = user_ids[u + 1]
    ev_item[e + 1] = item_ids[it + 1]
    ev_type[e + 1] = EVENT_TYPES[t + 1]
    ev_ts[e + 1] = T0 + 1000 * e
    h = fnv_u32(fnv_u32(fnv_u32(h, u), it), t)
  end
  local rec_user = {}
  for c = 1, recs do
    local u = next_u32() % users
    rec_user[c] = user_ids[u + 1]
    h = fnv_u32(h, u)
  end
  return { item_ids = item_ids, feats = feats, user_ids = user_ids,
           ev_user = ev_user, ev_item = ev_item, ev_type = ev_type,
           ev_ts = ev_ts, rec_user = rec_user, checksum = h }
end

local function fold_recs(h, list)
  for _, r in ipairs(list) do
    h = fnv_str(h, r.item)
    -- truncation toward zero, as the C cast (scores here are >= 0)
    local s = r.score * 1e6
    h = fnv_u32(h, s >= 0 and math.floor(s) or math.ceil(s))
    h = fnv_u32(h, assert(REASON_CODES[r.reasons.code], r.reasons.code))
  end
  return h
end

local clock_engine = assert(pz.open()) -- its system clock: e:now() in ms
local function wall_ms() return clock_engine:now() end

local function run_round(d, events, recs, cheap, verify)
  local cpu, wall = {}, {}
  local t_end = T0 + 1000 * events
  local e = assert(pz.open())
  for i = 1, #d.item_ids do assert(e:put_item(d.item_ids[i], d.feats[i])) end

  local track = e.track
  local ev_user, ev_item, ev_type, ev_ts = d.ev_user, d.ev_item, d.ev_type, d.ev_ts
  local c0, w0 = os.clock(), wall_ms()
  for i = 1, events do
    local ok, msg = track(e, ev_user[i], ev_item[i], ev_type[i], 1.0, ev_ts[i])
    if not ok then error(msg) end
  end
  cpu.track, wall.track = events / (os.clock() - c0), events / ((wall_ms() - w0) / 1000)

  local recommend = e.recommend
  local rec_user = d.rec_user
  local ropts = { now = t_end }
  c0, w0 = os.clock(), wall_ms()
  for c = 1, recs do
    local list, msg = recommend(e, rec_user[c], K, ropts)
    if not list then error(msg) end
  end
  cpu.recommend, wall.recommend = recs / (os.clock() - c0), recs / ((wall_ms() - w0) / 1000)

  local item_count = e.item_count
  local acc = 0
  c0, w0 = os.clock(), wall_ms()
  for _ = 1, cheap do
    local n, msg = item_count(e)
    if not n then error(msg) end
    acc = acc + n
  end
  cpu.item_count, wall.item_count = cheap / (os.clock() - c0), cheap / ((wall_ms() - w0) / 1000)

  local event_count = e.event_count
  local passes = cheap // recs
  c0, w0 = os.clock(), wall_ms()
  for _ = 1, passes do
    for c = 1, recs do
      local n, msg = event_count(e, rec_user[c])
      if not n then error(msg) end
      acc = acc + n
    end
  end
  local n = passes * recs
  cpu.event_count, wall.event_count = n / (os.clock() - c0), n / ((wall_ms() - w0) / 1000)

  local result
  local function track_many_round() -- the same events on a fresh engine
    local e2 = assert(pz.open())
    for i = 1, #d.item_ids do assert(e2:put_item(d.item_ids[i], d.feats[i])) end
    local track_many = e2.track_many
    local c1, w1 = os.clock(), wall_ms()
    local batch = {}
    for i = 1, events do batch[i] = { ev_user[i], ev_item[i], ev_type[i], 1.0, ev_ts[i] } end
    local n2, msg2 = track_many(e2, batch)
    if not n2 then error(msg2) end
    cpu.track_many, wall.track_many = events / (os.clock() - c1), events / ((wall_ms() - w1) / 1000)
    e2:close()
  end
  if verify then -- untimed
    local h = FNV_INIT
    for c = 1, recs do h = fold_recs(h, assert(e:recommend(rec_user[c], K, ropts))) end
    for u = 1, #d.user_ids do h = fnv_u32(h, assert(e:event_count(d.user_ids[u]))) end
    result = fnv_u32(h, assert(e:item_count()))
  end
  e:close()
  track_many_round()
  return cpu, wall, result
end

local function peak_rss_kib()
  local f = assert(io.open("/proc/self/status"))
  local s = f:read("a")
  f:close()
  return tonumber(s:match("VmHWM:%s*(%d+)")) or 0
end

local sizes = { items = 5000, users = 2000, events = 200000, recs = 2000,
                cheap = 1000000, rounds = 5 }
local i = 1
while i <= #arg do
  local key = arg[i]:match("^%-%-(%a+)$")
  local v = tonumber(arg[i + 1] or "")
  if not key or sizes[key] == nil or not v or v ~= math.floor(v) then
    io.stderr:write("usage: bench_calls.lua [--items N] [--users N] [--events N] " ..
                    "[--recs N] [--cheap N] [--rounds N]\n")
    os.exit(2)
  end
  sizes[key] = math.tointeger(v)
  i = i + 2
end
local items, users, events = sizes.items, sizes.users, sizes.events
local recs, rounds = sizes.recs, sizes.rounds
local cheap = math.max(sizes.cheap, recs)
cheap = cheap - cheap % recs

local d = generate(items, users, events, recs)
local ops = { "track", "recommend", "item_count", "event_count", "track_many" }
local rates, result = {}, nil
for r = 1, rounds do
  io.stderr:write(string.format("bench_calls.lua: round %d/%d...\n", r, rounds))
  local cpu, wall, res = run_round(d, events, recs, cheap, r == rounds)
  rates[r] = { cpu, wall }
  if res then result = res end
end
local rss = peak_rss_kib()

local out = { "lang lua",
              string.format("data_checksum %08x", d.checksum),
              string.format("result_checksum %08x", result),
              string.format("sizes items=%d features=%d users=%d events=%d recs=%d cheap=%d",
                            items, FEATURES, users, events, recs, cheap) }
for _, op in ipairs(ops) do
  for r = 1, rounds do
    out[#out + 1] = string.format("rate %s %.6g %.6g", op, rates[r][1][op], rates[r][2][op])
  end
end
out[#out + 1] = string.format("maxrss_kib %d", rss)
out[#out + 1] = "version lua " .. _VERSION
print(table.concat(out, "\n"))
clock_engine:close()
