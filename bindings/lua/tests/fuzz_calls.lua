-- fuzz_calls.lua - a randomized call fuzzer for the Lua binding.
--
-- Picks a random function of the module or method of an engine (open,
-- closed, fresh, populated; called with `:` or with `.` and a random self)
-- and calls it, under pcall, with arguments drawn from a pool of hostile
-- values: nil, NaN, infinities, extreme integers, strings with NUL bytes,
-- invalid UTF-8, 100 KB strings, empty/nested/cyclic tables, tables whose
-- metamethods raise, options tables with known keys and absurd values,
-- functions, coroutines, other engines, a file handle. Some calls run with
-- a finalizer armed that, from inside the call's own allocations, closes
-- an engine or calls into one (re-entrancy, and closing the very engine
-- the call is using).
--
-- A call may return anything or raise. What must hold:
--   - the interpreter does not crash, ASan/UBSan stay silent (check.sh);
--   - a nil first result comes with a string message and a code that
--     personalize.status knows (nil, message, code);
--   - a raised error is a string;
--   - a method called on a closed engine (or on something that is not
--     an engine) raises; close() and __tostring excepted.
--
-- Run by tests/run.lua as part of check.sh (a short run), or on its own:
--   lua5.4 fuzz_calls.lua [seed [iterations]]
-- PZ_FUZZ_SEED and PZ_FUZZ_ITERS override both. Works on 5.1, LuaJIT, 5.4.
local T = ...
local standalone = type(T) ~= "table"
local pz = standalone and require "personalize" or T.pz
local unpack = table.unpack or unpack

local DEFAULT_SEED, DEFAULT_ITERS = 20251202, 3000

local function numarg(env, pos, def)
  local v = tonumber(os.getenv(env) or "")
  if v then return v end
  if standalone and arg and arg[pos] then return tonumber(arg[pos]) or def end
  return def
end

