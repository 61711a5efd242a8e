-- core.poll (c/binding/lpoll.c): poll(2) for the built-in loop and for
-- waiters that wait in place.
local core = require("quicksilver.core")
local support = require("spec.async.support")

describe("core.poll", function()
  it("says which fds are ready, for what, and how many", function()
    local a, b = support.pipe(), support.pipe()
    b.send("x")
    local n, ready = core.poll({a.read, b.read, a.write}, {"r", "r", "rw"}, 1)
    assert.equal(2, n)
    assert.same({[2] = "r", [3] = "w"}, ready)
    a.close(); b.close()
  end)

  it("returns 0 and nothing ready when the timeout passes, not before it", function()
    local p = support.pipe()
    local t0 = support.now()
    local n, ready = core.poll({p.read}, {"r"}, 0.03)
    assert.equal(0, n)
    assert.same({}, ready)
    assert.is_true(support.now() - t0 >= 0.029)
    p.close()
  end)

  it("counts a hang-up, and an fd closed meanwhile, as ready (the reader then sees why)", function()
    local p = support.pipe()
    assert.equal(0, (core.poll({p.read}, {"r"}, 0)))
    p.close_write()   -- the read end hangs up (POLLHUP)
    local n, ready = core.poll({p.read}, {"r"}, 0)
    assert.equal(1, n)
    assert.same({"r"}, ready)
    local fd = p.read
    p.close()         -- no such fd any more (POLLNVAL)
    assert.equal(1, (core.poll({fd}, {"r"}, 0)))
  end)

  it("polls many fds (more than fit on its stack) and sleeps with none", function()
    local pipes, fds, evs = {}, {}, {}
    for i = 1, 40 do
      pipes[i] = support.pipe()
      fds[i], evs[i] = pipes[i].read, "r"
    end
    pipes[33].send("!")
    local n, ready = core.poll(fds, evs, 1)
    assert.equal(1, n)
    assert.same({[33] = "r"}, ready)
    for i = 1, 40 do pipes[i].close() end
    local t0 = support.now()
    assert.equal(0, (core.poll({}, {}, 0.02)))
    assert.is_true(support.now() - t0 >= 0.019)
  end)

  it("refuses bad input, naming it", function()
    assert.has_error(function() core.poll({1, 2}, {"r"}, 0) end, "core.poll: 2 fds but 1 events")
    assert.has_error(function() core.poll({"x"}, {"r"}, 0) end,
      "core.poll: fds[1] must be a file descriptor (an integer >= 0)")
    assert.has_error(function() core.poll({1.5}, {"r"}, 0) end,
      "core.poll: fds[1] must be a file descriptor (an integer >= 0)")
    assert.has_error(function() core.poll({0}, {"read"}, 0) end,
      "core.poll: events[1] must be \"r\", \"w\" or \"rw\", not read")
    assert.has_error(function() core.poll({0}, {"r"}, 0 / 0) end)
    assert.has_error(function() core.poll("x", {}, 0) end)
  end)
end)
