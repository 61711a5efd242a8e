-- SQLite file databases are pooled (QueuePool, as SQLAlchemy 2.0): a
-- checkout reuses an open connection. Memory databases keep one shared
-- connection. Pooled connections on one file stay safe together.
local qs = require("quicksilver")
local helpers = require("spec.helpers")

describe("the SQLite file pool", function()
  after_each(helpers.cleanup)

  it("pools file databases in a QueuePool, memory databases in one connection", function()
    local file = helpers.sqlite_engine()
    assert.equal("QueuePool", getmetatable(file.pool).__name)
    local mem = qs.create_engine("sqlite://")
    assert.equal("StaticPool", getmetatable(mem.pool).__name)
    file:dispose()
  end)

  it("two checkouts in a row use one connection (a TEMP table survives)", function()
    local engine = helpers.sqlite_engine()
    engine:connect(function(c)
      c:exec_driver_sql("CREATE TEMP TABLE mine (x INTEGER)")   -- lives as long as the connection
      c:exec_driver_sql("INSERT INTO mine VALUES (7)")
      c:commit()
    end)
    local x = engine:connect(function(c) return c:exec_driver_sql("SELECT x FROM mine"):scalar() end)
    assert.equal(7, x)
    assert.equal(1, engine.pool:status_table().connects)
    engine:dispose()
  end)

  it("PRAGMAs set in the pool's connect event hold for every checkout (WAL, synchronous)", function()
    local engine = helpers.sqlite_engine()
    local connects = 0
    qs.event.listen(engine.pool, "connect", function(cconn)
      connects = connects + 1
      assert(cconn:exec("PRAGMA journal_mode = WAL"))
      assert(cconn:exec("PRAGMA synchronous = NORMAL"))
    end)
    for _ = 1, 3 do
      engine:connect(function(c)
        assert.equal("wal", c:exec_driver_sql("PRAGMA journal_mode"):scalar())
        assert.equal(1, c:exec_driver_sql("PRAGMA synchronous"):scalar())   -- NORMAL
      end)
    end
    assert.equal(1, connects)
    engine:dispose()
  end)

  it("two connections interleave reads and writes on one file", function()
    for _, wal in ipairs({false, true}) do
      local engine = helpers.sqlite_engine({busy_timeout = 2000})
      if wal then
        qs.event.listen(engine.pool, "connect", function(cconn) assert(cconn:exec("PRAGMA journal_mode = WAL")) end)
      end
      engine:begin(function(c) c:exec_driver_sql("CREATE TABLE kv (k INTEGER PRIMARY KEY, v INTEGER)") end)
      local a, b = engine:connect(), engine:connect()
      assert.equal(0, a:exec_driver_sql("SELECT count(*) FROM kv"):scalar())   -- a reads first
      b:exec_driver_sql("INSERT INTO kv VALUES (1, 1)")
      b:commit()                                                              -- b writes meanwhile
      a:exec_driver_sql("INSERT INTO kv VALUES (2, 2)")                        -- then a writes
      a:commit()
      assert.equal(2, b:exec_driver_sql("SELECT count(*) FROM kv"):scalar())
      a:close()
      b:close()
      engine:dispose()
    end
  end)

  it("a connection given back mid-write holds no lock for the next one", function()
    local engine = helpers.sqlite_engine({busy_timeout = 0})
    engine:begin(function(c) c:exec_driver_sql("CREATE TABLE w (x INTEGER)") end)
    local held = engine:connect()
    held:exec_driver_sql("INSERT INTO w VALUES (1)")   -- BEGIN sent, the write lock taken
    local stream = held:exec_driver_sql("SELECT x FROM w", nil, {yield_per = 1})
    stream:fetchone()
    held:close()                                       -- rolled back, statements ended
    local other = engine:connect()
    local keep = engine:connect()   -- another pooled connection, so other is a different one
    other:exec_driver_sql("INSERT INTO w VALUES (2)")  -- busy_timeout 0: a held lock would fail now
    other:commit()
    assert.equal(1, keep:exec_driver_sql("SELECT count(*) FROM w"):scalar())
    other:close()
    keep:close()
    engine:dispose()
  end)
end)
