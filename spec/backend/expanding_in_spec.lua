-- Expanding IN, tuples and type coercion, executed (issue 24): lists given
-- at execution to one compiled statement (every length, empty ones too),
-- text() IN :ids, tuple IN and comparisons, executemany refusing expanding
-- parameters, and results converted by type_coerce / func type_ / literal.
local qs = require("quicksilver")
local compiler = require("quicksilver.sql.compiler")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("expanding IN on " .. helpers.backend, function()
  local engine, md, t

  before_each(function()
    engine = helpers.backend_engine()
    md = qs.MetaData()
    t = qs.Table("h5_items", md, qs.Column("id", qs.Integer, {primary_key = true, autoincrement = false}),
      qs.Column("name", qs.String(20)), qs.Column("doc", qs.Text))
    md:create_all(engine)
    engine:begin(function(c)
      c:execute(qs.insert(t), {{id = 1, name = "a", doc = '{"a":1}'}, {id = 2, name = "b", doc = '{"b":2}'},
        {id = 3, name = "c", doc = "[1,2]"}})
    end)
  end)

  after_each(function()
    md:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  local function ids_of(c, stmt, params)
    return table.concat(c:execute(stmt, params):scalars():all(), ",")
  end

  it("one statement with an expanding bind, lists of every length; compiled once", function()
    local stmt = qs.select(t.c.id):where(t.c.id:in_(qs.bindparam("ids", {expanding = true}))):order_by(t.c.id)
    local neg = qs.select(t.c.id):where(t.c.id:not_in(qs.bindparam("ids", {expanding = true}))):order_by(t.c.id)
    engine:connect(function(c)
      compiler.clear_cache()
      assert.equal("1,3", ids_of(c, stmt, {ids = {1, 3}}))
      assert.equal("2", ids_of(c, stmt, {ids = {2}}))
      assert.equal("", ids_of(c, stmt, {ids = {}}))
      assert.equal("1,2,3", ids_of(c, stmt, {ids = {3, 2, 1, 9}}))
      assert.equal("1,2,3", ids_of(c, neg, {ids = {}}))
      assert.equal("2", ids_of(c, neg, {ids = {1, 3}}))
      assert.equal(2, compiler.cache_stats().misses)   -- stmt and neg, once each
    end)
  end)

  it("literal lists of every length share one compiled form", function()
    engine:connect(function(c)
      compiler.clear_cache()
      for n = 0, 4 do
        local list = {}
        for i = 1, n do list[i] = i end
        local rows = c:execute(qs.select(t.c.id):where(t.c.id:in_(list))):all()
        assert.equal(math.min(n, 3), #rows)
      end
      local st = compiler.cache_stats()
      assert.equal(1, st.misses)
      assert.equal(4, st.hits)
      -- strings, typed like the column
      assert.equal("1,3", ids_of(c, qs.select(t.c.id):where(t.c.name:in_({"a", "c"})):order_by(t.c.id)))
    end)
  end)

  it("UPDATE and DELETE with expanding binds; executemany refuses them by name", function()
    engine:begin(function(c)
      local upd = qs.update(t):where(t.c.id:in_(qs.bindparam("ids", {expanding = true}))):values({name = "z"})
      assert.equal(2, c:execute(upd, {ids = {1, 2}}).rowcount)
      local err = raises(qs.exc.InvalidRequestError, function()
        c:execute(qs.update(t):where(t.c.id:in_(qs.bindparam("ids", {expanding = true})))
          :values({name = qs.bindparam("n")}), {{ids = {1}, n = "x"}, {ids = {2}, n = "y"}})
      end)
      assert.truthy(err.message:find("'ids'", 1, true))
      assert.truthy(err.message:find("executemany", 1, true))
      c:execute(qs.delete(t):where(t.c.id:in_(qs.bindparam("ids", {expanding = true}))), {ids = {3}})
      -- the transaction goes on
      assert.equal("z,z", table.concat(c:execute(qs.select(t.c.name):order_by(t.c.id)):scalars():all(), ","))
    end)
  end)

  it("text() with a list after IN", function()
    local q = qs.text("SELECT id FROM h5_items WHERE name = :n OR id IN :ids ORDER BY id")
    engine:connect(function(c)
      assert.equal("1,3", ids_of(c, q, {n = "a", ids = {3}}))
      assert.equal("1,2,3", ids_of(c, q, {n = "x", ids = {1, 2, 3}}))
      assert.equal("", ids_of(c, q, {n = "x", ids = {}}))
      assert.equal("2", ids_of(c, q, {n = "x", ids = 2}))
      local err = raises(qs.exc.ArgumentError, function()
        c:execute(qs.text("SELECT id FROM h5_items WHERE id = :one"), {one = {1, 2}})
      end)
      assert.truthy(err.message:find("'one'", 1, true))
      err = raises(qs.exc.InvalidRequestError, function()
        c:execute(qs.text("UPDATE h5_items SET name = :n WHERE id IN :ids"), {{n = "x", ids = {1}}, {n = "y", ids = {2}}})
      end)
      assert.truthy(err.message:find("'ids'", 1, true))
    end)
  end)

  it("tuple_ IN, NOT IN, expanding and comparisons", function()
    local pair = qs.tuple_(t.c.id, t.c.name)
    engine:connect(function(c)
      assert.equal("1", ids_of(c, qs.select(t.c.id):where(pair:in_({{1, "a"}, {2, "x"}}))))
      assert.equal("2", ids_of(c, qs.select(t.c.id):where(pair:in_(qs.bindparam("p", {expanding = true}))),
        {p = {{2, "b"}, {5, "e"}}}))
      assert.equal("", ids_of(c, qs.select(t.c.id):where(pair:in_({}))))
      assert.equal("1,2,3", ids_of(c, qs.select(t.c.id):where(pair:not_in({})):order_by(t.c.id)))
      assert.equal("2,3", ids_of(c, qs.select(t.c.id):where(pair:not_in({{1, "a"}})):order_by(t.c.id)))
      assert.equal("1", ids_of(c, qs.select(t.c.id):where(pair:eq({1, "a"}))))
      assert.equal("2,3", ids_of(c, qs.select(t.c.id):where(pair:gt(qs.tuple_(1, "a"))):order_by(t.c.id)))
      local err = raises(qs.exc.ArgumentError, function()
        c:execute(qs.select(t.c.id):where(pair:in_(qs.bindparam("p", {expanding = true}))), {p = {{1}}})
      end)
      assert.truthy(err.message:find("'p'", 1, true))
    end)
  end)

  it("type_coerce, func type_ and literal(v, T) convert results", function()
    engine:connect(function(c)
      local doc = c:execute(qs.select(qs.type_coerce(t.c.doc, qs.JSON)):where(t.c.id:eq(1))):one().doc
      assert.same({a = 1}, doc)
      -- the bound string is processed as JSON (a JSON string) and comes back the same string
      assert.equal('{"a":1}', c:execute(qs.select(qs.type_coerce(qs.literal('{"a":1}'), qs.JSON))):scalar())
      assert.same({a = 1}, c:execute(qs.select(qs.type_coerce({a = 1}, qs.JSON))):scalar())
      assert.same({b = 2}, c:execute(qs.select(qs.func.lower(t.c.doc, {type_ = qs.JSON})):where(t.c.id:eq(2))):scalar())
      assert.same({x = 5}, c:execute(qs.select(qs.literal({x = 5}, qs.JSON))):scalar())
      -- (no CAST is written: PostgreSQL's JSON operators need qs.cast on a TEXT column)
    end)
  end)
end)
