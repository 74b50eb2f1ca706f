-- kiosk.lua - a food kiosk in Lua: an anonymous visitor, their own choices,
-- and a loyalty-card login, with the library's reason for every item.
--
--   LUA_CPATH='build/lua/?.so' lua5.4 examples/lua/kiosk.lua
--
-- 0. attract loop: the screen pages through what is popular;
-- 1. the visitor taps two dishes: the list follows their interests;
-- 2. they tap "not for me" on the first dish shown: it never comes back,
--    and dishes like it lose interest too;
-- 3. they tap "vegetarian only": a hard requirement, every dish shown
--    carries diet=vegetarian from then on;
-- 4. they log in with a loyalty card: the anonymous profile is merged into
--    the card holder's (older purchases, an older choice), and the choices
--    made at the kiosk come along.
--
-- The clock is fixed and moved by hand, so every run prints the same.
local pz = require "personalize"

local NOW = 1767258000000 -- 2026-01-01T09:00Z
local MINUTE, DAY = 60000, 86400000
local VISITOR, CARD = "visitor-17", "card-4411"

-- id, features, other customers' views (for popularity)
local menu = {
  { "espresso", { "category=coffee", "diet=vegetarian", "diet=vegan" }, 12 },
  { "flat-white", { "category=coffee", "diet=vegetarian" }, 10 },
  { "chai", { "category=tea", "cuisine=indian", "diet=vegetarian" }, 5 },
  { "hot-chocolate", { "category=cocoa", "diet=vegetarian" }, 9 },
  { "miso-soup", { "category=soup", "cuisine=japanese", "diet=vegetarian",
                   "diet=vegan" }, 4 },
  { "ramen", { "category=bowl", "cuisine=japanese" }, 9 },
  { "teriyaki-bowl", { "category=bowl", "cuisine=japanese" }, 6 },
  { "tofu-poke", { "category=bowl", "cuisine=japanese", "diet=vegetarian",
                   "diet=vegan" }, 3 },
  { "veggie-gyoza", { "category=snack", "cuisine=japanese",
                      "diet=vegetarian" }, 4 },
  { "katsu-sando", { "category=sandwich", "cuisine=japanese" }, 5 },
  { "burrito", { "category=wrap", "cuisine=mexican" }, 8 },
  { "bean-quesadilla", { "category=wrap", "cuisine=mexican",
                         "diet=vegetarian" }, 4 },
  { "club-sandwich", { "category=sandwich", "cuisine=american" }, 7 },
  { "margherita-slice", { "category=pizza", "cuisine=italian",
                          "diet=vegetarian" }, 9 },
  { "croissant", { "category=pastry", "cuisine=french",
                   "diet=vegetarian" }, 11 },
  { "matcha-cheesecake", { "category=dessert", "cuisine=japanese",
                           "diet=vegetarian" }, 3 },
}

local veg = {}
for _, m in ipairs(menu) do
  for _, f in ipairs(m[2]) do
    if f == "diet=vegetarian" then veg[m[1]] = true end
  end
end

-- Every call is checked: a failure prints the library's message and code.
local function check(ok, msg, code)
  if ok == nil then error(string.format("kiosk: %s (%s)", msg, code), 2) end
  return ok
end

local e = check(pz.open_string("", { clock = NOW }))
local clock = NOW
local function tick()
  clock = clock + MINUTE
  check(e:set_clock(clock))
end

for _, m in ipairs(menu) do check(e:put_item(m[1], m[2])) end
for i, m in ipairs(menu) do
  for j = 1, m[3] do
    check(e:track("regular-" .. j, m[1], "view", 1,
                  NOW - (1 + (i + j) % 5) * DAY))
  end
end

-- The card holder, last week: meat dishes and a choice of their own.
check(e:set_attribute(CARD, "tier", "gold"))
for i, item in ipairs({ "burrito", "club-sandwich", "katsu-sando" }) do
  check(e:track(CARD, item, "purchase", 1, NOW - 7 * DAY + i * MINUTE))
end
check(e:set_clock(NOW - 7 * DAY))
check(e:more(CARD, "cuisine=mexican"))
check(e:set_clock(clock))

local function show(user, header, options)
  print("\n== " .. header .. " ==")
  local recs = check(e:recommend(user, 4, options))
  for i, r in ipairs(recs) do
    print(string.format("  %d. %-17s %-3s %6.3f  %-8s %s", i, r.item,
                        veg[r.item] and "veg" or "-", r.score,
                        r.reasons.code, r.reasons.text))
  end
  return recs
end

local function show_choices(user)
  local parts = {}
  for _, c in ipairs(check(e:choices(user))) do
    local detail = c.kind == "adjust" and string.format(" x%.2f", c.factor)
      or ""
    parts[#parts + 1] = c.kind .. " " .. c.target .. detail
  end
  print("  choices of " .. user .. ": " .. table.concat(parts, ", "))
end

print("libpersonalize " .. pz.version .. " kiosk, " .. #menu .. " dishes")

-- 0. Nobody at the screen yet: page through the popular list.
for page = 0, 1 do
  show(VISITOR, string.format("0. attract loop, page %d", page + 1),
       { offset = page * 4 })
end

-- 1. A visitor taps two Japanese bowls.
tick()
check(e:track(VISITOR, "ramen", "click"))
tick()
check(e:track(VISITOR, "teriyaki-bowl", "click"))
local recs = show(VISITOR, "1. visitor taps ramen, teriyaki-bowl")

-- 2. "Not for me" on the first dish on the screen.
local dismissed = recs[1].item
tick()
check(e:not_interested(VISITOR, dismissed))
show(VISITOR, '2. visitor taps "not for me" on ' .. dismissed)

-- 3. "Vegetarian only": a requirement, not a preference.
tick()
check(e:require(VISITOR, "diet=vegetarian"))
show(VISITOR, '3. visitor taps "vegetarian only"')
show_choices(VISITOR)

-- 4. The loyalty card: everything the visitor did and chose moves to the
-- card's account, which keeps its own history and its older choice.
tick()
check(e:merge(VISITOR, CARD))
show(CARD, "4. logs in: " .. VISITOR .. " merged into " .. CARD)
show_choices(CARD)
print("  " .. VISITOR .. " after the merge: " ..
      select(2, e:event_count(VISITOR)))
e:close()
