-- The catalog contract (dialects/support.lua): a dialect's catalog questions
-- run their SQL through a querier of five functions; a Connection gives one
-- (Connection:catalog(), engine/catalog.lua). The dialects need nothing
-- else of the engine: a querier made of plain Lua functions answers them.
local qs = require("quicksilver")
local helpers = require("spec.helpers")
local support = require("quicksilver.dialects.support")
local sqlite = require("quicksilver.dialects.sqlite")

describe("the catalog contract", function()
  local engine, conn

  before_each(function()
    engine = helpers.sqlite_engine()
    conn = engine:connect()
    conn:exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
    conn:exec_driver_sql("INSERT INTO t (name) VALUES ('a'), ('b')")
  end)

  after_each(function()
    conn:close()
    engine:dispose()
    helpers.cleanup()
  end)

  it("Connection:catalog() gives the five functions, made once", function()
    local q = conn:catalog()
    assert.equal(q, conn:catalog())
    assert.equal(2, #q.all("SELECT id, name FROM t ORDER BY id"))
    assert.equal("a", q.first("SELECT name FROM t ORDER BY id").name)
    assert.is_nil(q.first("SELECT name FROM t WHERE id = ?", {99}))
    assert.equal(2, q.scalar("SELECT count(*) FROM t"))
    local names = q.scalars("SELECT name FROM t ORDER BY name")
    assert.same({"a", "b"}, {names[1], names[2]})
    assert.is_nil(q.exec("DELETE FROM t WHERE id = ?", {1}))
    assert.equal(1, q.scalar("SELECT count(*) FROM t"))
  end)

  it("a dialect's question takes a Connection or its querier", function()
    assert.is_true(sqlite.has_table(conn, "t"))
    assert.is_true(sqlite.has_table(conn:catalog(), "t"))
    assert.is_false(sqlite.has_table(conn, "nope"))
    assert.equal("t", sqlite.get_table_names(conn)[1])
  end)

  it("a querier of plain functions answers a dialect without an engine", function()
    local sent = {}
    local q = {
      all = function() error("not expected") end,
      first = function() error("not expected") end,
      scalar = function(sql, params) sent[#sent + 1] = {sql, params}; return 1 end,
      scalars = function(sql) sent[#sent + 1] = {sql}; return {"x", "y"} end,
      exec = function(sql) sent[#sent + 1] = {sql} end,
    }
    assert.is_true(sqlite.has_table(q, "x"))
    assert.matches("sqlite_master", sent[1][1])
    assert.same({"x"}, sent[1][2])
    sqlite.drop_everything(q)
    local sqls = {}
    for i = 2, #sent do sqls[#sqls + 1] = sent[i][1] end
    assert.same({"PRAGMA foreign_keys = OFF", [[SELECT name FROM sqlite_master WHERE type = 'table' AND ]] ..
      [[name NOT LIKE 'sqlite~_%' ESCAPE '~' ORDER BY name]], 'DROP TABLE IF EXISTS x',
      'DROP TABLE IF EXISTS y', "PRAGMA foreign_keys = ON"}, sqls)
  end)

  it("every dialect answers the same questions", function()
    local names = {}
    for _, modname in ipairs({"quicksilver.dialects.sqlite", "quicksilver.dialects.postgresql",
        "quicksilver.dialects.mysql"}) do
      local d = require(modname)
      for _, question in ipairs(support.CATALOG_QUESTIONS) do
        if type(d[question]) ~= "function" then names[#names + 1] = modname .. "." .. question end
      end
    end
    assert.same({}, names)
  end)

  it("refuses what is neither a querier nor gives one, naming it", function()
    local err = helpers.assert_raises_kind(qs.exc.ArgumentError, function() sqlite.has_table({}, "t") end)
    assert.matches("expected a Connection or a catalog querier, got {}", err.message, 1, true)
    helpers.assert_raises_kind(qs.exc.ArgumentError, function() sqlite.has_table("conn", "t") end)
  end)
end)
