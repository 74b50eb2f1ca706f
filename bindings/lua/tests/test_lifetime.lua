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
