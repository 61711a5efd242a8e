-- The built-in scheduler (quicksilver.async.loop): spawn, step, run, sleep,
-- errors raised (not swallowed), misuse refused; waits on pipes.
local loop = require("quicksilver.async.loop")
local support = require("spec.async.support")

describe("quicksilver.async.loop", function()
  it("passes spawn's arguments and counts what is left after each step", function()
    local l = loop.new()
    local got = {}
    l:spawn(function(a, b) got[#got + 1] = a .. b; coroutine.yield(); got[#got + 1] = "again" end, "x", "y")
    assert.equal(1, l:pending())
    assert.equal(1, l:step(0))   -- ran to the plain yield: gives way for one step
    assert.same({"xy"}, got)
    assert.equal(0, l:step(0))
    assert.same({"xy", "again"}, got)
  end)

  it("wakes a waiter in the step where its fd is ready, others wait on", function()
    local l = loop.new()
    local a, b = support.pipe(), support.pipe()
    local woke = {}
    l:spawn(function() woke.a = loop.waiter(a.read, "r", 5) end)
    l:spawn(function() woke.b = loop.waiter(b.read, "r", 5) end)
    assert.equal(2, l:step(0))   -- both now wait
    a.send("!")
    assert.equal(1, l:step(1))
    assert.same({a = true}, woke)
    b.send("!")
    l:run()
    assert.same({a = true, b = true}, woke)
    a.close(); b.close()
  end)

  it("returns from a step at its timeout when nothing is ready (a game tick)", function()
    local l = loop.new()
    local p = support.pipe()
    l:spawn(function() loop.waiter(p.read, "r") end)
    l:step(0)
    local t0 = support.now()
    assert.equal(1, l:step(0.03))
    assert.is_true(support.now() - t0 >= 0.025)
    p.send("x")
    assert.equal(0, l:step())
    p.close()
  end)

  it("sleeps: l:sleep and loop.sleep end after their time, in order", function()
    local l = loop.new()
    local order = {}
    l:spawn(function() l:sleep(0.04); order[#order + 1] = "long" end)
    l:spawn(function() loop.sleep(0.01); order[#order + 1] = "short" end)
    local t0 = support.now()
    l:run()
    assert.same({"short", "long"}, order)
    assert.is_true(support.now() - t0 >= 0.035)
  end)

  it("raises a spawned coroutine's error with its traceback, after resuming the others", function()
    local l = loop.new()
    local other = false
    local function fails() error("broken on purpose") end
    l:spawn(function() fails() end)
    l:spawn(function() other = true end)
    local ok, err = pcall(l.step, l, 0)
    assert.is_false(ok)
    assert.matches("a spawned coroutine failed: .*broken on purpose", err)
    assert.matches("stack traceback:.*fails", err)
    assert.is_true(other)
    assert.equal(0, l:pending())   -- the failed coroutine is gone; the loop goes on
    l:spawn(function() other = "after" end)
    l:run()
    assert.equal("after", other)
  end)

  it("knows the loop of the running coroutine, and none outside", function()
    local l = loop.new()
    local seen
    l:spawn(function() seen = loop.current() end)
    l:run()
    assert.equal(l, seen)
    assert.is_nil(loop.current())
  end)

  it("waits in place in a coroutine no loop spawned", function()
    local p = support.pipe()
    local co = coroutine.create(function() return loop.waiter(p.read, "r", 0.01) end)
    local ok, ready = coroutine.resume(co)
    assert.is_true(ok)
    assert.is_false(ready)
    assert.equal("dead", coroutine.status(co))   -- it never yielded
    p.close()
  end)

  it("refuses misuse: spawn of a non-function, sleep outside its coroutines, step from inside", function()
    local l = loop.new()
    assert.has_error(function() l:spawn("nope") end, "quicksilver.async.loop: spawn needs a function, not string")
    assert.has_error(function() l:sleep(0.01) end,
      "quicksilver.async.loop: sleep must be called from a coroutine this loop spawned")
    assert.has_error(function() l:step("soon") end,
      "quicksilver.async.loop: step's timeout must be seconds or nil, not string")
    l:spawn(function() l:step(0) end)
    local ok, err = pcall(l.step, l, 0)
    assert.is_false(ok)
    assert.matches("step called from inside one of the loop's own coroutines", err)
  end)

  if coroutine.close then
    it("drops a coroutine closed while it waits", function()
      local l = loop.new()
      local p = support.pipe()
      local co = l:spawn(function() loop.waiter(p.read, "r") end)
      l:step(0)
      assert.is_true(coroutine.close(co))
      p.send("x")
      assert.equal(0, l:step(0))
      p.close()
    end)
  end
end)
