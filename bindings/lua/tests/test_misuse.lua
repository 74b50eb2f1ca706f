-- test_misuse.lua - bad input: misuse raises, the library's refusals
-- return nil, message, code, and nothing crashes.
local T = ...
local pz = T.pz
local huge_int = math.maxinteger or 2^53 -- Lua 5.1 has no integers
local nan, inf = 0/0, math.huge

T.test("wrong types for ids raise", function()
  local e = T.engine()
  T.raises("string expected, got number", e.track, e, 42, "latte", "view")
  T.raises("string expected, got nil", e.track, e, "u", nil, "view")
  T.raises("string expected, got table", e.recommend, e, {}, 3)
  T.raises("string expected, got boolean", e.erase, e, true)
  T.raises("string expected, got no value", e.export, e)
  T.raises("string expected, got nil", pz.open_string, nil)
  T.raises("string expected, got number", pz.load, 1)
  T.raises("features[2] must be a string", e.put_item, e, "x", { "a=1", 2 })
end)

T.test("track_many: misuse in any event raises before anything is recorded", function()
  local e = T.engine()
  local function batch(bad)
    return { { "ann", "latte", "view" }, { "ann", "miso", "view" }, bad, { "bob", "latte", "view" } }
  end
  for _, c in ipairs({
    { "events[3]: user: string expected, got nil", { nil, "latte", "view" } },
    { "events[3]: item: string expected, got number", { "cy", 42, "view" } },
    { "events[3]: event_type: string expected, got nil", { "cy", "latte" } },
    { "events[3]: user: string contains a NUL byte", { "cy\0x", "latte", "view" } },
    { "events[3]: value: number must be finite", { "cy", "latte", "view", nan } },
    { "events[3]: value: number must be finite", { "cy", "latte", "view", -inf } },
    { "events[3]: value: number expected, got string", { "cy", "latte", "view", "1" } },
    { "events[3]: ts: number has no integer representation", { "cy", "latte", "view", 1, 2.5 } },
    { "events[3]: ts: number has no integer representation", { "cy", "latte", "view", 1, 2^63 } },
    { "events[3]: ts: integer expected, got boolean", { "cy", "latte", "view", 1, true } },
    { "events[3]: more than 5 fields", { "cy", "latte", "view", 1, 0, "x" } },
    { "events[3]: table expected, got string", "cy" },
  }) do
    T.raises(c[1], e.track_many, e, batch(c[2]))
  end
  T.raises("events[1]: table expected, got string", e.track_many, e, { "ann", { "a", "b", "view" } })
  T.raises("table of events expected, got no value", e.track_many, e)
  T.raises("table of events expected, got string", e.track_many, e, "ann")
  T.fails("ENOTFOUND", e.event_count, e, "ann") -- nothing was recorded
  T.fails("ENOTFOUND", e.event_count, e, "bob")
  -- metatables are not consulted, on the list or on an event
  local boom = { __index = function() error("consulted") end, __len = function() error("consulted") end }
  T.eq(e:track_many(setmetatable({ setmetatable({ "ann", "latte", "view" }, boom) }, boom)), 1)
  T.raises("events[1]: user: string expected, got nil", e.track_many, e,
           { setmetatable({}, { __index = { "ann", "latte", "view" } }) })
  T.eq(e:event_count("ann"), 1)
end)

T.test("methods need an engine as self", function()
  local e = T.engine()
  T.raises("personalize.engine expected", e.track, "u", "i", "view")
  T.raises("personalize.engine expected", e.recommend, nil, "u", 1)
  T.raises("personalize.engine expected", e.close, {})
end)

T.test("embedded NUL bytes raise", function()
  local e = T.engine()
  T.raises("NUL", e.track, e, "ann\0eve", "latte", "view")
  T.raises("NUL", e.set_attribute, e, "u", "name", "a\0b")
  T.raises("NUL", e.recommend, e, "u", 3, { exclude = { "latte\0" } })
  T.raises("NUL", e.put_item, e, "x", { "genre=a\0b" })
  T.raises("NUL", e.block, e, "u", "\0")
  T.raises("NUL", pz.open, "/tmp\0/x")
end)

