-- run.lua - a tiny test runner: lua run.lua test_a.lua test_b.lua ...
-- Each test file receives the runner `T` as `...` and calls T.test(name, fn).
-- Prints "ok - name" or "not ok - name: why" per test, then a summary line.
-- Works on Lua 5.1, LuaJIT and 5.4 (test files needing 5.4 syntax say so).

local T = { passed = 0, failed = 0 }
local pz = require "personalize"
T.pz = pz

local function fmt(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

function T.test(name, fn)
  local ok, err = xpcall(fn, debug.traceback)
  if ok then
    T.passed = T.passed + 1
    print("ok - " .. name)
  else
    T.failed = T.failed + 1
    print("not ok - " .. name .. ": " .. tostring(err))
  end
end

function T.eq(got, want, what)
  if got ~= want then
    error((what or "value") .. ": got " .. fmt(got) .. ", want " .. fmt(want), 2)
  end
end

function T.ok(v, what)
  if not v then error((what or "condition") .. " does not hold", 2) end
  return v
end

-- An expected failure of the library: nil, message, code.
function T.fails(code, fn, ...)
  local r, msg, got = fn(...)
  if r ~= nil or type(msg) ~= "string" or got ~= code then
    error("want nil, message, " .. code .. "; got " .. fmt(r) .. ", " ..
          fmt(msg) .. ", " .. fmt(got), 2)
  end
  return msg
end

-- Misuse: a Lua error whose message contains `pattern` (plain text).
function T.raises(pattern, fn, ...)
  local ok, err = pcall(fn, ...)
  if ok then error("no error raised (want '" .. pattern .. "')", 2) end
  if not string.find(tostring(err), pattern, 1, true) then
    error("error " .. fmt(err) .. " lacks '" .. pattern .. "'", 2)
  end
end

-- An engine with a small catalogue and a fixed clock.
T.NOW = 1767258000000
function T.engine(yaml)
  local e = assert(pz.open_string(yaml or "", { clock = T.NOW }))
  local items = {
    { "espresso", "category=coffee", "diet=vegan" },
    { "latte", "category=coffee", "diet=vegetarian" },
    { "ramen", "category=bowl", "cuisine=japanese" },
    { "miso", "category=soup", "cuisine=japanese", "diet=vegan" },
    { "burger", "category=sandwich", "cuisine=american" },
    { "tiramisu", "category=dessert", "diet=vegetarian" },
  }
  for _, it in ipairs(items) do
    local f = {}
    for i = 2, #it do f[#f + 1] = it[i] end
    assert(e:put_item(it[1], f))
  end
  for u = 1, 4 do
    assert(e:track("reg" .. u, "espresso", "view", 1, T.NOW - u * 1000))
    assert(e:track("reg" .. u, "burger", "view", 1, T.NOW - u * 1000))
  end
  return e
end

function T.ids(recs)
  local out = {}
  for i, r in ipairs(recs) do out[i] = r.item end
  return table.concat(out, ",")
end

for _, path in ipairs(arg) do
  local chunk, err = loadfile(path)
  if not chunk then
    T.failed = T.failed + 1
    print("not ok - load " .. path .. ": " .. err)
  else
    local ok, e2 = pcall(chunk, T)
    if not ok then
      T.failed = T.failed + 1
      print("not ok - run " .. path .. ": " .. tostring(e2))
    end
  end
end
collectgarbage("collect")
print(string.format("tests: %d passed, %d failed", T.passed, T.failed))
-- On success the chunk simply ends, so the interpreter runs lua_close and
-- every __gc (LeakSanitizer then sees no engine left); os.exit(n, true)
-- does the same on Lua 5.4 only.
if T.failed > 0 then os.exit(1, true) end
