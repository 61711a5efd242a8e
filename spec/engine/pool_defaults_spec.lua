-- The QueuePool's defaults are written once, in C (qs_pool_conf_defaults):
-- core.pool_defaults() shows them, the Lua pool builds its conf from them, and
-- a C pool made with an empty conf has the same. Each test below fails when
-- one side says something else.
local core = require("quicksilver.core")
local pool_mod = require("quicksilver.engine.pool")
local helpers = require("spec.helpers")

-- docs/POOL.md's knob -> the key of core.pool_defaults()
local DOC_KEYS = {pool_size = "size", max_overflow = "overflow", pool_timeout = "timeout",
  pool_recycle = "recycle", pool_pre_ping = "pre_ping", pool_use_lifo = "lifo"}

local KEYS = {"size", "overflow", "timeout", "recycle", "lifo", "pre_ping", "reset_on_return"}

describe("the pool defaults", function()
  after_each(helpers.cleanup)

  it("are SQLAlchemy's QueuePool defaults, with nothing else in the table", function()
    local d = core.pool_defaults()
    assert.same({size = 5, overflow = 10, timeout = 30, recycle = -1, lifo = false,
      pre_ping = false, reset_on_return = true}, d)
  end)

  it("come as a new table each time: changing one changes no pool", function()
    local d = core.pool_defaults()
    d.size = 99
    assert.equal(5, core.pool_defaults().size)
    local p = assert(core.pool_new("sqlite", {database = helpers.tmpdb()}, {}))
    assert.equal(5, p:status().size)
    p:release()
  end)

  it("are what a C pool gets for every field its conf leaves out", function()
    local d = core.pool_defaults()
    local p = assert(core.pool_new("sqlite", {database = helpers.tmpdb()}, {}))
    local st = p:status()
    assert.equal(d.size, st.size)
    assert.equal(d.overflow, st.overflow)
    p:release()
    -- a field of the wrong type keeps its default too
    p = assert(core.pool_new("sqlite", {database = helpers.tmpdb()}, {size = "many", overflow = 2}))
    st = p:status()
    assert.equal(d.size, st.size)
    assert.equal(2, st.overflow)
    p:release()
  end)

  it("are the Lua QueuePool's conf when create_engine is given no pool options", function()
    local engine = helpers.sqlite_engine()
    local conf, d = engine.pool._conf, core.pool_defaults()
    for _, k in ipairs(KEYS) do assert.equal(d[k], conf[k], k) end
    assert.equal(d.timeout, engine.pool._timeout)   -- the pool_wait loop's deadline
    assert.equal(d.reset_on_return, engine.pool._reset_on_return)
    local st = engine.pool:status_table()
    assert.equal(d.size, st.size)
    assert.equal(d.overflow, st.overflow)
    engine:dispose()
  end)

  it("let a Lua pool without options attach to a shared pool made by C's defaults", function()
    -- the shared pool compares every setting: a Lua default that differs
    -- from C's would be refused here, naming the setting
    local path, name = helpers.tmpdb(), "pool-defaults-spec"
    local c = assert(core.pool_shared(name, "sqlite", {database = path}, {}))
    local lua_pool = pool_mod.create("queue", nil, {driver = "sqlite",
      connect_args = {database = path}, shared_pool = name})
    assert.equal(c:status().size, lua_pool:status_table().size)
    lua_pool:dispose()
    -- and a setting that differs is refused, so the check above can fail
    local ok, err = pcall(pool_mod.create, "queue", nil, {driver = "sqlite",
      connect_args = {database = path}, shared_pool = name, pool_size = 6})
    assert.is_false(ok)
    assert.matches("pool_size 5, not 6", tostring(err), 1, true)
    c:release()
  end)

  it("are the defaults docs/POOL.md tells", function()
    local f = assert(io.open("docs/POOL.md"))
    local text = f:read("*a")
    f:close()
    local d, seen = core.pool_defaults(), 0
    for knob, value in text:gmatch("\n| `([%w_]+)` | ([^|]-) |") do
      local key = DOC_KEYS[knob]
      if key then
        seen = seen + 1
        local want = d[key]
        if type(want) == "boolean" then
          assert.equal(tostring(want), value, knob)
        else
          assert.equal(want, tonumber(value), knob)
        end
      end
    end
    assert.equal(6, seen)
  end)
end)
