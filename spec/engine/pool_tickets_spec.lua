-- The C pool's checkout without blocking, as Lua sees it (lpool.c):
-- pool:checkout_nb() hands a connection at once or a Ticket (a place in the
-- pool's line, first come first served); ticket:take(), ticket:cancel(),
-- pool:discard(). On a SQLite file (the C pool is the same for servers).
local core = require("quicksilver.core")
local qs = require("quicksilver")
local helpers = require("spec.helpers")

describe("the pool's line of tickets", function()
  after_each(helpers.cleanup)

  local function pool(size, conf)
    conf = conf or {}
    conf.size, conf.overflow = size, conf.overflow or 0
    local p = assert(core.pool_new("sqlite", {database = helpers.tmpdb()}, conf))
    return p
  end

  -- a connection now, connected when it is new
  local function now(p)
    local c, todo = p:checkout_nb()
    assert.is_userdata(c)
    if todo == "connect" then assert(c:connect()) end
    return c
  end

  it("hands a new connection with todo 'connect', an idle one with nothing to do", function()
    local p = pool(1)
    local c, todo = p:checkout_nb()
    assert.equal("connect", todo)
    assert(c:connect())
    assert(c:exec("SELECT 1"))
    c:close()
    local c2, todo2 = p:checkout_nb()
    assert.is_nil(todo2)
    c2:close()
    assert.equal(1, p:status().connects)
    local pp = pool(1, {pre_ping = true})
    now(pp):close()
    local c3, todo3 = pp:checkout_nb()
    assert.equal("ping", todo3)
    c3:close()
  end)

  it("serves three tickets in the order they queued", function()
    local p = pool(1)
    local held = now(p)
    local tickets = {}
    for i = 1, 3 do
      local c, t = p:checkout_nb()
      assert.is_nil(c)
      assert.equal("userdata", type(t))
      assert.equal("number", type(t:fd()))
      assert.is_nil(t:take())   -- nothing handed yet
      tickets[i] = t
    end
    assert.equal(3, p:status().waiting)
    for i = 1, 3 do
      held:close()   -- handed to the head of the line, not left idle
      assert.equal(0, p:status().idle)
      for j = i + 1, 3 do assert.is_nil(tickets[j]:take()) end
      local c, todo = tickets[i]:take()
      assert.is_userdata(c)
      assert.is_nil(todo)
      held = c
    end
    held:close()
    local st = p:status()
    assert.equal(0, st.waiting)
    assert.equal(1, st.idle)
    assert.equal(1, st.connects)
  end)

  it("a spent ticket refuses to be used; cancel is idempotent", function()
    local p = pool(1)
    local held = now(p)
    local _, t = p:checkout_nb()
    held:close()
    local c = t:take()
    assert.is_userdata(c)
    local err = helpers.assert_raises_kind(qs.exc.ResourceClosedError, function() t:fd() end)
    assert.matches("ticket", err.message)
    helpers.assert_raises_kind(qs.exc.ResourceClosedError, function() t:take() end)
    t:cancel()
    t:cancel()
    c:close()
  end)

  it("a cancelled ticket passes what it was handed to the next in line", function()
    local p = pool(1)
    local held = now(p)
    local _, t1 = p:checkout_nb()
    local _, t2 = p:checkout_nb()
    held:close()   -- to t1
    t1:cancel()    -- which gives up: to t2
    local c = t2:take()
    assert.is_userdata(c)
    c:close()
    assert.equal(1, p:status().idle)
  end)

  it("a collected ticket leaves the line", function()
    local p = pool(1)
    local held = now(p)
    do
      local _, t = p:checkout_nb()
      assert.equal("userdata", type(t))
      assert.equal(1, p:status().waiting)
    end
    collectgarbage()
    collectgarbage()
    assert.equal(0, p:status().waiting)
    held:close()
    assert.equal(1, p:status().idle)   -- nobody holds it
  end)

  it("while tickets wait, a newcomer queues too (no barging)", function()
    local p = pool(1)
    local held = now(p)
    local _, t1 = p:checkout_nb()
    held:close()   -- handed to t1: nothing idle
    local c, t2 = p:checkout_nb()
    assert.is_nil(c)
    assert.equal("userdata", type(t2))
    local mine = t1:take()
    mine:close()
    assert.is_userdata((t2:take()))
  end)

  it("discard gives up a connection whose connect or ping failed; its slot goes on", function()
    local p = pool(1)
    local c, todo = p:checkout_nb()
    assert.equal("connect", todo)
    local _, t = p:checkout_nb()
    p:discard(c)
    assert.is_true(c:closed())
    local c2, todo2 = t:take()
    assert.is_userdata(c2)
    assert.equal("connect", todo2)   -- a new one opens in the freed slot
    assert(c2:connect())
    c2:close()
    assert.equal(1, p:status().open)
  end)

  it("a connection that cannot be started comes back as an error, its slot freed", function()
    local p = assert(core.pool_new("sqlite", {database = "/nonexistent-dir-qs/x.db"}, {size = 1, overflow = 0}))
    local c, todo = p:checkout_nb()
    if c then   -- SQLite may only fail at connect
      assert.equal("connect", todo)
      assert.is_nil((c:connect()))
      p:discard(c)
    else
      assert.is_true(qs.exc.is_error(todo))
    end
    assert.equal(0, p:status().open)
  end)
end)
