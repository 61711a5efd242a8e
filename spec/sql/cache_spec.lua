-- The compiled-statement cache: the same object never recompiles; a rebuilt
-- statement of the same shape hits the structural cache and binds its own
-- values; the cache is bounded and counts hits and misses.
local qs = require("quicksilver")
local compiler = require("quicksilver.sql.compiler")
local fixtures = require("spec.sql.fixtures")

describe("compiled-statement cache", function()
  local T, u
  local engine

  setup(function()
    T = fixtures.tables()
    u = T.users.c
    engine = qs.create_engine("sqlite://")
    T.md:create_all(engine)
    engine:begin(function(c)
      c:execute(qs.insert(T.users), {{name = "a", age = 10}, {name = "b", age = 20}, {name = "c", age = 30}})
    end)
  end)
  teardown(function() engine:dispose() end)
  before_each(function() compiler.clear_cache() end)

  local function build(name, min)
    return qs.select(u.id, u.name):where(u.name:ne(name), u.age:gt(min)):order_by(u.id):limit(5)
  end

  it("hits for a rebuilt statement of the same shape, with its own values", function()
    local c1 = build("a", 5):compile()
    local s = compiler.cache_stats()
    assert.equal(1, s.misses)
    assert.equal(0, s.hits)
    local c2 = build("zz", 15):compile()
    s = compiler.cache_stats()
    assert.equal(1, s.hits)
    assert.equal(c1.sql, c2.sql)
    assert.same({"a", 5, 5, n = 3}, c1.params)
    assert.same({"zz", 15, 5, n = 3}, c2.params)
  end)

  it("runs rebuilt statements with their own values", function()
    local names = {}
    for i, min in ipairs({5, 15, 25}) do
      names[i] = engine:connect(function(c) return c:execute(build("x", min)):scalars("name"):all().n end)
    end
    assert.same({3, 2, 1}, names)
    assert.equal(2, compiler.cache_stats().hits)
  end)

  it("misses for another shape", function()
    build("a", 1):compile()
    qs.select(u.id):where(u.name:ne("a"), u.age:lt(1)):compile()        -- another operator
    qs.select(u.id, u.name):where(u.name:ne("a")):compile()               -- another clause
    assert.equal(3, compiler.cache_stats().misses)
    assert.equal(0, compiler.cache_stats().hits)
  end)

  it("keeps dialects apart", function()
    build("a", 1):compile({dialect = "sqlite"})
    local pg = build("a", 1):compile({dialect = "postgresql"})
    assert.matches("%$1", pg.sql)
    assert.equal(2, compiler.cache_stats().misses)
  end)

  it("never recompiles the same statement object", function()
    local s = build("a", 1)
    s:compile()
    s:compile()
    engine:connect(function(c) c:execute(s); c:execute(s) end)
    local st = compiler.cache_stats()
    assert.equal(1, st.misses)
    assert.equal(0, st.hits)
  end)

  it("caches DML per key set", function()
    engine:begin(function(c)
      c:execute(qs.insert(T.teams), {name = "x"})
      c:execute(qs.insert(T.teams), {name = "y"})
      c:execute(qs.update(T.teams):where(T.teams.c.name:eq("x")):values({name = "x2"}))
      c:execute(qs.update(T.teams):where(T.teams.c.name:eq("y")):values({name = "y2"}))
      c:rollback()
    end)
    local st = compiler.cache_stats()
    assert.equal(2, st.hits)
  end)

  it("shares the shape of aliases, subqueries and CTEs", function()
    local function q(v)
      local a = T.users:alias("a")
      local sq = qs.select(a.c.id):where(a.c.age:gt(v)):subquery("sq")
      local cte = qs.select(u.id):where(u.age:lt(v)):cte("young")
      return qs.select(sq.c.id):where(sq.c.id:in_(qs.select(cte.c.id)))
    end
    local c1 = q(1):compile()
    local c2 = q(2):compile()
    assert.equal(c1.sql, c2.sql)
    assert.same({1, 1, n = 2}, c1.params)
    assert.same({2, 2, n = 2}, c2.params)
    assert.equal(1, compiler.cache_stats().hits)
  end)

  it("is bounded", function()
    compiler.set_cache_size(8)
    for i = 1, 40 do
      qs.select(u.id):where(u.name:eq("n"), qs.literal_column(tostring(i)):eq(1)):compile()
    end
    assert.is_true(compiler.cache_stats().size <= 8)
    compiler.set_cache_size(500)
  end)

  it("can be turned off", function()
    compiler.set_cache_size(0)
    build("a", 1):compile()
    build("b", 2):compile()
    assert.equal(0, compiler.cache_stats().hits)
    compiler.set_cache_size(500)
  end)
end)

describe("statements derived from compiled ones", function()
  it("compile anew (no per-object cache is inherited)", function()
    local fixtures = require("spec.sql.fixtures")
    local T = fixtures.tables()
    local s = qs.select(T.users.c.id)
    assert.equal("SELECT users.id FROM users", s:compile().sql)
    local s2 = s:where(T.users.c.id:eq(1))
    assert.equal("SELECT users.id FROM users WHERE users.id = ?", s2:compile().sql)
    local cond = T.users.c.id:eq(1)
    assert.equal("users.id = ?", tostring(cond))
    assert.equal("users.id != ?", tostring(qs.not_(cond)))
    local ins = qs.insert(T.teams)
    assert.equal("INSERT INTO teams DEFAULT VALUES", ins:compile().sql)
    assert.equal("INSERT INTO teams (name) VALUES (?)", ins:values({name = "x"}):compile().sql)
  end)
end)