-- Park-Miller: exact in doubles, the same sequence on every Lua.
local function make_rng(seed)
  local x = seed % 2147483646 + 1
  local r = {}
  function r.int(n) -- 1..n
    x = (x * 16807) % 2147483647
    return x % n + 1
  end
  function r.chance(p) return r.int(1000000) <= p * 1000000 end
  function r.pick(t) return t[r.int(#t)] end
  return r
end

local NOW = 1767258000000
local maxint = math.maxinteger or 2^53
local minint = math.mininteger or -2^53

local CONFIG_YAML = {
  "", "ranking: {max_k: 50}\n", "decay: {bad: 1}\n", "{{{{", "\255\254",
  "segments:\n  - {name: adults, rule: {attr: age, gte: 18}}\n" ..
    "experiments:\n  - {name: layout, seed: 7, variants: [{name: a}, {name: b}]}\n",
}
local RULES_YAML = {
  "rules:\n  - {name: vegan_push, kind: boost, match: {features: diet=vegan}, factor: 1.5}\n",
  "rules: [{kind: nope}]\n", "rules: []\n",
}
local SEGMENTS_YAML = {
  "segments:\n  - {name: kids, rule: {attr: age, lt: 18}}\n",
  "segments:\n  - {name: viewers, rule: {count: view, gte: 1}}\n" ..
    "experiments:\n  - {name: layout, seed: 7, variants: [{name: a}, {name: b}]}\n" ..
    "  - {name: nobody, seed: 7, coverage: 0, variants: [{name: a}]}\n",
  "segments: [{name: x, rule: {bogus: 1}}]\n",
}
local IDS = { "u1", "u2", "ann", "i1", "i2", "ramen", "layout", "kids",
              "viewers", "age", "genre=jazz", "diet=vegan", "ctx:a=b",
              "view", "click", "block_item", "block_feature", "require",
              "pin", "adjust", "analytics", "nobody", "vegan_push" }

local NUMBERS = { 0, -1, 1, 2, 3, 5, 1000, 1e308, -1e308, 1 / 0, -1 / 0,
                  0 / 0, maxint, minint, 2^53, 2^63, -2^63, 2^31, -2^31,
                  2.5, -0.0, 1e-300, NOW, NOW - 1000, 0.5, 1.5, 10 }

-- A table whose metamethods all raise: the binding must never call them.
local function raising_table(contents)
  local function boom() error("metamethod called", 0) end
  return setmetatable(contents or {}, {
    __index = boom, __newindex = boom, __len = boom, __tostring = boom,
    __pairs = boom, __call = boom, __eq = boom, __lt = boom, __le = boom,
    __concat = boom, __name = "hostile",
  })
end

local OPTION_KEYS = {
  recommend = { "include_seen", "now", "offset", "exclude", "restrict_to",
                "context", "context_weights", "diversity", "terse" },
  train = { "algorithm", "weighting", "neighbours", "factors", "iterations",
            "cg_steps", "threads", "seed", "regularization", "alpha",
            "bm25_k1", "bm25_b", "als_share" },
  clusters = { "k", "seed", "max_iterations", "batch_size" },
  open = { "clock", "config" },
}
-- What each function expects, so that most calls get past the argument
-- checks and reach the library: s id, k count, i integer ms, n number,
-- b boolean, a any attribute value, y YAML, f features, w weights,
-- c clear kind, p path, v events (track_many), o:<kind> options. Each argument is the expected
-- kind most of the time and a hostile value otherwise.
local SIGNATURES = {
  track = "s s s n i", track_many = "v", set_attribute = "s s a", set_timestamp = "s s i",
  get_attribute = "s s", remove_attribute = "s s", set_consent = "s s b",
  consent = "s s", merge = "s s", erase = "s", export = "s",
  interests = "s k i", event_count = "s", profile_count = "",
  recommend = "s k o:recommend", similar_items = "s k",
  block = "s s i", block_feature = "s s i", require = "s s i",
  more = "s s i", less = "s s i", pin = "s s i i", adjust = "s s n i",
  not_interested = "s s i", opt_out = "s b", opted_out = "s",
  clear = "s c s", clear_all = "s", choices = "s i", load_rules = "y",
  rules = "", segments_of = "s", in_segment = "s s", segment_members = "s",
  segment_counts = "", load_segments = "y", refresh_segments = "",
  assign = "s s", put_item = "s f w", remove_item = "s", item_count = "",
  popularity = "s i", train = "o:train", train_clusters = "o:clusters",
  cluster_of = "s", close = "", set_clock = "i", now = "", save = "p",
  sync = "", open = "p o:open", open_string = "y o:open", load = "p o:open",
}

local OPTION_STRINGS = { "knn", "als", "both", "off", "none", "tfidf", "bm25",
                         "magic" }

return (function()
  local seed = numarg("PZ_FUZZ_SEED", 1, DEFAULT_SEED)
  local iters = numarg("PZ_FUZZ_ITERS", 2, DEFAULT_ITERS)
  local rng = make_rng(seed)
  local engines = {}       -- the pool: open, closed, populated, fresh
  local tmpfile = io.tmpfile()
  local tmpdir_path = os.tmpname() -- save() writes only here
  local stats = { calls = 0, raised = 0, failed = 0, ok = 0, finalizers = 0 }
  if os.getenv("PZ_FUZZ_WHY") then stats.why = {} end
  local violations = {}

  local function violation(what)
    if #violations < 20 then violations[#violations + 1] = what end
  end

  local function populate(e)
    pcall(e.put_item, e, "i1", { "genre=jazz", "diet=vegan" })
    pcall(e.put_item, e, "i2", { "genre=rock" }, { 2 })
    pcall(e.put_item, e, "ramen", { "cuisine=japanese", "diet=vegan" })
    pcall(e.track, e, "u1", "i1", "view")
    pcall(e.track, e, "u2", "i2", "click")
    pcall(e.track, e, "ann", "ramen", "view")
    pcall(e.set_attribute, e, "u1", "age", 12)
  end

  local function new_engine()
    local e = pz.open_string(rng.pick(CONFIG_YAML), { clock = NOW })
    if e then
      if rng.chance(0.7) then populate(e) end
      engines[#engines + 1] = e
    end
    return e
  end
  for _ = 1, 3 do new_engine() end
  do local e = new_engine(); if e then e:close() end end

  local function is_open_engine(v)
    if type(v) ~= "userdata" or v == tmpfile then return false end
    return tostring(v) ~= "personalize.engine (closed)"
  end

  -- Mostly an open engine; a closed one now and then.
  local function any_engine()
    if #engines == 0 or rng.chance(0.05) then return new_engine() or pz end
    local e = rng.pick(engines)
    for _ = 1, 3 do
      if is_open_engine(e) or rng.chance(0.15) then break end
      e = rng.pick(engines)
    end
    if not is_open_engine(e) and rng.chance(0.5) then e = new_engine() or e end
    return e
  end

  -- A snapshot and a config file for load() and open().
  local snapshot_path, config_path = os.tmpname(), os.tmpname()
  do
    local e = assert(pz.open_string("", { clock = NOW }))
    populate(e)
    assert(e:save(snapshot_path))
    e:close()
    local f = assert(io.open(config_path, "w"))
    f:write(CONFIG_YAML[6])
    f:close()
  end

  local value -- forward

  local function string_value()
    local k = rng.int(14)
    if k == 1 then return "" end
    if k == 2 then return "\0" end
    if k == 3 then return "a\0b" end
    if k == 4 then return "\255\254" end
    if k == 5 then return string.rep("x", 100 * 1024) end
    if k == 6 then return string.rep("u", 255) end
    if k == 7 then return string.rep("u", 256) end
    if k == 8 then return string.rep("\226\130\172", 85) end -- 255 bytes of euro signs
    if k == 9 then return "\237\160\128" end -- a surrogate
    if k == 10 then return rng.pick(RULES_YAML) end
    if k == 11 then return rng.pick(SEGMENTS_YAML) end
    if k == 12 then return rng.pick(CONFIG_YAML) end
    return rng.pick(IDS)
  end

  local function options_table(depth, kind)
    local kinds = { "recommend", "train", "clusters", "open" }
    local keys = OPTION_KEYS[kind or rng.pick(kinds)]
    local t = {}
    for _ = 1, rng.int(4) do
      local key = rng.pick(keys)
      local r = rng.int(6)
      if rng.chance(0.5) then -- a plausible value for the key
        if key == "exclude" or key == "restrict_to" then t[key] = { rng.pick(IDS) }
        elseif key == "context" then t[key] = { "ctx:a=b" }
        elseif key == "context_weights" then t[key] = { rng.pick({ 1, 2, 0.5, 1000 }) }
        elseif key == "include_seen" or key == "terse" then t[key] = rng.chance(0.5)
        elseif key == "algorithm" then t[key] = rng.pick({ "knn", "als", "both", "off" })
        elseif key == "weighting" then t[key] = rng.pick({ "none", "tfidf", "bm25" })
        elseif key == "config" then
          if kind ~= "open" or rng.chance(0.2) then t[key] = rng.pick(CONFIG_YAML) end
        elseif key == "clock" or key == "now" then t[key] = NOW
        else t[key] = rng.pick({ 0, 1, 2, 3, 0.5 }) end
        r = 0
      end
      if r == 0 then -- done above
      elseif r == 1 then t[key] = rng.pick(NUMBERS)
      elseif r == 2 then t[key] = rng.pick(OPTION_STRINGS)
      elseif r == 3 then t[key] = rng.chance(0.5)
      elseif r == 4 then
        local arr = {}
        for i = 1, rng.int(4) - 1 do
          arr[i] = rng.chance(0.8) and rng.pick(IDS) or value(depth + 1)
        end
        t[key] = arr
      else t[key] = value(depth + 1) end
    end
    if rng.chance(0.1) then t[rng.pick({ "bogus", 1, true })] = 1 end
    return t
  end

  local function table_value(depth)
    local k = rng.int(12)
    if k == 1 then return {} end
    if k == 2 then return { {} , { { {} } } } end
    if k == 3 then local c = {}; c[1] = c; c.self = c; return c end
    if k == 4 then return raising_table() end
    if k == 5 then return raising_table({ "i1", "genre=jazz" }) end
    if k == 6 then return { "i1", "a\0b" } end
    if k == 7 then return { 1, 2, 3 } end
    if k == 8 then -- a sparse table with a large border
      local t = { "i1" }
      for p = 1, 22 do t[2^p] = "x" end
      return t
    end
    if k == 9 then
      local t = {}
      for i = 1, rng.int(300) do t[i] = "f" .. i .. "=" .. (i % 7) end
      return t
    end
    if k == 10 then return { "ctx:a=b", "genre=jazz" } end
    return options_table(depth)
  end

  function value(depth)
    depth = depth or 0
    local k = rng.int(depth > 2 and 4 or 10)
    if k == 1 then return nil end
    if k == 2 then return rng.pick(NUMBERS) end
    if k == 3 or k == 4 then return string_value() end
    if k == 5 then return table_value(depth) end
    if k == 6 then return rng.chance(0.5) end
    if k == 7 then
      local f = { print, function() error("called") end, coroutine.create(function() end),
                  tmpfile, pz, pz.status, (coroutine.running()) or print }
      return f[rng.int(#f)]
    end
    if k == 8 then return any_engine() end
    if k == 9 then return rng.pick(IDS) end
    return rng.pick(NUMBERS)
  end

  local function plausible(kind)
    if kind == "s" then return rng.pick(IDS) end
    if kind == "k" then return rng.pick({ 1, 2, 3, 10, 50, 1000, 1001 }) end
    if kind == "i" then return rng.pick({ 0, NOW, NOW - 60000, NOW + 3600000 }) end
    if kind == "n" then return rng.pick({ 1, 0.5, 2, 1.5, 3 }) end
    if kind == "b" then return rng.chance(0.5) end
    if kind == "a" then return rng.pick({ 12, 30, "x", true, 2.5 }) end
    if kind == "y" then
      return rng.pick(rng.chance(0.5) and RULES_YAML or SEGMENTS_YAML)
    end
    if kind == "f" then return { rng.pick(IDS), "genre=jazz" } end
    if kind == "w" then return rng.chance(0.5) and { 1, 2 } or nil end
    if kind == "v" then -- events, now and then a hostile one among them
      local t = {}
      for j = 1, rng.int(5) - 1 do
        if rng.chance(0.85) then
          t[j] = { plausible("s"), plausible("s"), rng.pick({ "view", "click", "bogus" }),
                   plausible("n"), plausible("i") }
        else
          t[j] = value()
        end
      end
      return t
    end
    if kind == "c" then
      return rng.pick({ "block_item", "block_feature", "require", "pin", "adjust" })
    end
    if kind == "p" then
      return rng.pick({ snapshot_path, config_path, false }) or nil
    end
    local okind = kind:match("^o:(.*)")
    if okind then return rng.chance(0.3) and {} or options_table(0, okind) end
    return value()
  end

  -- A finalizer that re-arms itself; while `armed` is set it acts from
  -- inside whatever allocation of the binding triggered the collector.
  local armed, victim, unarmed_runs = false, nil, 0
  local fin_mt = {}
  fin_mt.__gc = function()
    if not armed then unarmed_runs = unarmed_runs + 1 end
    if armed and victim then
      stats.finalizers = stats.finalizers + 1
      local a = rng.int(4)
      if a == 1 then pcall(victim.close, victim)
      elseif a == 2 then pcall(victim.track, victim, "u1", "i1", "view")
      elseif a == 3 then pcall(victim.track, victim, "", "", "") -- sets pz_errmsg
      else pcall(victim.recommend, victim, "u1", 2, { exclude = { "i2" } }) end
    end
    if armed ~= nil then setmetatable({}, fin_mt) end
  end
  for _ = 1, 30 do setmetatable({}, fin_mt) end
  -- Lua 5.4 runs at most 10 finalizers per collector step. Stepping a
  -- stopped collector until the first of 30 ran leaves it in the middle of
  -- calling them; restarted with no credit, its next step (and the next
  -- finalizers) comes with the first allocation of the call under test.
  -- Lua 5.1 and LuaJIT do not finalize tables, so they get no arming.
  local can_arm = _VERSION == "Lua 5.4"
  local function arm()
    collectgarbage("stop")
    local before = unarmed_runs
    for _ = 1, 100000 do
      collectgarbage("step", 0)
      if unarmed_runs > before then break end
    end
    collectgarbage("restart")
    armed = true
  end

  -- The targets: module functions and engine methods.
  local methods, method_table = {}, nil
  do
    local probe = pz.open_string("")
    method_table = getmetatable(probe).__index
    for name in pairs(method_table) do methods[#methods + 1] = name end
    probe:close()
    table.sort(methods)
  end
  local module_fns = { "open", "open_string", "load" }

  local function check_result(label, self_closed, is_method, name, ok, ...)
    local n = select("#", ...)
    local r1, r2, r3 = ...
    if not ok then
      stats.raised = stats.raised + 1
      if type(r1) ~= "string" then violation(label .. ": raised a " .. type(r1)) end
      if stats.why then
        local key = name .. ": " .. tostring(r1):gsub("^.-:%d+: ", ""):gsub("got .*", "")
        stats.why[key] = (stats.why[key] or 0) + 1
      end
      return
    end
    if is_method and self_closed and name ~= "close" then
      violation(label .. ": succeeded on a closed engine or a non-engine")
    end
    if n >= 1 and r1 == nil then
      stats.failed = stats.failed + 1
      if type(r2) ~= "string" or type(r3) ~= "string" or pz.status[r3] == nil then
        violation(label .. ": nil without message and code: " ..
                  tostring(r2) .. ", " .. tostring(r3))
      end
    else
      stats.ok = stats.ok + 1
      if name == "open" or name == "open_string" or name == "load" then
        if r1 ~= nil and #engines < 12 then engines[#engines + 1] = r1 end
        if r1 ~= nil and rng.chance(0.3) then r1:close() end
      end
    end
  end

  local function run_calls()
    for i = 1, iters do
      local is_method = rng.chance(0.85)
      local name, fn, self, args, nargs
      if is_method then
        name = rng.pick(methods)
        local e = any_engine()
        fn = method_table[name]
        if rng.chance(0.1) then self = value() else self = e end
      else
        name = rng.pick(module_fns)
        fn = pz[name]
      end
      args = {}
      if rng.chance(0.15) then -- anything at all
        nargs = rng.int(6) - 1
        for j = 1, nargs do args[j] = value() end
      else
        local kinds = {}
        for kind in SIGNATURES[name]:gmatch("%S+") do kinds[#kinds + 1] = kind end
        nargs = #kinds
        while nargs > 0 and rng.chance(0.2) do nargs = nargs - 1 end -- defaults
        for j = 1, nargs do
          if rng.chance(0.8) then args[j] = plausible(kinds[j])
          else args[j] = value() end
        end
      end
      if is_method then
        table.insert(args, 1, self)
        nargs = nargs + 1
        -- save writes a file named by its argument: only ever a temporary
        -- path, or something that is not a string
        if name == "save" and type(args[2]) == "string" then
          args[2] = rng.chance(0.5) and tmpdir_path or "a\0b"
        end
      end
      -- the closed state is read before the call: a finalizer may close
      -- the engine during it, and then the call must raise
      local self_closed = is_method and not is_open_engine(self)
      local label = string.format("#%d %s%s(%d args)", i,
                                  is_method and "e:" or "pz.", name, nargs)
      if can_arm and rng.chance(0.2) then
        victim = (rng.chance(0.5) and is_method and is_open_engine(self)) and self
                 or any_engine()
        if victim == pz then victim = nil end
        arm()
      end
      stats.calls = stats.calls + 1
      check_result(label, self_closed, is_method, name,
                   pcall(fn, unpack(args, 1, nargs)))
      armed, victim = false, nil

      -- the pool's life: close, drop, collect, replace
      local r = rng.int(100)
      if r <= 3 and #engines > 0 then
        local e = rng.pick(engines); pcall(e.close, e)
      elseif r <= 6 and #engines > 0 then
        table.remove(engines, rng.int(#engines))
      elseif r <= 8 then
        collectgarbage("collect")
      elseif r <= 12 then
        collectgarbage("step", 0)
      elseif #engines > 10 then
        table.remove(engines, 1)
      end
    end

  end -- run_calls

  local ran, run_err = xpcall(run_calls, debug.traceback)
  armed = nil -- stop re-arming
  collectgarbage("restart")
  local summary = string.format(
    "fuzz seed %d: %d calls, %d ok, %d nil+msg+code, %d raised, %d finalizer actions",
    seed, stats.calls, stats.ok, stats.failed, stats.raised, stats.finalizers)
  for _, e in ipairs(engines) do pcall(e.close, e) end
  engines = nil
  tmpfile:close()
  os.remove(tmpdir_path)
  os.remove(snapshot_path)
  os.remove(config_path)
  if not ran then error(run_err, 0) end
  collectgarbage("collect")
  collectgarbage("collect")

  if standalone then
    print(summary)
    if stats.why then
      local keys = {}
      for k in pairs(stats.why) do keys[#keys + 1] = k end
      table.sort(keys, function(a, b) return stats.why[a] > stats.why[b] end)
      for j = 1, math.min(25, #keys) do print(stats.why[keys[j]], keys[j]) end
    end
    for _, v in ipairs(violations) do print("violation: " .. v) end
    if #violations > 0 then os.exit(1) end
  else
    T.test("fuzz: random calls with hostile values (seed " .. seed .. ")", function()
      if #violations > 0 then error(table.concat(violations, "\n  "), 0) end
    end)
    print("# " .. summary)
  end
end)()
