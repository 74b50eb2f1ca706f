-- test_api.lua - normal use of every method.
local T = ...
local pz = T.pz

T.test("version and status table", function()
  T.eq(type(pz.version), "string")
  T.ok(pz.version:match("^1%.%d+%.%d+$"), "version is 1.x.y")
  T.eq(math.floor(pz.version_number / 10000), 1, "major")
  T.eq(pz.status.ENOTFOUND, -4)
  T.eq(pz.status.OK, 0)
end)

T.test("open with defaults, tostring, close", function()
  local e = assert(pz.open())
  T.ok(tostring(e):find("^personalize.engine %("), "tostring open")
  T.eq(e:close(), true)
  T.eq(tostring(e), "personalize.engine (closed)")
end)

T.test("open a config file; a bad one fails with ECONFIG", function()
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write("events: {view: 1, purchase: 5}\n")
  f:close()
  local e = assert(pz.open(path))
  T.eq(e:track("u", "x", "purchase"), true)
  T.fails("ENOTFOUND", e.track, e, "u", "x", "click")
  e:close()
  f = assert(io.open(path, "w"))
  f:write("events: {view: 1}\nranking: {max_k: nope}\n")
  f:close()
  local msg = T.fails("ECONFIG", pz.open, path)
  T.ok(msg:find(":2:"), "message names the line: " .. msg)
  os.remove(path)
  T.fails("EIO", pz.open, path .. ".missing")
end)

T.test("open_string: config errors return nil, msg, code", function()
  local msg = T.fails("ECONFIG", pz.open_string, "decay: {half_lfe: 3d}\n")
  T.ok(msg:find("<string>:1:"), msg)
end)

T.test("fixed clock via options and set_clock", function()
  local e = assert(pz.open(nil, { clock = 1234 }))
  T.eq(e:now(), 1234)
  T.eq(e:set_clock(5678), true)
  T.eq(e:now(), 5678)
  T.eq(e:set_clock(nil), true)
  T.ok(e:now() > 1600000000000, "system clock again")
  e:close()
end)

T.test("items: put, count, popularity, remove", function()
  local e = T.engine()
  T.eq(e:item_count(), 6)
  T.eq(e:put_item("weighted", { "a=1", "b=2" }, { 2.0, 0.5 }), true)
  T.eq(e:put_item("bare", {}), true)
  T.eq(e:item_count(), 8)
  local score, n = e:popularity("espresso")
  T.eq(n, 4, "events on espresso")
  T.ok(score > 3.9 and score <= 4, "decayed popularity " .. score)
  T.eq(e:remove_item("bare"), true)
  T.fails("ENOTFOUND", e.remove_item, e, "bare")
  T.eq(e:item_count(), 7)
  T.fails("ERANGE", e.put_item, e, "heavy", { "a=1" }, { 1e7 })
end)

