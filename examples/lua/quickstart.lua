local pz = require "personalize"
local e = assert(pz.open())                       -- every setting at its default
assert(e:put_item("kind-of-blue", { "genre=jazz", "mood=calm" }))
assert(e:put_item("blue-train", { "genre=jazz", "mood=upbeat" }))
assert(e:put_item("nevermind", { "genre=grunge", "mood=loud" }))
assert(e:track("ann", "kind-of-blue", "play"))    -- ann played a jazz album
for i, r in ipairs(assert(e:recommend("ann", 2))) do
  print(i, r.item, r.reasons.text)                -- every item has a reason
end
assert(e:block("ann", "nevermind"))               -- her choice beats the model
print(#assert(e:recommend("ann", 5)), "item left")
local recs, msg, code = e:recommend("ann", 5000)  -- expected failures: nil, msg, code
print(recs, code, msg)
e:close()
