-- Expanding IN, tuples and type coercion, compiled (issue 24): the SQL per
-- dialect as SQLAlchemy 2.0 renders it after its "post-compile" step (the
-- one documented difference: PostgreSQL's $n placeholders and their casts),
-- one compiled form for every length of an IN list, and what is refused.
local qs = require("quicksilver")
local compiler = require("quicksilver.sql.compiler")
local expanding = require("quicksilver.sql.expanding")

local md = qs.MetaData()
local t = qs.Table("t", md, qs.Column("id", qs.Integer, {primary_key = true}), qs.Column("name", qs.String(20)),
  qs.Column("doc", qs.Text))

local function sql(stmt, dialect) return stmt:compile({dialect = dialect}).sql end

-- The SQL and values one execution with params sends.
local function run(stmt, dialect, params)
  local c = stmt:compile({dialect = dialect})
  if not c._tpl then return c.sql, params end
  local s, vals, x = expanding.for_execution(c, c._tpl, params, false)
  local list = {}
  for i = 1, #x.keys do list[i] = vals[x.keys[i]] end
  return s, list, x.keys
end

local raises = require("spec.helpers").assert_raises_kind

describe("expanding IN", function()
  local ids = qs.select(t.c.id):where(t.c.id:in_(qs.bindparam("ids", {expanding = true})))

  it("a literal list renders its placeholders, as SQLAlchemy's expanded IN", function()
    local s = qs.select(t.c.id):where(t.c.id:in_({1, 2, 3}))
    assert.equal("SELECT t.id FROM t WHERE t.id IN (?, ?, ?)", sql(s, "sqlite"))
    assert.equal("SELECT t.id FROM t WHERE t.id IN ($1, $2, $3)", sql(s, "postgresql"))
    assert.equal("SELECT t.id FROM t WHERE t.id IN (?, ?, ?)", sql(s, "mysql"))
    local c = s:compile()
    assert.same({1, 2, 3, n = 3}, c.params)
    assert.same({"id_1_1", "id_1_2", "id_1_3"}, c.keys)
    assert.equal("SELECT t.id FROM t WHERE t.id IN (1, 2, 3)", s:compile({literal_binds = true}).sql)
  end)

  it("one compiled form serves every length of a literal list (one cache entry)", function()
    compiler.clear_cache()
    for n = 1, 6 do
      local list = {}
      for i = 1, n do list[i] = i end
      local c = qs.select(t.c.id):where(t.c.id:in_(list)):compile()
      assert.equal(n, c.params.n)
      assert.equal(n, select(2, c.sql:gsub("%?", "")))
    end
    local st = compiler.cache_stats()
    assert.equal(1, st.misses)
    assert.equal(5, st.hits)
  end)

  it("each length's SQL is written once, however the lengths recur", function()
    local before = expanding.stats().built
    for round = 1, 3 do
      for n = 1, 40 do
        local list = {}
        for i = 1, n do list[i] = i + round end
        qs.select(t.c.name):where(t.c.id:in_(list)):compile()
      end
    end
    assert.equal(40, expanding.stats().built - before)
  end)

  it("bindparam(name, {expanding = true}) shows SQLAlchemy's marker until it has a list", function()
    assert.equal("SELECT t.id FROM t WHERE t.id IN (__[POSTCOMPILE_ids])", sql(ids, "sqlite"))
    assert.same({"SELECT t.id FROM t WHERE t.id IN (?, ?)", {7, 8}, {"ids_1", "ids_2"}},
      {run(ids, "sqlite", {ids = {7, 8}})})
    local s = qs.select(t.c.id):where(t.c.id:in_(qs.bindparam("ids", {10, 20}, {expanding = true})))
    assert.equal("SELECT t.id FROM t WHERE t.id IN (?, ?)", sql(s, "sqlite"))
  end)

  it("renumbers PostgreSQL's placeholders after the list", function()
    local s = qs.select(t.c.id):where(t.c.name:eq("x"), t.c.id:in_(qs.bindparam("ids", {expanding = true})),
      t.c.id:gt(5), t.c.name:ne(qs.bindparam("n")))
    local text, values = run(s, "postgresql", {ids = {1, 2, 3}, n = "y"})
    assert.equal("SELECT t.id FROM t WHERE t.name = $1 AND t.id IN ($2, $3, $4) AND t.id > $5 AND t.name != $6", text)
    assert.same({"x", 1, 2, 3, 5, "y"}, values)
    -- a placeholder moved by the compiler after it was written ("- -x") keeps its mark
    local neg = qs.select(t.c.id):where((-(-qs.literal(2))):eq(t.c.id),
      t.c.id:in_(qs.bindparam("x", {expanding = true})))
    assert.equal("SELECT t.id FROM t WHERE - -$1::INTEGER = t.id AND t.id IN ($2, $3)",
      (run(neg, "postgresql", {x = {4, 5}})))
    -- the same list twice: one set of numbers
    local twice = qs.select(t.c.id):where(qs.or_(t.c.id:in_(qs.bindparam("ids", {expanding = true})),
      t.c.id:in_(qs.bindparam("ids", {expanding = true}))))
    assert.equal("SELECT t.id FROM t WHERE t.id IN ($1, $2) OR t.id IN ($1, $2)",
      (run(twice, "postgresql", {ids = {1, 2}})))
  end)

  it("an empty list is the dialect's empty set", function()
    local s = qs.select(t.c.id):where(t.c.name:in_({}))
    assert.equal("SELECT t.id FROM t WHERE t.name IN (SELECT 1 FROM (SELECT 1) WHERE 1!=1)", sql(s, "sqlite"))
    assert.equal("SELECT t.id FROM t WHERE t.name IN (SELECT CAST(NULL AS VARCHAR(20)) WHERE 1!=1)",
      sql(s, "postgresql"))
    assert.equal("SELECT t.id FROM t WHERE t.name IN (SELECT 1 FROM (SELECT 1) AS _empty_set WHERE 1!=1)",
      sql(s, "mysql"))
    assert.equal("SELECT t.id FROM t WHERE t.id IN (SELECT CAST(NULL AS INTEGER) WHERE 1!=1)",
      (run(ids, "postgresql", {ids = {}})))
    assert.equal("SELECT t.id FROM t WHERE t.id NOT IN (SELECT 1 FROM (SELECT 1) WHERE 1!=1)",
      sql(qs.select(t.c.id):where(t.c.id:not_in({})), "sqlite"))
  end)

  it("a list holding SQL expressions keeps one element each", function()
    local s = qs.select(t.c.id):where(t.c.id:in_({t.c.id, 5}))
    assert.equal("SELECT t.id FROM t WHERE t.id IN (t.id, ?)", sql(s, "sqlite"))
    assert.is_nil(s:compile()._tpl)
    -- an untyped left side with values of several Lua types: one bind each, typed by its value
    assert.equal("SELECT x WHERE x IN ($1::INTEGER, $2, $3::FLOAT)",
      sql(qs.select(qs.literal_column("x")):where(qs.literal_column("x"):in_({1, "a", 2.5})), "postgresql"))
  end)

  it("refuses what it cannot take, by name", function()
    local err = raises(qs.exc.ArgumentError, function() run(ids, "sqlite", {ids = 5}) end)
    assert.truthy(err.message:find("'ids'", 1, true))
    err = raises(qs.exc.ArgumentError, function() run(ids, "sqlite", {}) end)
    assert.truthy(err.message:find("'ids'", 1, true))
    err = raises(qs.exc.ArgumentError, function() t.c.id:in_(qs.bindparam("ids")) end)
    assert.truthy(err.message:find("'ids' is not expanding", 1, true))
    err = raises(qs.exc.CompileError, function()
      sql(qs.select(t.c.id):where(t.c.id:eq(qs.bindparam("one", {expanding = true}))), "sqlite")
    end)
    assert.truthy(err.message:find("'one' is expanding", 1, true))
    err = raises(qs.exc.ArgumentError, function() qs.bindparam("ids", 5, {expanding = true}) end)
    assert.truthy(err.message:find("'ids'", 1, true))
    err = raises(qs.exc.ArgumentError, function() qs.bindparam("ids", {expanding = "yes"}) end)
    assert.truthy(err.message:find("expanding", 1, true))
    err = raises(qs.exc.ArgumentError, function() qs.bindparam("ids", {expandng = true, type = qs.Integer}) end)
    assert.truthy(err.message:find("expandng", 1, true))
  end)
end)

describe("text() with a list after IN", function()
  local q = qs.text("SELECT id FROM t WHERE name = :n AND id IN :ids")

  it("expands a list bound to a parameter written after IN", function()
    assert.equal("SELECT id FROM t WHERE name = $1 AND id IN ($2, $3)",
      (run(q, "postgresql", {n = "a", ids = {1, 2}})))
    assert.equal("SELECT id FROM t WHERE name = ? AND id IN (?, ?, ?)", (run(q, "sqlite", {n = "a", ids = {1, 2, 3}})))
    assert.equal("SELECT id FROM t WHERE name = ? AND id IN (SELECT 1 FROM (SELECT 1) WHERE 1!=1)",
      (run(q, "sqlite", {n = "a", ids = {}})))
    -- one value: the parentheses SQL needs
    assert.equal("SELECT id FROM t WHERE name = ? AND id IN (?)", (run(q, "sqlite", {n = "a", ids = 4})))
    assert.equal("SELECT id FROM t WHERE name = ? AND id IN (?)", sql(q, "sqlite"))
  end)

  it("finds IN in any case, across comments and lines, and not in quotes or other words", function()
    local c = qs.text("SELECT 1 FROM t WHERE id in /* c */\n :a AND x = ':b IN :c' AND y JOIN :d")
    local s = run(c, "sqlite", {a = {1, 2}, d = 3})
    assert.equal("SELECT 1 FROM t WHERE id in /* c */\n (?, ?) AND x = ':b IN :c' AND y JOIN ?", s)
  end)

  it("refuses a list bound elsewhere, naming the parameter, unless its type takes tables", function()
    local err = raises(qs.exc.ArgumentError, function()
      expanding.check_text_lists(qs.text("SELECT :x"):compile(), {x = {1, 2}})
    end)
    assert.truthy(err.message:find("'x'", 1, true))
    expanding.check_text_lists(qs.text("SELECT :x"):bindparams(qs.bindparam("x", nil, {type = qs.JSON})):compile(),
      {x = {1, 2}})
  end)
end)

describe("qs.tuple_", function()
  local pair = qs.tuple_(t.c.id, t.c.name)

  it("IN a list of lists: VALUES on SQLite, row values elsewhere", function()
    local s = qs.select(t.c.id):where(pair:in_({{1, "a"}, {2, "b"}}))
    assert.equal("SELECT t.id FROM t WHERE (t.id, t.name) IN (VALUES (?, ?), (?, ?))", sql(s, "sqlite"))
    assert.equal("SELECT t.id FROM t WHERE (t.id, t.name) IN (($1, $2), ($3, $4))", sql(s, "postgresql"))
    assert.equal("SELECT t.id FROM t WHERE (t.id, t.name) IN ((?, ?), (?, ?))", sql(s, "mysql"))
    assert.same({1, "a", 2, "b", n = 4}, s:compile().params)
    assert.equal("SELECT t.id FROM t WHERE (t.id, t.name) IN ((1, 'a'), (2, 'b'))",
      s:compile({dialect = "postgresql", literal_binds = true}).sql)
    local x = qs.literal_column("x")
    assert.equal("SELECT x FROM t WHERE (x, t.id) IN (VALUES ('a', 1))",
      qs.select(x):where(qs.tuple_(x, t.c.id):in_({{"a", 1}})):compile({literal_binds = true}).sql)
  end)

  it("an empty list: the dialect's empty set of rows", function()
    local s = qs.select(t.c.id):where(pair:in_({}))
    assert.equal("SELECT t.id FROM t WHERE (t.id, t.name) IN (SELECT 1, 1 FROM (SELECT 1, 1) WHERE 1!=1)",
      sql(s, "sqlite"))
    assert.equal("SELECT t.id FROM t WHERE (t.id, t.name) IN (SELECT CAST(NULL AS INTEGER), " ..
      "CAST(NULL AS VARCHAR(20)) WHERE 1!=1)", sql(s, "postgresql"))
    assert.equal("SELECT t.id FROM t WHERE (t.id, t.name) IN (SELECT _in_0, _in_1 FROM (SELECT 1 AS _in_0, " ..
      "1 AS _in_1) AS _empty_set WHERE 1!=1)", sql(s, "mysql"))
  end)

  it("with an expanding bind, a SELECT, and in comparisons", function()
    local s = qs.select(t.c.id):where(pair:in_(qs.bindparam("p", {expanding = true})))
    assert.equal("SELECT t.id FROM t WHERE (t.id, t.name) IN ((?, ?))", (run(s, "mysql", {p = {{1, "a"}}})))
    assert.equal("SELECT t.id FROM t WHERE (t.id, t.name) IN (SELECT t.id, t.name FROM t)",
      sql(qs.select(t.c.id):where(pair:in_(qs.select(t.c.id, t.c.name))), "sqlite"))
    assert.equal("SELECT t.id FROM t WHERE (t.id, t.name) = (?, ?)", sql(qs.select(t.c.id):where(pair:eq({1, "a"})), "sqlite"))
    assert.equal("SELECT t.id FROM t WHERE (t.id, t.name) < (?, ?)",
      sql(qs.select(t.c.id):where(pair:lt(qs.tuple_(1, "a"))), "mysql"))
  end)

  it("refuses a member count that differs, naming it", function()
    local err = raises(qs.exc.ArgumentError, function() pair:in_({{1, "a"}, {2}}) end)
    assert.truthy(err.message:find("element 2 has 1 values, the tuple has 2", 1, true))
    err = raises(qs.exc.ArgumentError, function() pair:eq({1, "a", 3}) end)
    assert.truthy(err.message:find("2 members compared with a list of 3", 1, true))
    local s = qs.select(t.c.id):where(pair:in_(qs.bindparam("p", {expanding = true})))
    err = raises(qs.exc.ArgumentError, function() run(s, "sqlite", {p = {{1, "a", 3}}}) end)
    assert.truthy(err.message:find("'p': element 1 has 3 values", 1, true))
  end)
end)

describe("type_coerce, func type_ and literal types", function()
  it("type_coerce renders no CAST and types the result", function()
    local s = qs.select(qs.type_coerce(t.c.doc, qs.JSON), qs.type_coerce(t.c.id + 1, qs.String))
    assert.equal("SELECT t.doc AS doc, t.id + ? AS anon_1 FROM t", sql(s, "sqlite"))
    local c = s:compile()
    assert.equal("JSON", c.result_types[1]._t)
    assert.equal("VARCHAR", c.result_types[2]._t)
    -- a bound value is bound as the type (PostgreSQL's cast says so)
    assert.equal("SELECT $1::JSON AS anon_1", sql(qs.select(qs.type_coerce(qs.literal('{"a":1}'), qs.JSON)), "postgresql"))
    -- JSON access through the coerced type
    assert.equal("SELECT t.id FROM t WHERE JSON_EXTRACT(t.doc, ?) = ?",
      sql(qs.select(t.c.id):where(qs.type_coerce(t.c.doc, qs.JSON):get("a"):as_string():eq("x")), "sqlite"))
  end)

  it("func.x(..., {type_ = T}) types the result; other options are refused by name", function()
    local c = qs.select(qs.func.foo(t.c.id, {type_ = qs.JSON}), qs.func.count(t.c.id, {type_ = qs.String})):compile()
    assert.equal("SELECT foo(t.id) AS foo_1, count(t.id) AS count_1 FROM t", c.sql)
    assert.equal("JSON", c.result_types[1]._t)
    assert.equal("VARCHAR", c.result_types[2]._t)
    local err = raises(qs.exc.ArgumentError, function() qs.func.foo(1, {type_ = qs.String, bad = 1}) end)
    assert.truthy(err.message:find("'bad'", 1, true))
    err = raises(qs.exc.ArgumentError, function() qs.func.foo(1, {type = qs.String}) end)
    assert.truthy(err.message:find("type_", 1, true))
  end)

  it("literal(v, T) binds v as T and types the result", function()
    local c = qs.select(qs.literal({x = 5}, qs.JSON), qs.literal(5, qs.String)):compile({dialect = "postgresql"})
    assert.equal("SELECT $1::JSON AS anon_1, $2::VARCHAR AS anon_2", c.sql)
    assert.equal("JSON", c.result_types[1]._t)
  end)
end)
