-- qs.event: listen, remove, contains, parents, once, retval, insert, weak
-- targets, the has() fast path and the errors.
local event = require("quicksilver.event")
local exc = require("quicksilver.exc")

local function target(parent)
  return {_event_names = {ping = true, pong = true}, _event_parent = parent}
end

-- Asserts fn(...) raises a qs.exc error of class cls; returns the error.
local function raises(cls, fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok)
  assert.is_true(exc.is_error(err), "not a qs.exc error: " .. tostring(err))
  assert.is_true(err:is_a(cls), tostring(err))
  return err
end

describe("event.listen and fire", function()
  it("calls a listener with the arguments", function()
    local t, got = target(), nil
    event.listen(t, "ping", function(...) got = {...} end)
    event.fire(t, "ping", 1, "two", nil, 4)
    assert.same({1, "two", nil, 4}, got)
  end)

  it("calls listeners in registration order", function()
    local t, seen = target(), {}
    event.listen(t, "ping", function() seen[#seen + 1] = "a" end)
    event.listen(t, "ping", function() seen[#seen + 1] = "b" end)
    event.fire(t, "ping")
    assert.same({"a", "b"}, seen)
  end)

  it("puts insert=true listeners first", function()
    local t, seen = target(), {}
    event.listen(t, "ping", function() seen[#seen + 1] = "a" end)
    event.listen(t, "ping", function() seen[#seen + 1] = "first" end, {insert = true})
    event.fire(t, "ping")
    assert.same({"first", "a"}, seen)
  end)

  it("keeps events apart", function()
    local t, n = target(), 0
    event.listen(t, "ping", function() n = n + 1 end)
    event.fire(t, "pong")
    assert.equal(0, n)
  end)

  it("keeps targets apart", function()
    local a, b, n = target(), target(), 0
    event.listen(a, "ping", function() n = n + 1 end)
    event.fire(b, "ping")
    assert.equal(0, n)
    assert.is_false(event.has(b, "ping"))
  end)

  it("registers the same function once per target and event", function()
    local t, n = target(), 0
    local fn = function() n = n + 1 end
    event.listen(t, "ping", fn)
    event.listen(t, "ping", fn)
    event.fire(t, "ping")
    assert.equal(1, n)
  end)

  it("finds _event_names through a class metatable", function()
    local Class = {_event_names = {ping = true}}
    Class.__index = Class
    local obj = setmetatable({}, Class)
    local n = 0
    event.listen(obj, "ping", function() n = n + 1 end)
    event.fire(obj, "ping")
    assert.equal(1, n)
  end)

  it("lets listener errors propagate unchanged and stop the dispatch", function()
    local t, later = target(), false
    local boom = exc.DataError("listener failed")
    event.listen(t, "ping", function() error(boom) end)
    event.listen(t, "ping", function() later = true end)
    local ok, err = pcall(event.fire, t, "ping")
    assert.is_false(ok)
    assert.equal(boom, err)
    assert.is_false(later)
  end)

  it("dispatches a snapshot when a listener removes another", function()
    local t, seen = target(), {}
    local second = function() seen[#seen + 1] = "second" end
    event.listen(t, "ping", function()
      seen[#seen + 1] = "first"
      if event.contains(t, "ping", second) then event.remove(t, "ping", second) end
    end)
    event.listen(t, "ping", second)
    event.fire(t, "ping")
    event.fire(t, "ping")
    assert.same({"first", "second", "first"}, seen)
  end)

  it("returns the function from listens_for", function()
    local t, n = target(), 0
    local fn = event.listens_for(t, "ping")(function() n = n + 1 end)
    assert.equal("function", type(fn))
    assert.is_true(event.contains(t, "ping", fn))
    event.fire(t, "ping")
    assert.equal(1, n)
  end)
end)

describe("event parents", function()
  it("apply a parent's listeners to the child", function()
    local p = target()
    local c = target(p)
    local n = 0
    event.listen(p, "ping", function() n = n + 1 end)
    assert.is_true(event.has(c, "ping"))
    event.fire(c, "ping")
    assert.equal(1, n)
  end)

  it("fire the outermost parent first, the target's own last", function()
    local g = target()
    local p = target(g)
    local c = target(p)
    local seen = {}
    event.listen(c, "ping", function() seen[#seen + 1] = "child" end)
    event.listen(p, "ping", function() seen[#seen + 1] = "parent" end)
    event.listen(g, "ping", function() seen[#seen + 1] = "grandparent" end)
    event.fire(c, "ping")
    assert.same({"grandparent", "parent", "child"}, seen)
  end)

  it("do not apply a child's listeners to the parent", function()
    local p = target()
    local c = target(p)
    local n = 0
    event.listen(c, "ping", function() n = n + 1 end)
    assert.is_false(event.has(p, "ping"))
    event.fire(p, "ping")
    assert.equal(0, n)
  end)

  it("follow a parent set after the first dispatch", function()
    local p, c = target(), target()
    local n = 0
    event.listen(p, "ping", function() n = n + 1 end)
    event.fire(c, "ping")
    assert.equal(0, #event.listeners(c, "ping"))
    c._event_parent = p
    event.fire(c, "ping")
    assert.equal(1, n)
  end)

  it("raise on a cyclic parent chain", function()
    local a, b = target(), target()
    a._event_parent, b._event_parent = b, a
    event.listen(target(), "ping", function() end)   -- so has() walks at all
    raises(exc.InvalidRequestError, event.has, a, "pong")
    raises(exc.InvalidRequestError, event.listeners, a, "pong")
  end)
end)

describe("event once", function()
  it("runs a once-listener one time", function()
    local t, n = target(), 0
    event.listen(t, "ping", function() n = n + 1 end, {once = true})
    event.fire(t, "ping")
    event.fire(t, "ping")
    assert.equal(1, n)
    assert.is_false(event.has(t, "ping"))
  end)

  it("removes a once-listener run through listeners()", function()
    local t, n = target(), 0
    local fn = function() n = n + 1 end
    event.listen(t, "ping", fn, {once = true})
    local ls = event.listeners(t, "ping")
    ls[1].fn()
    ls[1].fn()
    assert.equal(1, n)
    assert.is_false(event.contains(t, "ping", fn))
  end)

  it("does not consume a once-listener that is only looked at", function()
    local t = target()
    local fn = function() end
    event.listen(t, "ping", fn, {once = true})
    event.listeners(t, "ping")
    assert.is_true(event.contains(t, "ping", fn))
  end)

  it("runs a once-listener one time when it fires its own event", function()
    local t, n = target(), 0
    event.listen(t, "ping", function()
      n = n + 1
      event.fire(t, "ping")
    end, {once = true})
    event.fire(t, "ping")
    assert.equal(1, n)
  end)

  it("passes a once-listener's results through", function()
    local t = target()
    event.listen(t, "ping", function(a) return a + 1, "x" end, {once = true, retval = true})
    local a, b = event.listeners(t, "ping")[1].fn(1)
    assert.equal(2, a)
    assert.equal("x", b)
  end)

  it("removes a once-listener by its own function", function()
    local t, n = target(), 0
    local fn = function() n = n + 1 end
    event.listen(t, "ping", fn, {once = true})
    event.remove(t, "ping", fn)
    event.fire(t, "ping")
    assert.equal(0, n)
  end)
end)

describe("event.listeners", function()
  it("marks retval listeners", function()
    local t = target()
    local fn = function() return 1 end
    event.listen(t, "ping", fn, {retval = true})
    event.listen(t, "ping", function() end)
    local ls = event.listeners(t, "ping")
    assert.equal(2, #ls)
    assert.is_true(ls[1].retval)
    assert.is_false(ls[2].retval)
    assert.equal(fn, ls[1].listener)
    assert.equal(fn, ls[1].fn)
  end)

  it("records propagate, raw and named for the emitters", function()
    local t = target()
    event.listen(t, "ping", function() end, {propagate = true, raw = true, named = true})
    local e = event.listeners(t, "ping")[1]
    assert.is_true(e.propagate)
    assert.is_true(e.raw)
    assert.is_true(e.named)
    assert.is_false(e.once)
  end)

  it("returns an empty list when nothing listens", function()
    assert.same({}, event.listeners(target(), "ping"))
  end)

  it("hands out read-only empty lists", function()
    local ls = event.listeners(target(), "pong")
    assert.has_error(function() ls[1] = {} end)
  end)

  it("reuses the list while nothing changes", function()
    local t = target()
    event.listen(t, "ping", function() end)
    local a = event.listeners(t, "ping")
    assert.equal(a, event.listeners(t, "ping"))
    event.listen(t, "ping", function() end)
    local b = event.listeners(t, "ping")
    assert.equal(1, #a)   -- the old list is a snapshot
    assert.equal(2, #b)
  end)
end)

describe("event.remove, contains and clear", function()
  it("removes a listener", function()
    local t, n = target(), 0
    local fn = function() n = n + 1 end
    event.listen(t, "ping", fn)
    event.remove(t, "ping", fn)
    event.fire(t, "ping")
    assert.equal(0, n)
    assert.is_false(event.has(t, "ping"))
  end)

  it("reports what contains", function()
    local t = target()
    local fn = function() end
    assert.is_false(event.contains(t, "ping", fn))
    event.listen(t, "ping", fn)
    assert.is_true(event.contains(t, "ping", fn))
    assert.is_false(event.contains(t, "pong", fn))
  end)

  it("raises InvalidRequestError removing what is not registered", function()
    local t = target()
    local fn = function() end
    local err = raises(exc.InvalidRequestError, event.remove, t, "ping", fn)
    assert.matches("No listeners found for event", err.message)
    event.listen(t, "ping", fn)
    event.remove(t, "ping", fn)
    raises(exc.InvalidRequestError, event.remove, t, "ping", fn)
  end)

  it("does not remove a parent's listener through the child", function()
    local p = target()
    local c = target(p)
    local fn = function() end
    event.listen(p, "ping", fn)
    raises(exc.InvalidRequestError, event.remove, c, "ping", fn)
    assert.is_true(event.has(c, "ping"))
  end)

  it("clears every listener of a target", function()
    local t, n = target(), 0
    event.listen(t, "ping", function() n = n + 1 end)
    event.listen(t, "pong", function() n = n + 1 end, {once = true})
    event.clear(t)
    event.fire(t, "ping")
    event.fire(t, "pong")
    assert.equal(0, n)
    assert.is_false(event.has(t, "ping"))
  end)

  it("lets has() answer false again once everything is removed", function()
    local t = target()
    local other = target()
    local fn = function() end
    event.listen(t, "ping", fn)
    assert.is_true(event.has(t, "ping"))
    event.remove(t, "ping", fn)
    assert.is_false(event.has(t, "ping"))
    assert.is_false(event.has(other, "ping"))
  end)
end)

describe("event errors", function()
  it("rejects an unknown event, naming it and the target", function()
    local t = setmetatable({_event_names = {ping = true}}, {__tostring = function() return "<T>" end})
    local err = raises(exc.ArgumentError, event.listen, t, "pnig", function() end)
    assert.equal("No such event 'pnig' for target <T>", err.message)
  end)

  it("rejects a target without _event_names", function()
    raises(exc.ArgumentError, event.listen, {}, "ping", function() end)
  end)

  it("rejects a target that is not an object", function()
    local err = raises(exc.ArgumentError, event.listen, "engine", "ping", function() end)
    assert.matches("got string", err.message)
  end)

  it("rejects a userdata target that cannot be indexed", function()
    local ud = io.tmpfile()
    raises(exc.ArgumentError, event.listen, ud, "ping", function() end)
    ud:close()
  end)

  it("rejects a listener that is not a function", function()
    raises(exc.ArgumentError, event.listen, target(), "ping", "not a function")
  end)

  it("rejects options that are not a table, and unknown options", function()
    raises(exc.ArgumentError, event.listen, target(), "ping", function() end, true)
    local err = raises(exc.ArgumentError, event.listen, target(), "ping", function() end, {onec = true})
    assert.matches("unknown option 'onec'", err.message)
  end)

  it("checks the event name in remove and contains", function()
    raises(exc.ArgumentError, event.remove, target(), "nope", function() end)
    raises(exc.ArgumentError, event.contains, target(), "nope", function() end)
  end)

  it("registers nothing when listen fails", function()
    local t = target()
    pcall(event.listen, t, "ping", function() end, {bogus = 1})
    assert.is_false(event.has(t, "ping"))
  end)
end)

describe("event storage", function()
  it("does not keep targets alive", function()
    local weak = setmetatable({}, {__mode = "v"})
    do
      local t = target()
      event.listen(t, "ping", function() end)
      event.listen(t, "pong", function() end, {once = true})
      event.listeners(t, "ping")
      weak[1] = t
    end
    collectgarbage()
    collectgarbage()
    assert.is_nil(weak[1])
  end)

end)

describe("event.has fast path", function()
  -- a fresh instance of the module, so that nothing registered by other
  -- specs counts
  local fresh
  before_each(function()
    local saved = package.loaded["quicksilver.event"]
    package.loaded["quicksilver.event"] = nil
    fresh = require("quicksilver.event")
    package.loaded["quicksilver.event"] = saved
  end)

  -- an object that fails the test if anything reads a field of it
  local function trap()
    return setmetatable({}, {__index = function(_, k) error("has() read " .. tostring(k)) end})
  end

  it("does not look at the target when nothing listens anywhere", function()
    assert.is_false(fresh.has(trap(), "ping"))
  end)

  it("does not look at the target once every listener is removed", function()
    local t = target()
    local fn = function() end
    fresh.listen(t, "ping", fn, {once = true})
    fresh.remove(t, "ping", fn)
    assert.is_false(fresh.has(trap(), "ping"))
  end)

  it("counts the listeners registered anywhere", function()
    local t = target()
    fresh.listen(t, "ping", function() end)
    fresh.listen(t, "pong", function() end, {once = true})
    assert.equal(2, fresh._count())
    fresh.fire(t, "pong")
    assert.equal(1, fresh._count())
    fresh.clear(t)
    assert.equal(0, fresh._count())
  end)

  it("does not look at the target once the listening targets are collected", function()
    do
      local t = target()
      fresh.listen(t, "ping", function() end)
      fresh.listen(t, "pong", function() end)
      fresh.listen(target(t), "ping", function() end)
    end
    assert.equal(3, fresh._count())
    collectgarbage()
    collectgarbage()
    assert.equal(0, fresh._count())
    assert.is_false(fresh.has(trap(), "ping"))
  end)

  it("fires nothing and reads nothing when nothing listens", function()
    fresh.fire(trap(), "ping")
    assert.equal(0, #fresh.listeners(trap(), "ping"))
  end)
end)