T.test("invalid UTF-8, empty and overlong ids are refused by the library", function()
  local e = T.engine()
  T.fails("EINVAL", e.track, e, "\255\254", "latte", "view")
  T.fails("EINVAL", e.track, e, "u", "\192\128", "view") -- overlong NUL
  T.fails("EINVAL", e.track, e, "", "latte", "view")
  T.fails("EINVAL", e.track, e, string.rep("u", 256), "latte", "view")
  T.eq(e:track(string.rep("u", 255), "latte", "view"), true, "255 bytes fit")
  T.fails("EINVAL", e.put_item, e, "x", { string.rep("f", 1025) })
  T.fails("EINVAL", e.recommend, e, "\237\160\128", 3) -- a surrogate
  T.fails("EINVAL", e.block_feature, e, "u", "")
  T.fails("EINVAL", e.set_attribute, e, "u", "bad", "\255")
end)

T.test("k: negative, zero, fractional, NaN, huge raise; above max_k fails", function()
  local e = T.engine()
  T.raises("k must be", e.recommend, e, "u", -1)
  T.raises("k must be", e.recommend, e, "u", 0)
  T.raises("k must be", e.recommend, e, "u", huge_int)
  T.raises("k must be", e.recommend, e, "u", 1000001)
  T.raises("integer representation", e.recommend, e, "u", 2.5)
  T.raises("integer representation", e.recommend, e, "u", nan)
  T.raises("integer representation", e.recommend, e, "u", inf)
  T.raises("integer representation", e.recommend, e, "u", 2^63)
  T.raises("integer representation", e.recommend, e, "u", -2^64)
  T.raises("integer expected, got string", e.recommend, e, "u", "3")
  T.raises("k must be", e.similar_items, e, "latte", -5)
  T.raises("k must be", e.interests, e, "reg1", 0)
  T.fails("ERANGE", e.recommend, e, "u", 1001)
  T.eq(#assert(e:recommend("u", 3.0)), 3, "a whole float is fine")
end)

T.test("NaN and infinity where a number is needed raise", function()
  local e = T.engine()
  T.raises("finite", e.track, e, "u", "latte", "view", nan)
  T.raises("finite", e.track, e, "u", "latte", "view", inf)
  T.raises("finite", e.track, e, "u", "latte", "view", -inf)
  T.raises("number expected, got string", e.track, e, "u", "latte", "view", "1")
  T.raises("finite", e.set_attribute, e, "u", "x", nan)
  T.raises("finite", e.adjust, e, "u", "a=b", nan)
  T.raises("integer representation", e.track, e, "u", "latte", "view", 1, nan)
  T.raises("integer representation", e.set_clock, e, inf)
  T.raises("diversity", e.recommend, e, "u", 1, { diversity = nan })
  T.raises("weights must be finite", e.put_item, e, "x", { "a=1" }, { inf })
  T.raises("context_weights", e.recommend, e, "u", 1,
           { context = { "ctx:a=b" }, context_weights = { nan } })
end)

T.test("out-of-range numbers are the library's to refuse", function()
  local e = T.engine()
  T.fails("ERANGE", e.track, e, "u", "latte", "view", 1e10)
  T.fails("EINVAL", e.track, e, "u", "latte", "view", 1, -1)
  T.fails("ERANGE", e.track, e, "u", "latte", "view", 1, huge_int)
  T.fails("ERANGE", e.pin, e, "u", "latte", -2)
  T.raises("position out of range", e.pin, e, "u", "latte", 2^31)
  T.fails("ERANGE", e.recommend, e, "u", 1, { context = { "ctx:a=b" },
                                              context_weights = { 1000 } })
end)

T.test("bad options raise", function()
  local e = T.engine()
  T.raises("unknown option 'include_sen'", e.recommend, e, "u", 1, { include_sen = true })
  T.raises("unknown option", e.recommend, e, "u", 1, { [1] = true })
  T.raises("table expected, got string", e.recommend, e, "u", 1, "terse")
  T.raises("boolean expected", e.recommend, e, "u", 1, { include_seen = 1 })
  T.raises("option 'offset'", e.recommend, e, "u", 1, { offset = -1 })
  T.raises("option 'offset'", e.recommend, e, "u", 1, { offset = huge_int })
  T.raises("table of strings expected", e.recommend, e, "u", 1, { exclude = "latte" })
  T.raises("context_weights", e.recommend, e, "u", 1, { context = { "ctx:a=b" },
                                                       context_weights = { 1, 2 } })
  T.raises("unknown option 'clock_ms'", pz.open, nil, { clock_ms = 1 })
  T.raises("unknown option 'config'", pz.open_string, "", { config = "" })
  T.raises("option 'config'", pz.load, "/x", { config = 1 })
  T.raises("option 'algorithm'", e.train, e, { algorithm = "magic" })
  T.raises("option 'factors' out of range", e.train, e, { factors = -1 })
  T.raises("option 'k' out of range", e.train_clusters, e, { k = 2^40 })
  T.raises("invalid option 'block'", e.clear, e, "u", "block", "latte")
  T.raises("boolean expected, got number", e.set_consent, e, "u", "analytics", 1)
  T.raises("boolean expected, got string", e.opt_out, e, "u", "yes")
  T.raises("string, number or boolean expected, got nil", e.set_attribute, e, "u", "x", nil)
  T.raises("string, number or boolean expected, got table", e.set_attribute, e, "u", "x", {})
  T.raises("weights", e.put_item, e, "x", { "a=1" }, { 1, 2 })
  T.raises("features[1]", e.put_item, e, "x", { {} })
end)

T.test("a metatable on an options table is not consulted", function()
  local e = T.engine()
  local opts = setmetatable({}, { __index = function() error("consulted") end })
  T.eq(#assert(e:recommend("u", 2, opts)), 2)
end)

T.test("a closed engine raises on every method", function()
  local e = T.engine()
  e:close()
  for _, m in ipairs({ "track", "track_many", "recommend", "similar_items", "put_item",
                       "export", "save", "train", "block", "choices", "now",
                       "set_clock", "segments_of", "assign", "merge" }) do
    T.raises("closed engine", e[m], e, "a", "b", "c")
  end
  T.eq(e:close(), true, "closing again is harmless")
end)

T.test("every method with hostile arguments: errors or nil, never a crash", function()
  local e = T.engine()
  local methods = {}
  for name in pairs(getmetatable(e).__index) do
    -- save would write files named by the hostile strings
    if name ~= "close" and name ~= "save" then methods[#methods + 1] = name end
  end
  table.sort(methods)
  local values = { nil, false, true, 0, -1, 1.5, 0/0, math.huge, 2^63,
                   "", "u", "a\0b", "\255", string.rep("x", 5000), {},
                   { "a" }, { 1 }, print, e }
  local calls = 0
  for _, m in ipairs(methods) do
    for i = 1, 19 do
      for j = 1, 19, 3 do
        pcall(e[m], e, values[i], values[j], values[(i + j) % 19 + 1], values[j])
        pcall(e[m], e, "reg1", values[i], values[j], values[i])
        calls = calls + 2
      end
    end
  end
  T.ok(calls > 1000, "calls made")
  T.eq(e:item_count(), e:item_count(), "engine still answers")
  T.eq(#assert(e:recommend("someone-else", 2)), 2)
end)

T.test("a NUL byte in an option key or value name is not the name", function()
  local e = T.engine()
  T.raises("unknown option", e.recommend, e, "u", 1, { ["terse\0x"] = true })
  T.raises("unknown option", pz.open, nil, { ["clock\0"] = 1 })
  T.raises("option 'algorithm'", e.train, e, { algorithm = "knn\0x" })
  T.raises("option 'weighting'", e.train, e, { weighting = "bm25\0" })
end)

T.test("a fixed clock outside 0 .. year 9999 raises", function()
  local e = T.engine()
  T.raises("clock out of range", e.set_clock, e, -1)
  T.raises("clock out of range", e.set_clock, e, huge_int)
  T.raises("clock out of range", e.set_clock, e, 253402300800000)
  T.raises("option 'clock'", pz.open, nil, { clock = -1 })
  T.raises("option 'clock'", pz.open_string, "", { clock = huge_int })
  T.raises("option 'clock'", pz.load, "/nonexistent", { clock = -5 })
  T.eq(e:now(), T.NOW, "a refused clock leaves the old one")
  T.eq(e:set_clock(253402300799999), true)
  T.eq(e:track("u", "latte", "view"), true, "the last ms of 9999 works")
  T.eq(e:set_clock(0), true)
  T.eq(e:now(), 0)
end)

T.test("too long or sparse string arrays raise", function()
  local e = T.engine()
  local t = {}
  for i = 1, 1000001 do t[i] = "x" end
  T.raises("more than 1000000 entries", e.recommend, e, "u", 1, { exclude = t })
  T.raises("more than 1000000 entries", e.put_item, e, "x", t)
  t = nil
  -- # of a table with holes is any border: whichever it is, a hole or
  -- the length raises before anything is allocated for it
  local sparse = { "latte" }
  for p = 1, 30 do sparse[2^p] = "x" end
  T.raises("", e.recommend, e, "u", 1, { restrict_to = sparse })
  T.raises("", e.put_item, e, "x", sparse)
  collectgarbage("collect")
end)
