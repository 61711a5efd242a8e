-- The operators of issue 24 run on each backend (QS_BACKEND): op()/bool_op(),
-- regexp_match / regexp_replace (SQLite through the functions the driver
-- registers), collate, is_distinct_from, the simple CASE, FILTER (emulated
-- on MariaDB) and WITHIN GROUP (PostgreSQL; MariaDB under OVER; refused on
-- SQLite).
local qs = require("quicksilver")
local helpers = require("spec.helpers")

local backend = helpers.backend

describe("operators on " .. backend, function()
  local engine, t, c

  before_each(function()
    engine = helpers.backend_engine()
    local md = qs.MetaData()
    t = qs.Table("ops_t", md, qs.Column("id", qs.Integer, {primary_key = true, autoincrement = false}),
      qs.Column("name", qs.String(20)), qs.Column("kind", qs.String(10)), qs.Column("x", qs.Integer),
      {mysql_charset = "utf8mb4"})
    c = t.c
    md:create_all(engine)
    engine:begin(function(conn)
      conn:execute(qs.insert(t), {
        {id = 1, name = "apple", kind = "fruit", x = 1},
        {id = 2, name = "Banana", kind = "fruit", x = 5},
        {id = 3, name = "carrot", kind = "veg", x = 10},
        {id = 4, name = "beet", kind = "veg", x = qs.null},
      })
    end)
  end)

  after_each(function()
    engine:dispose()
    helpers.cleanup()
  end)

  -- a plain list (results carry n)
  local function list(r)
    local out = {}
    for i = 1, #r do out[i] = r[i] end
    return out
  end

  local function ids(where)
    return engine:connect(function(conn)
      return list(conn:execute(qs.select(c.id):where(where):order_by(c.id)):scalars():all())
    end)
  end

  local function value(e, id)
    return engine:connect(function(conn)
      return conn:execute(qs.select(e):where(c.id:eq(id or 1))):scalar()
    end)
  end

  it("op() and bool_op() with operators every database has", function()
    assert.same({3}, ids(c.x:bool_op(">")(5)))
    assert.same({1}, ids(c.name:bool_op("LIKE")("%e")))
    assert.equal(20, value(c.x:op("*", {precedence = 8})(2), 3))
    assert.equal(13, value(c.x:op("+", {precedence = 7})(1) + 2, 3))
  end)

  it("regexp_match, its flags and its negation", function()
    assert.same({1}, ids(c.name:regexp_match("^a")))
    assert.same({1, 3}, ids(c.name:regexp_match("^(a|c)[a-z]+$")))
    assert.same({2, 4}, ids(c.name:regexp_match("^b", {flags = "i"})))
    -- MariaDB matches as the column's collation compares: case-insensitively here
    assert.same(backend == "mysql" and {2, 4} or {4}, ids(c.name:regexp_match("^b")))
    assert.same(backend == "mysql" and {1, 3} or {1, 2, 3}, ids(c.name:not_regexp_match("^b")))
    assert.same({1, 3}, ids(qs.not_(c.name:regexp_match("^b", {flags = "i"}))))
    -- a pattern that changes from row to row
    assert.same({1, 2, 3, 4}, ids(c.name:regexp_match(qs.func.substr(c.name, 2, 1))))
    assert.same({2}, ids(c.name:regexp_match("n{1}a")))
  end)

  it("regexp_replace with groups, and flags", function()
    assert.equal("a[pp]le", value(c.name:regexp_replace("(p+)", "[\\1]"), 1))
    assert.equal("Xanana", value(c.name:regexp_replace("^b", "X", {flags = "i"}), 2))
    if backend == "mysql" then
      -- MariaDB replaces every match (no g flag: PCRE has none)
      assert.equal("cXrrot", value(c.name:regexp_replace("a", "X"), 3))
      assert.equal("BXnXnX", value(c.name:regexp_replace("a", "X"), 2))
    else
      -- PostgreSQL (and SQLite, as PostgreSQL) replace the first match unless g
      assert.equal("BXnana", value(c.name:regexp_replace("a", "X"), 2))
      assert.equal("BXnXnX", value(c.name:regexp_replace("a", "X", {flags = "g"}), 2))
    end
  end)

  it("collate in ORDER BY and in a comparison", function()
    local binary = ({sqlite = "BINARY", postgresql = "C", mysql = "utf8mb4_bin"})[backend]
    local got = engine:connect(function(conn)
      return list(conn:execute(qs.select(c.name):order_by(c.name:collate(binary))):scalars():all())
    end)
    assert.same({"Banana", "apple", "beet", "carrot"}, got)
    if backend ~= "postgresql" then   -- PostgreSQL has no case-insensitive collation by default
      local ci = backend == "sqlite" and "NOCASE" or "utf8mb4_general_ci"
      assert.same({2}, ids(c.name:collate(ci):eq("BANANA")))
      assert.same({}, ids(c.name:collate(binary):eq("BANANA")))
    end
  end)

  it("is_distinct_from / is_not_distinct_from treat NULL as a value", function()
    assert.same({1, 3, 4}, ids(c.x:is_distinct_from(5)))
    assert.same({2}, ids(c.x:is_not_distinct_from(5)))
    assert.same({4}, ids(c.x:is_not_distinct_from(nil)))
    assert.same({1, 2, 3}, ids(qs.not_(c.x:is_not_distinct_from(nil))))
  end)

  it("the simple CASE, from a table and from a list of pairs", function()
    local got = engine:connect(function(conn)
      return conn:execute(qs.select(qs.case(c.kind, {fruit = "F", veg = "V"}, {else_ = "?"})):order_by(c.id))
        :scalars():all()
    end)
    assert.same({"F", "F", "V", "V"}, list(got))
    got = engine:connect(function(conn)
      return conn:execute(qs.select(qs.case(c.x, {{1, "one"}, {5, "five"}}, {else_ = "many"})):order_by(c.id))
        :scalars():all()
    end)
    assert.same({"one", "five", "many", "many"}, list(got))
  end)

  it("FILTER (WHERE ...), written or emulated, also under OVER", function()
    local row = engine:connect(function(conn)
      return conn:execute(qs.select(qs.func.count(c.id):filter(c.x:gt(2)), qs.func.count():filter(c.kind:eq("veg")),
        qs.func.sum(c.x):filter(c.kind:eq("fruit")), qs.func.count(c.kind:distinct()):filter(c.x:lt(100)))):first()
    end)
    assert.equal(2, row[1])
    assert.equal(2, row[2])
    assert.equal(6, tonumber(row[3]))
    assert.equal(2, row[4])
    local per = engine:connect(function(conn)
      return conn:execute(qs.select(c.id, qs.func.count(c.id):filter(c.x:gt(2)):over({partition_by = c.kind}))
        :order_by(c.id)):all()
    end)
    local counts = {}
    for i, r in ipairs(per) do counts[i] = r[2] end
    assert.same({1, 1, 1, 1}, counts)
  end)

  it("WITHIN GROUP: PostgreSQL's aggregates, MariaDB's window functions, refused on SQLite", function()
    if backend == "postgresql" then
      local row = engine:connect(function(conn)
        return conn:execute(qs.select(qs.func.percentile_cont(0.5):within_group(c.x),
          qs.func.percentile_disc(0.5):within_group(c.x:desc()), qs.func.mode():within_group(c.kind))):first()
      end)
      assert.equal(5, row[1])
      assert.equal(5, row[2])
      assert.truthy(row[3] == "fruit" or row[3] == "veg")
    elseif backend == "mysql" then
      local got = engine:connect(function(conn)
        -- MariaDB takes no parameter there (error 4104): a CAST types it
        return conn:execute(qs.select(c.id, qs.func.percentile_cont(qs.cast(0.5, qs.Float)):within_group(c.x)
          :over({partition_by = c.kind})):order_by(c.id)):all()
      end)
      assert.equal(3, tonumber(got[1][2]))
      assert.equal(10, tonumber(got[3][2]))
      local err = helpers.assert_raises_kind(qs.exc.CompileError, function()
        return value(qs.func.percentile_cont(0.5):within_group(c.x))
      end)
      assert.truthy(tostring(err):find("WITHIN GROUP", 1, true))
    else
      local err = helpers.assert_raises_kind(qs.exc.CompileError, function()
        return value(qs.func.percentile_cont(0.5):within_group(c.x))
      end)
      assert.truthy(tostring(err):find("WITHIN GROUP", 1, true))
    end
  end)

  it("SQLite's regexp functions: NULL in, NULL out; a bad pattern or flag is an error", function()
    if backend ~= "sqlite" then return end
    engine:connect(function(conn)
      local function one(sql) return conn:execute(qs.text(sql)):scalar() end
      assert.is_nil(one("SELECT regexp('a', NULL)"))
      assert.is_nil(one("SELECT NULL REGEXP 'a'"))
      assert.is_nil(one("SELECT regexp_replace('abc', NULL, 'x')"))
      assert.equal(1, one("SELECT 'a.b' REGEXP '^a[.]b$'"))
      assert.equal(0, one("SELECT regexp('^A', 'abc', 'c')"))
      assert.equal("x-b-x", one("SELECT regexp_replace('a-b-a', 'a', 'x', 'g')"))
      assert.equal("[a]-b", one("SELECT regexp_replace('a-b', 'a', '[\\&]')"))
      assert.equal("-a-b-c-", one("SELECT regexp_replace('abc', 'x*', '-', 'g')"))
      assert.equal("line\nX", one("SELECT regexp_replace('line' || char(10) || 'two', '^two$', 'X', 'n')"))
      local ok, err = pcall(one, "SELECT regexp('(', 'x')")
      assert.is_false(ok)
      assert.truthy(tostring(err):find("regexp: invalid pattern", 1, true), tostring(err))
      ok, err = pcall(one, "SELECT regexp('a', 'a', 'q')")
      assert.is_false(ok)
      assert.truthy(tostring(err):find("regexp: unsupported flag 'q'", 1, true), tostring(err))
      ok, err = pcall(one, "SELECT regexp('a', 'a', 'g')")
      assert.is_false(ok)
      assert.truthy(tostring(err):find("unsupported flag 'g'", 1, true), tostring(err))
    end)
  end)
end)
