-- Result, ScalarResult and MappingResult, on real rows from SQLite (buffered
-- and streamed), including the closed and exhausted states.
local qs = require("quicksilver")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("Result", function()
  local engine, conn

  setup(function()
    engine = qs.create_engine("sqlite://")
    engine:begin(function(c)
      c:execute(qs.text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, grp INTEGER)"))
      c:execute(qs.text("INSERT INTO t (id, name, grp) VALUES (:id, :name, :grp)"), {
        {id = 1, name = "a", grp = 1}, {id = 2, name = "b", grp = 1}, {id = 3, name = qs.null, grp = 2},
        {id = 4, name = "d", grp = 2}, {id = 5, name = "e", grp = 3}})
    end)
  end)
  teardown(function() engine:dispose() end)
  before_each(function() conn = engine:connect() end)
  after_each(function() conn:close() end)

  local function q(sql, opts)
    return conn:execute(qs.text(sql or "SELECT id, name, grp FROM t ORDER BY id"), nil, opts)
  end

  for _, mode in ipairs({"buffered", "streamed"}) do
    local opts = mode == "streamed" and {yield_per = 2} or nil
    describe(mode, function()
      it("all() returns every row with n, then nothing", function()
        local r = q(nil, opts)
        local rows = r:all()
        assert.equal(5, rows.n)
        assert.equal(5, #rows)
        assert.equal("b", rows[2].name)
        assert.equal(0, r:all().n)
        assert.is_nil(r:fetchone())
      end)

      it("fetchone, fetchmany and fetchall continue where the last left off", function()
        local r = q(nil, opts)
        assert.equal(1, r:fetchone().id)
        local two = r:fetchmany(3)
        assert.equal(3, two.n)
        assert.equal(4, two[3].id)
        assert.equal(1, r:fetchmany().n)
        assert.equal(0, r:fetchall().n)
      end)

      it("iterates with iter() and partitions()", function()
        local ids = {}
        for row in q(nil, opts):iter() do ids[#ids + 1] = row.id end
        assert.same({1, 2, 3, 4, 5}, ids)
        local sizes = {}
        for part in q(nil, opts):partitions(2) do sizes[#sizes + 1] = part.n end
        assert.same({2, 2, 1}, sizes)
      end)

      it("first, scalar and one", function()
        assert.equal(1, q(nil, opts):first().id)
        assert.equal(1, q(nil, opts):scalar())
        assert.equal(4, q("SELECT id FROM t WHERE id = 4", opts):scalar_one())
        assert.is_nil(q("SELECT id FROM t WHERE id = 99", opts):scalar_one_or_none())
        raises(qs.exc.NoResultFound, function() q("SELECT id FROM t WHERE id = 99", opts):one() end)
        raises(qs.exc.MultipleResultsFound, function() q(nil, opts):one() end)
        raises(qs.exc.MultipleResultsFound, function() q(nil, opts):one_or_none() end)
        assert.is_nil(q("SELECT id FROM t WHERE id = 99", opts):first())
      end)

      it("scalars keep NULLs countable", function()
        local names = q("SELECT name FROM t ORDER BY id", opts):scalars():all()
        assert.equal(5, names.n)
        assert.is_nil(names[3])
        local seen = {}
        for i, v in q("SELECT name FROM t ORDER BY id", opts):scalars():iter() do seen[i] = v or "NULL" end
        assert.same({"a", "b", "NULL", "d", "e"}, seen)
        assert.same({1, 1, 2, 2, 3, n = 5}, q(nil, opts):scalars("grp"):all())
      end)

      it("unique removes repeated rows and values", function()
        local g = q("SELECT grp FROM t ORDER BY id", opts):unique():all()
        assert.equal(3, g.n)
        local s = q("SELECT grp FROM t ORDER BY id", opts):scalars():unique():all()
        assert.same({1, 2, 3}, {s[1], s[2], s[3]})
        local byk = q(nil, opts):unique(function(row) return row.grp end):all()
        assert.same({1, 3, 5}, {byk[1].id, byk[2].id, byk[3].id})
      end)

      it("mappings give plain tables", function()
        local m = q(nil, opts):mappings():all()
        assert.equal("a", m[1].name)
        assert.is_nil(getmetatable(m[1]))
        assert.equal(2, q(nil, opts):mappings():fetchmany(2).n)
        assert.equal(1, q(nil, opts):mappings():first().id)
      end)

      it("columns() selects and reorders", function()
        local rows = q(nil, opts):columns("grp", 1):all()
        assert.equal(1, rows[1].grp)
        assert.equal(1, rows[1][2])
        assert.equal(2, #rows[1])
      end)

      it("close() makes every fetch raise", function()
        local r = q(nil, opts)
        r:close()
        r:close()
        raises(qs.exc.ResourceClosedError, function() r:fetchone() end)
        raises(qs.exc.ResourceClosedError, function() r:all() end)
      end)
    end)
  end

  it("keys lists the column names", function()
    assert.same({"id", "name", "grp"}, q():keys())
  end)

  it("a statement without rows raises on fetch and reports rowcount", function()
    local r = conn:execute(qs.text("UPDATE t SET grp = grp WHERE grp = 1"))
    assert.equal(2, r.rowcount)
    assert.is_false(r.returns_rows)
    local err = raises(qs.exc.ResourceClosedError, function() r:fetchone() end)
    assert.matches("does not return rows", err.message)
    conn:rollback()
  end)

  it("a streamed result reads at most a chunk at a time", function()
    local fetched = {}
    local r = q(nil, {yield_per = 2})
    local cur = r._cursor
    local real = cur.fetch
    cur.fetch = function(self, n) fetched[#fetched + 1] = n; return real(self, n) end
    r:fetchone()
    assert.same({2}, fetched)
    r:all()
    assert.same({2, 2, 2}, fetched)
  end)

  it("a SELECT reports rowcount -1 and inserts report lastrowid", function()
    assert.equal(-1, q().rowcount)
    local r = conn:execute(qs.text("INSERT INTO t (name, grp) VALUES ('z', 9)"))
    assert.equal(6, r.lastrowid)
    conn:rollback()
  end)

  it("engine:dispose() of a memory database ends the streaming results on its connection", function()
    local e = qs.create_engine("sqlite://")
    local c = e:connect()
    c:exec_driver_sql("CREATE TABLE n (i INTEGER)")
    c:exec_driver_sql("INSERT INTO n VALUES (1), (2), (3)")
    local r = c:exec_driver_sql("SELECT i FROM n ORDER BY i", nil, {yield_per = 1})
    assert.equal(1, r:fetchone()[1])
    e:dispose()
    helpers.assert_raises_kind(qs.exc.ResourceClosedError, function() r:fetchmany(2) end)
    c:close()
  end)
end)
