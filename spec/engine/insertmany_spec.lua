-- engine/insertmany.lua: an executemany of a one-row INSERT goes as
-- multi-row INSERTs sized by the dialect's capabilities (page size, bind
-- parameters per statement), never by a number of its own. On SQLite, with
-- a dialect whose caps are made small, so the batching shows.
local qs = require("quicksilver")
local helpers = require("spec.helpers")
local insertmany = require("quicksilver.engine.insertmany")

describe("insertmany", function()
  describe("rows_per_statement", function()
    it("takes the page size when the parameters allow it", function()
      assert.equal(1000, insertmany.rows_per_statement({insertmanyvalues_page_size = 1000, max_params = 65535}, 3))
    end)

    it("stays within max_params for wide rows", function()
      -- 65535 / 100 parameters per row = 655 rows
      assert.equal(655, insertmany.rows_per_statement({insertmanyvalues_page_size = 1000, max_params = 65535}, 100))
      assert.equal(2, insertmany.rows_per_statement({insertmanyvalues_page_size = 10, max_params = 5}, 2))
    end)

    it("an explicit page size wins over the dialect's", function()
      assert.equal(7, insertmany.rows_per_statement({insertmanyvalues_page_size = 1000, max_params = 100}, 1, 7))
    end)

    it("sends at least one row, even when one row exceeds max_params", function()
      assert.equal(1, insertmany.rows_per_statement({insertmanyvalues_page_size = 10, max_params = 2}, 5))
      assert.equal(3, insertmany.rows_per_statement({insertmanyvalues_page_size = 3, max_params = 10}, 0))
    end)
  end)

  describe("applies", function()
    local md, t
    before_each(function()
      md = qs.MetaData()
      t = qs.Table("t", md, qs.Column("id", qs.Integer, {primary_key = true}), qs.Column("v", qs.String))
    end)
    local batching = {insertmanyvalues_page_size = 10, max_params = 100}

    it("to a plain INSERT on a dialect with a page size", function()
      assert.is_true(insertmany.applies(batching, qs.insert(t)))
    end)

    it("not where the dialect has no page size (SQLite)", function()
      assert.is_false(insertmany.applies(require("quicksilver.dialects.sqlite").caps, qs.insert(t)))
    end)

    it("not to INSERTs with values of their own, RETURNING, upserts, UPDATE or DELETE", function()
      assert.is_false(insertmany.applies(batching, qs.insert(t):values({v = "x"})))
      assert.is_false(insertmany.applies(batching, qs.insert(t):returning(t.c.id)))
      assert.is_false(insertmany.applies(batching, qs.insert(t):on_conflict_do_nothing()))
      assert.is_false(insertmany.applies(batching, qs.update(t)))
      assert.is_false(insertmany.applies(batching, qs.delete(t)))
    end)
  end)

  describe("execute through a Connection", function()
    local engine, md, t, conn, rec

    before_each(function()
      engine = helpers.sqlite_engine()
      md = qs.MetaData()
      t = qs.Table("items", md, qs.Column("id", qs.Integer, {primary_key = true}),
        qs.Column("name", qs.String), qs.Column("tag", qs.String, {default = function() return "d" end}))
      md:create_all(engine)
      conn = engine:connect()
      -- the SQLite dialect with small batching caps
      local real = conn.dialect
      local caps = {insertmanyvalues_page_size = 3, max_params = 4}
      setmetatable(caps, {__index = real.caps})
      conn.dialect = setmetatable({caps = caps}, {__index = real})
      rec = helpers.recorder(engine)
    end)

    after_each(function()
      conn:close()
      engine:dispose()
      helpers.cleanup()
    end)

    it("sends rows in batches sized by max_params, in order", function()
      local rows = {}
      for i = 1, 5 do rows[i] = {id = i, name = "n" .. i} end
      -- id, name and the Lua default tag: 3 parameters a row, 4 allowed: one row a statement
      local r = conn:execute(qs.insert(t), rows)
      assert.equal(5, r.rowcount)
      assert.equal(5, #helpers.matching(rec, "^INSERT"))
      local names = conn:execute(qs.select(t.c.name, t.c.tag):order_by(t.c.id)):all()
      assert.equal("n5", names[5][1])
      assert.equal("d", names[1][2])
    end)

    it("fills a batch up to the page size", function()
      local rows = {}
      for i = 1, 7 do rows[i] = {name = "n" .. i, tag = "t"} end
      conn.dialect.caps = setmetatable({insertmanyvalues_page_size = 3, max_params = 100},
        {__index = conn.dialect.caps})
      local r = conn:execute(qs.insert(t), rows)
      assert.equal(7, r.rowcount)
      local sqls = helpers.matching(rec, "^INSERT")
      assert.equal(3, #sqls)   -- 3 + 3 + 1 rows
      assert.matches("VALUES %(%?, %?%), %(%?, %?%), %(%?, %?%)$", sqls[1])
      assert.matches("VALUES %(%?, %?%)$", sqls[3])
      assert.equal(7, conn:execute(qs.select(qs.func.count()):select_from(t)):scalar())
    end)
  end)
end)