T.test("track and recommend with reasons", function()
  local e = T.engine()
  T.eq(e:track("ann", "ramen", "click"), true)
  T.eq(e:track("ann", "miso", "view", 2, T.NOW - 60000), true)
  T.eq(e:event_count("ann"), 2)
  local recs = assert(e:recommend("ann", 3))
  T.eq(#recs, 3)
  for _, r in ipairs(recs) do
    T.eq(type(r.item), "string")
    T.eq(type(r.score), "number")
    T.eq(type(r.reasons.text), "string")
    T.eq(type(r.reasons.code), "string")
    T.eq(type(r.reasons.flags), "table")
    T.eq(type(r.reasons.contributions.content), "number")
    T.eq(r.reasons.factors.person, 1)
    T.ok(r.item ~= "ramen" and r.item ~= "miso", "seen items left out")
  end
  -- japanese is the interest; nothing unseen is japanese, so popularity
  T.ok(recs[1].score >= recs[2].score, "sorted")
  local seen = assert(e:recommend("ann", 2, { include_seen = true }))
  T.eq(seen[1].reasons.code, "CONTENT")
  T.ok(seen[1].reasons.text:find("japanese"), seen[1].reasons.text)
end)

T.test("track_many records a batch as the same track calls would", function()
  local events = {
    { "ann", "ramen", "click" },
    { "ann", "miso", "view", 2, T.NOW - 60000 },
    { "bob", "latte", "purchase" },
    { "ann", "new-item", "like", 1, 0 },
    { "cy", "burger", "dislike", 1.0, T.NOW - 5000 },
    { "bob", "espresso", "rating", 4.5, nil },
    { "ann", "ramen", "view", nil, 1.767257e12 }, -- a whole float is an integer
  }
  local one, many = T.engine(), T.engine()
  for _, ev in ipairs(events) do
    assert(one:track(ev[1], ev[2], ev[3], ev[4], ev[5]))
  end
  T.eq(many:track_many(events), #events)
  for _, u in ipairs({ "ann", "bob", "cy" }) do
    T.eq(many:export(u), one:export(u), "export of " .. u)
  end
  for _, i in ipairs({ "ramen", "miso", "latte", "new-item", "burger", "espresso" }) do
    local s1, n1 = one:popularity(i)
    local s2, n2 = many:popularity(i)
    T.eq(s2, s1, "popularity of " .. i)
    T.eq(n2, n1, "events on " .. i)
  end
  T.eq(many:profile_count(), one:profile_count())
  T.eq(many:item_count(), one:item_count())
  T.eq(many:event_count("ann"), 4)
  T.ok(many:export("ann"):find('"ts":' .. T.NOW, 1, true), "ts 0: the engine's clock")
  T.eq(many:track_many({}), 0, "an empty batch")
  T.eq(many:event_count("ann"), 4)
  one:close()
  many:close()
end)

T.test("track_many: a refused event stops the batch", function()
  local e = T.engine()
  assert(e:set_consent("dan", "personalization", false))
  for _, bad in ipairs({
    { "ENOTFOUND", { "cy", "latte", "bogus" }, 'unknown event type "bogus"' },
    { "ERANGE", { "cy", "latte", "view", 2e9 }, "" },
    { "EINVAL", { "cy", "latte", "view", 1, -5 }, "" },
    { "EINVAL", { "\255\254", "latte", "view" }, "" },
    { "EINVAL", { "cy", "\192\128", "view" }, "" },
    { "EINVAL", { "", "latte", "view" }, "" },
    { "EINVAL", { string.rep("u", 256), "latte", "view" }, "" },
    { "ECONSENT", { "dan", "latte", "view" }, "" },
  }) do
    local before = e:event_count("ann") or 0
    local r, msg, code, applied = e:track_many({
      { "ann", "latte", "view" }, { "ann", "miso", "view" }, bad[2],
      { "ann", "ramen", "view" }, { "eve", "latte", "view" },
    })
    T.eq(r, nil, bad[1])
    T.eq(code, bad[1])
    T.eq(applied, 2, bad[1] .. ": applied")
    T.ok(msg:find(": events[3]: " .. bad[3], 1, true), msg)
    T.eq(e:event_count("ann"), before + 2, bad[1] .. ": ramen not recorded")
    T.fails("ENOTFOUND", e.event_count, e, "eve")
  end
  -- the message of track for the same event, naming it
  local _, single = e:track("cy", "latte", "bogus")
  local _, batch = e:track_many({ { "cy", "latte", "bogus" } })
  T.eq(batch, (single:gsub("^not found: ", "not found: events[1]: ")))
end)

T.test("track_many: input longer than one call takes goes in chunks", function()
  local e = T.engine()
  local ev = { "u", "latte", "view" }
  local t = {}
  for i = 1, 1000000 do t[i] = ev end
  -- one call takes 1000000 events: the last one is the second call's
  -- first, named by its place in the table
  t[1000001] = { "u", "latte", "bogus" }
  local r, msg, code, applied = e:track_many(t)
  T.eq(r, nil)
  T.eq(code, "ENOTFOUND")
  T.eq(applied, 1000000)
  T.ok(msg:find("events[1000001]: unknown event type", 1, true), msg)
  local _, n = e:popularity("latte")
  T.eq(n, 1000000, "the first call's events")
  t = nil
  collectgarbage("collect")
end)

T.test("track_many: a batch too large for one journal record is split", function()
  -- 124,000 events of two 255-byte ids make a record above the journal's
  -- 64 MiB: the library refuses it whole (ELIMIT), the binding sends it
  -- again in halves
  local path = os.tmpname()
  os.remove(path)
  local yaml = "store: {journal: '" .. path .. "', fsync: never}\n"
  local e = assert(pz.open_string(yaml, { clock = T.NOW }))
  local ev = { string.rep("u", 255), string.rep("i", 255), "view" }
  local t = {}
  for i = 1, 124000 do t[i] = ev end
  T.eq(e:track_many(t), 124000)
  e:close()
  e = assert(pz.open_string(yaml, { clock = T.NOW })) -- replays the journal
  local _, n = e:popularity(ev[2])
  T.eq(n, 124000)
  e:close()
  os.remove(path)
end)

T.test("a list longer than one page of entries (32) reads whole", function()
  local e = T.engine()
  for i = 1, 70 do assert(e:put_item(string.format("x%02d", i), { "k=" .. (i % 7) })) end
  T.eq(e:track("ann", "x01", "view"), true)
  local n = e:item_count()
  local recs = assert(e:recommend("ann", 100, { include_seen = true }))
  T.eq(#recs, n, "every item, read across pages of the C buffer")
  local seen = {}
  for i, r in ipairs(recs) do
    T.ok(not seen[r.item], "no item twice: " .. r.item)
    seen[r.item] = true
    if i > 1 then T.ok(recs[i - 1].score >= r.score, "sorted at " .. i) end
    T.eq(type(r.reasons.text), "string")
  end
  -- the pages agree with the single requests of the same slots
  local page = assert(e:recommend("ann", 10, { include_seen = true, offset = 30 }))
  for i = 1, 10 do T.eq(page[i].item, recs[30 + i].item, "slot " .. (30 + i)) end
end)

T.test("recommend options: offset, exclude, restrict_to, context, terse", function()
  local e = T.engine()
  local all = assert(e:recommend("new", 6))
  T.eq(#all, 6)
  local page = assert(e:recommend("new", 2, { offset = 2 }))
  T.eq(T.ids(page), all[3].item .. "," .. all[4].item)
  local ex = assert(e:recommend("new", 6, { exclude = { all[1].item } }))
  T.eq(#ex, 5)
  local only = assert(e:recommend("new", 6, { restrict_to = { "latte", "miso" } }))
  T.eq(#only, 2)
  local none = assert(e:recommend("new", 6, { restrict_to = {} }))
  T.eq(#none, 0, "restrict to nothing")
  local ctx = assert(e:recommend("new", 1, { context = { "diet=vegan" },
                                             context_weights = { 5 } }))
  T.ok(ctx[1].reasons.flags.context, "context flag")
  local terse = assert(e:recommend("new", 2, { terse = true, diversity = 0.5,
                                               now = T.NOW }))
  T.eq(terse[1].reasons.text, "")
  T.fails("ERANGE", e.recommend, e, "new", 2, { diversity = 2 })
  T.fails("ERANGE", e.recommend, e, "new", 1000, { offset = 1 })
end)

T.test("attributes: string, number, boolean, timestamp", function()
  local e = T.engine()
  T.eq(e:set_attribute("bo", "name", "Bo"), true)
  T.eq(e:set_attribute("bo", "age", 34), true)
  T.eq(e:set_attribute("bo", "vip", true), true)
  T.eq(e:set_timestamp("bo", "signup", -1000), true)
  local v, t = e:get_attribute("bo", "name")
  T.eq(v, "Bo") T.eq(t, "string")
  v, t = e:get_attribute("bo", "age")
  T.eq(v, 34) T.eq(t, "number")
  v, t = e:get_attribute("bo", "vip")
  T.eq(v, true) T.eq(t, "boolean")
  v, t = e:get_attribute("bo", "signup")
  T.eq(v, -1000) T.eq(t, "timestamp")
  local long = string.rep("x", 4096)
  T.eq(e:set_attribute("bo", "long", long), true)
  T.eq(e:get_attribute("bo", "long"), long, "a string longer than 256 bytes")
  T.fails("EINVAL", e.set_attribute, e, "bo", "long", long .. "x")
  T.eq(e:remove_attribute("bo", "vip"), true)
  T.fails("ENOTFOUND", e.get_attribute, e, "bo", "vip")
  T.fails("ENOTFOUND", e.remove_attribute, e, "bo", "vip")
end)

T.test("consent: withdraw refuses events and empties history", function()
  local e = T.engine()
  T.eq(e:consent("cy", "personalization"), true, "default")
  T.eq(e:consent("cy", "ads_sharing"), false, "default")
  assert(e:track("cy", "ramen", "view"))
  T.eq(e:set_consent("cy", "personalization", false), true)
  T.eq(e:consent("cy", "personalization"), false)
  T.eq(e:event_count("cy"), 0)
  T.fails("ECONSENT", e.track, e, "cy", "ramen", "view")
  T.fails("ENOTFOUND", e.set_consent, e, "cy", "telepathy", true)
  local recs = assert(e:recommend("cy", 2))
  T.ok(recs[1].reasons.flags.not_personalized, "gate closed")
end)

T.test("merge, erase, export, interests, profile_count", function()
  local e = T.engine()
  assert(e:track("anon", "ramen", "click"))
  assert(e:set_attribute("card", "age", 40))
  local before = e:profile_count()
  T.eq(e:merge("anon", "card"), true)
  T.eq(e:profile_count(), before - 1)
  T.eq(e:event_count("card"), 1)
  T.fails("ENOTFOUND", e.event_count, e, "anon")
  T.fails("ENOTFOUND", e.merge, e, "anon", "card")
  T.fails("EINVAL", e.merge, e, "card", "card")
  local json = assert(e:export("card"))
  T.ok(json:find('"user":"card"', 1, true), "export names the user")
  T.ok(json:find('"ramen"', 1, true), "export holds the event")
  local ints = assert(e:interests("card", 2))
  T.eq(#ints, 2)
  T.ok(ints[1].feature:find("=", 1, true), ints[1].feature)
  T.ok(ints[1].score > 0, "positive score")
  T.eq(e:erase("card"), true)
  T.fails("ENOTFOUND", e.export, e, "card")
  T.fails("ENOTFOUND", e.erase, e, "card")
  T.fails("ENOTFOUND", e.interests, e, "card", 3)
end)

T.test("overrides: block, pin, more, less, adjust, require, list, clear", function()
  local e = T.engine()
  local u = "dee"
  T.eq(e:block(u, "espresso"), true)
  T.eq(e:block_feature(u, "category=dessert"), true)
  T.eq(e:pin(u, "miso", 0), true)
  T.eq(e:more(u, "cuisine=japanese"), true)
  T.eq(e:less(u, "category=coffee", T.NOW + 60000), true)
  T.eq(e:adjust(u, "cuisine=american", 2.0), true)
  local recs = assert(e:recommend(u, 6))
  T.eq(recs[1].item, "miso", "pinned first")
  T.eq(recs[1].reasons.code, "PINNED")
  T.ok(recs[1].reasons.flags.pinned, "pinned flag")
  for _, r in ipairs(recs) do
    T.ok(r.item ~= "espresso" and r.item ~= "tiramisu", "blocked: " .. r.item)
    if r.item == "latte" then T.ok(r.reasons.flags.less, "less flag") end
    if r.item == "burger" then
      T.eq(r.reasons.factors.person, 2.0)
      T.ok(r.reasons.text:find("more of cuisine=american", 1, true), r.reasons.text)
    end
  end
  local list = assert(e:choices(u))
  T.eq(#list, 6)
  T.eq(list[1].kind, "block_item") T.eq(list[1].target, "espresso")
  T.eq(list[3].kind, "pin") T.eq(list[3].position, 0)
  T.eq(list[5].kind, "adjust") T.eq(list[5].factor, 0.5)
  T.eq(list[5].expires, T.NOW + 60000)
  T.eq(list[1].created, T.NOW)
  T.eq(#assert(e:choices(u, T.NOW + 60000)), 5, "expired choice gone")
  T.eq(e:clear(u, "block_item", "espresso"), true)
  T.fails("ENOTFOUND", e.clear, e, u, "block_item", "espresso")
  T.eq(e:require(u, "diet=vegan"), true)
  for _, r in ipairs(assert(e:recommend(u, 6))) do
    T.ok(r.item == "espresso" or r.item == "miso", "vegan only: " .. r.item)
  end
  T.eq(e:clear_all(u), true)
  T.eq(#assert(e:choices(u)), 0)
  T.fails("ENOTFOUND", e.block, e, u, "no-such-item")
  T.fails("ERANGE", e.adjust, e, u, "a=b", 1.0)
  T.fails("ERANGE", e.block, e, u, "latte", T.NOW - 1)
end)

T.test("not_interested and opt_out", function()
  local e = T.engine()
  T.eq(e:not_interested("ed", "burger"), true)
  T.eq(e:event_count("ed"), 1, "a dislike event")
  for _, r in ipairs(assert(e:recommend("ed", 6))) do
    T.ok(r.item ~= "burger", "dismissed")
  end
  T.eq(e:opted_out("ed"), false)
  T.eq(e:opt_out("ed"), true)
  T.eq(e:opted_out("ed"), true)
  T.fails("ECONSENT", e.track, e, "ed", "latte", "view")
  local recs = assert(e:recommend("ed", 6))
  T.eq(#recs, 5, "a block holds while opted out (the stated choice)")
  for _, r in ipairs(recs) do T.ok(r.item ~= "burger", "still dismissed") end
  T.ok(recs[1].reasons.text:find("as you asked", 1, true), recs[1].reasons.text)
  T.eq(e:opt_out("ed", false), true)
  T.eq(e:opted_out("ed"), false)
  T.eq(e:choices("ed")[1].kind, "block_item", "choices kept")
end)

T.test("business rules: load, list, rule in reasons", function()
  local e = T.engine()
  T.eq(e:load_rules("rules:\n  - {name: vegan_push, kind: boost, match: {features: diet=vegan}, factor: 1.5}\n"), true)
  local rules = assert(e:rules())
  T.eq(#rules, 1) T.eq(rules[1].name, "vegan_push") T.eq(rules[1].kind, "boost")
  local hit = false
  for _, r in ipairs(assert(e:recommend("fay", 6))) do
    if r.reasons.rule == "vegan_push" then
      hit = true
      T.ok(r.reasons.flags.boosted, "boosted flag")
    end
  end
  T.ok(hit, "a boosted item names its rule")
  T.fails("ECONFIG", e.load_rules, e, "rules: [{kind: nope}]\n")
  T.eq(#assert(e:rules()), 1, "rules kept after a bad load")
end)

T.test("segments and experiments", function()
  local e = T.engine([[
segments:
  - {name: adults, rule: {attr: age, gte: 18}}
  - {name: viewers, rule: {count: view, gte: 1}}
experiments:
  - {name: layout, seed: 7, variants: [{name: a}, {name: b}]}
  - {name: nobody, seed: 7, coverage: 0, variants: [{name: a}]}
]])
  assert(e:set_attribute("gus", "age", 30))
  assert(e:track("gus", "latte", "view"))
  local segs = assert(e:segments_of("gus"))
  T.eq(table.concat(segs, ","), "adults,viewers")
  T.eq(#assert(e:segments_of("stranger")), 0)
  T.eq(e:in_segment("adults", "gus"), true)
  T.eq(e:in_segment("adults", "reg1"), false)
  T.fails("ENOTFOUND", e.in_segment, e, "martians", "gus")
  local counts = assert(e:segment_counts())
  T.eq(counts.adults, 1) T.eq(counts.viewers, 5)
  T.eq(#assert(e:segment_members("viewers")), 5)
  local v = assert(e:assign("layout", "gus"))
  T.ok(v == "a" or v == "b", "variant " .. tostring(v))
  T.eq(e:assign("layout", "gus"), v, "sticky")
  T.eq(e:assign("nobody", "gus"), false, "outside coverage")
  T.fails("ENOTFOUND", e.assign, e, "no-such-test", "gus")
  T.eq(e:refresh_segments(), true)
  T.eq(e:load_segments("segments:\n  - {name: kids, rule: {attr: age, lt: 18}}\n"), true)
  T.eq(table.concat(assert(e:segments_of("gus")), ","), "")
  T.fails("ECONFIG", e.load_segments, e, "segments: [{name: x, rule: {bogus: 1}}]\n")
end)

T.test("train, similar_items, clusters", function()
  local e = T.engine()
  for u = 1, 6 do
    assert(e:track("cf" .. u, "ramen", "purchase"))
    assert(e:track("cf" .. u, "miso", "purchase"))
    if u % 2 == 0 then assert(e:track("cf" .. u, "latte", "view")) end
  end
  T.eq(e:train({ algorithm = "knn", neighbours = 10 }), true)
  local sim = assert(e:similar_items("ramen", 3))
  T.eq(sim[1].item, "miso", "the co-purchased item")
  T.eq(type(sim[1].reasons.text), "string")
  assert(e:track("hal", "ramen", "purchase"))
  local recs = assert(e:recommend("hal", 1, { restrict_to = { "miso" } }))
  T.eq(recs[1].reasons.code, "CF")
  T.eq(recs[1].reasons.because[1].item, "ramen")
  T.ok(recs[1].reasons.because[1].share > 0, "share")
  T.eq(e:train(), true, "config defaults")
  T.fails("ENOTFOUND", e.similar_items, e, "nothing", 3)
  T.fails("ERANGE", e.train, e, { factors = 5000 })
  T.eq(e:train_clusters({ k = 2, seed = 1 }), true)
  local c = e:cluster_of("cf1")
  T.ok(c == 0 or c == 1, "cluster " .. tostring(c))
  T.eq(e:cluster_of("nobody"), false)
  T.fails("ERANGE", e.train_clusters, e, { k = 1000 })
end)

T.test("save and load a snapshot", function()
  local path = os.tmpname()
  local e = T.engine()
  assert(e:track("ivy", "ramen", "click"))
  assert(e:block("ivy", "burger"))
  T.eq(e:save(path), true)
  local want = T.ids(assert(e:recommend("ivy", 4)))
  e:close()
  local e2 = assert(pz.load(path, { clock = T.NOW }))
  T.eq(e2:event_count("ivy"), 1)
  T.eq(T.ids(assert(e2:recommend("ivy", 4))), want)
  T.eq(e2:sync(), true)
  e2:close()
  -- another hash identity: the library refuses the snapshot
  T.fails("ECONFIG", pz.load, path, { config = "hashing: {bits: 16}\n" })
  os.remove(path)
  T.fails("EIO", pz.load, path)
  local f = assert(io.open(path, "w"))
  f:write("not a snapshot")
  f:close()
  T.fails("EFORMAT", pz.load, path)
  os.remove(path)
  local e4 = T.engine()
  T.fails("EIO", e4.save, e4, "/nonexistent-dir/x.snap")
  T.fails("EINVAL", e4.save, e4)
end)
