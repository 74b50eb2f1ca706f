-- test_lifetime.lua - who owns what: results outlive their engine,
-- engines are freed by close, __gc or __close, in any order.
local T = ...
local pz = T.pz

T.test("results are plain tables that outlive the engine", function()
  local e = T.engine()
  assert(e:track("u", "ramen", "click"))
  local recs = assert(e:recommend("u", 3))
  local sim = assert(e:similar_items("miso", 2))
  local choices = (assert(e:block("u", "latte")) and assert(e:choices("u")))
  local ints = assert(e:interests("u", 2))
  e:close()
  e = nil
  collectgarbage("collect")
  collectgarbage("collect")
  T.eq(#recs, 3)
  T.eq(type(recs[1].reasons.text), "string")
  T.eq(type(sim[1].item), "string")
  T.eq(choices[1].target, "latte")
  T.eq(type(ints[1].feature), "string")
end)

T.test("an engine referenced nowhere is collected", function()
  local before = collectgarbage("count")
  for _ = 1, 20 do
    local e = T.engine()
    assert(e:recommend("u", 3))
  end
  collectgarbage("collect")
  collectgarbage("collect")
  -- the userdata is small; the test is that nothing crashed and ASan
  -- (check.sh) sees no leak
  T.ok(collectgarbage("count") < before + 512, "Lua heap freed")
end)

T.test("closing then collecting; collecting results first", function()
  local e = T.engine()
  local r = assert(e:recommend("u", 2))
  r = nil
  collectgarbage("collect")
  e:close()
  e:close()
  collectgarbage("collect")
  T.eq(tostring(e), "personalize.engine (closed)")
end)

T.test("errors inside a method leave no engine or result behind", function()
  for _ = 1, 50 do
    pcall(pz.open_string, "decay: {bad: 1}\n", { clock = 1 })
    pcall(pz.open_string, "", { clock = 0/0 })
    local e = T.engine()
    pcall(e.recommend, e, "u", 3, { exclude = { "a", 1 } })
    pcall(e.recommend, e, "u", 3, { context = { "ctx:x=y" }, context_weights = { "x" } })
  end
  collectgarbage("collect")
end)

T.test("many engines and results, collected in random order", function()
  local keep = {}
  for i = 1, 30 do
    local e = T.engine()
    keep[#keep + 1] = e
    keep[#keep + 1] = assert(e:recommend("u" .. i, 2))
    if i % 3 == 0 then e:close() end
  end
  for i = #keep, 1, -2 do keep[i] = nil end
  collectgarbage("collect")
  keep = nil
  collectgarbage("collect")
end)

T.test("the fixed clock stays with its engine", function()
  local a = assert(pz.open(nil, { clock = 1000 }))
  local b = assert(pz.open(nil, { clock = 2000 }))
  collectgarbage("collect")
  T.eq(a:now(), 1000)
  T.eq(b:now(), 2000)
  a:set_clock(3000)
  T.eq(b:now(), 2000)
end)

-- Lua 5.4 runs finalizers from inside allocations, so a __gc can close an
-- engine while one of its methods is between its argument checks and the
-- library call. Up to 10 finalizers run per collector step: stepping a
-- stopped collector until the first of 30 ran leaves the rest pending for
-- the first allocation of the call (Lua 5.1/LuaJIT: tables have no __gc).
T.test("a finalizer closing the engine in the middle of a call", function()
  if _VERSION ~= "Lua 5.4" then return end
  local target, runs = nil, 0
  local mt = {}
  mt.__gc = function()
    runs = runs + 1
    if target then target:close() end
    if mt.__gc then setmetatable({}, mt) end
  end
  for _ = 1, 30 do setmetatable({}, mt) end
  local function arm(e)
    collectgarbage("stop")
    local before = runs
    for _ = 1, 100000 do
      collectgarbage("step", 0)
      if runs > before then break end
    end
    collectgarbage("restart")
    target = e
  end
  local long = string.rep("z", 3000)
  local calls = {
    { "recommend", "reg1", 3, { exclude = { "latte" }, restrict_to = { "miso", "ramen" },
                                context = { "ctx:a=b" }, context_weights = { 2 } } },
    { "similar_items", "miso", 2 }, { "interests", "reg1", 3 }, { "choices", "reg1" },
    { "rules" }, { "segments_of", "reg1" }, { "segment_members", "kids" },
    { "segment_counts" }, { "put_item", "new", { "a=1", "b=2" }, { 1, 2 } },
    { "train", { algorithm = "knn", neighbours = 5 } }, { "train_clusters", { k = 2 } },
    { "get_attribute", "reg1", "long" }, { "export", "reg1" },
    { "assign", "layout", "reg1" }, { "track", "reg1", "latte", "view" },
    { "track_many", { { "reg1", "latte", "view" }, { "reg2", "miso", "click", 2 } } },
  }
  local closed_mid_call = 0
  for _, c in ipairs(calls) do
    local e = T.engine("segments:\n  - {name: kids, rule: {attr: age, lt: 18}}\n" ..
                       "experiments:\n  - {name: layout, seed: 7, variants: [{name: a}]}\n")
    assert(e:set_attribute("reg1", "long", long))
    for i = 1, 20 do assert(e:set_attribute("reg1", "a" .. i, long)) end
    arm(e)
    local ok, err = pcall(e[c[1]], e, (table.unpack or unpack)(c, 2))
    target = nil
    if not ok then
      T.ok(tostring(err):find("closed", 1, true), c[1] .. ": " .. tostring(err))
      closed_mid_call = closed_mid_call + 1
    end
    e:close()
  end
  mt.__gc = nil
  collectgarbage("collect")
  T.ok(closed_mid_call >= 10, "calls that saw their engine closed: " .. closed_mid_call)
end)
