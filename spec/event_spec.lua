-- qs.event: listen, remove, parents, once, retval, weak targets.
local event = require("quicksilver.event")
local exc = require("quicksilver.exc")

local function target(parent)
  return {_event_names = {ping = true, pong = true}, _event_parent = parent}
end

describe("qs.event", function()
  it("calls listeners in registration order, insert=true first", function()
    local t, seen = target(), {}
    event.listen(t, "ping", function(x) seen[#seen + 1] = "a" .. x end)
    event.listen(t, "ping", function(x) seen[#seen + 1] = "b" .. x end)
    event.listen(t, "ping", function(x) seen[#seen + 1] = "c" .. x end, {insert = true})
    event.fire(t, "ping", 1)
    assert.same({"c1", "a1", "b1"}, seen)
  end)

  it("applies a parent's listeners to the child, parent first", function()
    local p = target()
    local c = target(p)
    local seen = {}
    event.listen(c, "ping", function() seen[#seen + 1] = "child" end)
    event.listen(p, "ping", function() seen[#seen + 1] = "parent" end)
    assert.is_true(event.has(c, "ping"))
    assert.is_false(event.has(p, "pong"))
    event.fire(c, "ping")
    assert.same({"parent", "child"}, seen)
    seen = {}
    event.fire(p, "ping")
    assert.same({"parent"}, seen)
  end)

  it("removes listeners and reports unknown removals", function()
    local t = target()
    local fn = function() end
    event.listen(t, "ping", fn)
    assert.is_true(event.contains(t, "ping", fn))
    event.remove(t, "ping", fn)
    assert.is_false(event.contains(t, "ping", fn))
    assert.is_false(event.has(t, "ping"))
    local ok, err = pcall(event.remove, t, "ping", fn)
    assert.is_false(ok)
    assert.is_true(err:is_a(exc.InvalidRequestError))
  end)

  it("runs once-listeners one time", function()
    local t, n = target(), 0
    event.listen(t, "ping", function() n = n + 1 end, {once = true})
    event.fire(t, "ping")
    event.fire(t, "ping")
    assert.equal(1, n)
  end)

  it("marks retval listeners", function()
    local t = target()
    event.listen(t, "ping", function() return 1 end, {retval = true})
    local ls = event.listeners(t, "ping")
    assert.is_true(ls[1].retval)
  end)

  it("rejects unknown events, targets without events, and non-functions", function()
    for _, case in ipairs({
      {target(), "pnig", function() end},
      {{}, "ping", function() end},
      {target(), "ping", "not a function"},
    }) do
      local ok, err = pcall(event.listen, case[1], case[2], case[3])
      assert.is_false(ok)
      assert.is_true(err:is_a(exc.ArgumentError))
    end
  end)

  it("lets listener errors propagate", function()
    local t = target()
    event.listen(t, "ping", function() error("listener failed", 0) end)
    local ok, err = pcall(event.fire, t, "ping")
    assert.is_false(ok)
    assert.equal("listener failed", err)
  end)

  it("does not keep targets alive", function()
    local weak = setmetatable({}, {__mode = "v"})
    do
      local t = target()
      event.listen(t, "ping", function() end)
      weak[1] = t
    end
    collectgarbage()
    collectgarbage()
    assert.is_nil(weak[1])
  end)
end)
