-- test_close54.lua - to-be-closed variables (Lua 5.4 syntax; run.lua's
-- caller skips this file on older Luas).
local T = ...
local pz = T.pz

T.test("<close> frees the engine at the end of its scope", function()
  local outer
  do
    local e <close> = T.engine()
    outer = e
    assert(e:track("u", "latte", "view"))
  end
  T.eq(tostring(outer), "personalize.engine (closed)")
  T.raises("closed engine", outer.track, outer, "u", "latte", "view")
  T.eq(outer:close(), true, "double close after __close")
end)

T.test("<close> runs on error unwinding, then explicit close is harmless", function()
  local outer
  local ok = pcall(function()
    local e <close> = T.engine()
    outer = e
    e:close()
    e:recommend("u", -1) -- raises: closed engine
  end)
  T.eq(ok, false)
  T.eq(tostring(outer), "personalize.engine (closed)")
end)

T.test("<close> on a failed open is an error, not a crash", function()
  local ok, err = pcall(function()
    local e <close> = pz.open_string("bad: [") -- nil, msg, code
    return e
  end)
  T.eq(ok, true, "nil is allowed as a to-be-closed value: " .. tostring(err))
end)
