-- <close> scopes (Lua 5.4 only: the file is loaded through load() so that
-- other runtimes, which cannot parse <close>, skip it).
local qs = require("quicksilver")
local helpers = require("spec.helpers")

describe("<close> scopes", function()
  if _VERSION ~= "Lua 5.4" then
    pending("needs Lua 5.4")
    return
  end

  local engine
  before_each(function()
    engine = helpers.sqlite_engine()
    engine:begin(function(c) c:execute(qs.text("CREATE TABLE t (x)")) end)
  end)
  after_each(function() engine:dispose(); helpers.cleanup() end)

  local function count()
    return engine:connect(function(c) return c:execute(qs.text("SELECT count(*) FROM t")):scalar() end)
  end

  local run = assert(load([[
    local qs, engine, mode = ...
    if mode == "connect" then
      local conn <close> = engine:connect()
      conn:execute(qs.text("INSERT INTO t VALUES (1)"))
      return conn
    elseif mode == "tx-ok" then
      local conn <close> = engine:connect()
      local tx <close> = conn:begin()
      conn:execute(qs.text("INSERT INTO t VALUES (1)"))
      return conn
    elseif mode == "tx-err" then
      local conn <close> = engine:connect()
      local tx <close> = conn:begin()
      conn:execute(qs.text("INSERT INTO t VALUES (1)"))
      error("fail inside")
    elseif mode == "begin-ok" then
      local conn <close> = engine:begin()
      conn:execute(qs.text("INSERT INTO t VALUES (1)"))
    elseif mode == "begin-err" then
      local conn <close> = engine:begin()
      conn:execute(qs.text("INSERT INTO t VALUES (1)"))
      error("fail inside")
    end
  ]]))

  it("closes a connection (rolling back uncommitted work)", function()
    local conn = run(qs, engine, "connect")
    assert.is_true(conn.closed)
    assert.equal(0, count())
  end)

  it("commits a transaction on normal exit", function()
    run(qs, engine, "tx-ok")
    assert.equal(1, count())
  end)

  it("rolls back a transaction on error exit", function()
    assert.is_false(pcall(run, qs, engine, "tx-err"))
    assert.equal(0, count())
  end)

  it("engine:begin() connection commits or rolls back, then closes", function()
    run(qs, engine, "begin-ok")
    assert.equal(1, count())
    assert.is_false(pcall(run, qs, engine, "begin-err"))
    assert.equal(1, count())
  end)
end)
