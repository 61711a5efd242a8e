-- Statements built with the expression language, run on every backend (the
-- behaviour suite): the rows that come back for every construct.
local qs = require("quicksilver")
local helpers = require("spec.helpers")
local fixtures = require("spec.sql.fixtures")
local raises = helpers.assert_raises_kind

describe("executing constructs on " .. helpers.backend, function()
  local engine, T, users, teams, orders, u, t, o

  setup(function()
    engine = helpers.backend_engine()
    T = fixtures.tables()
    users, teams, orders = T.users, T.teams, T.orders
    u, t, o = users.c, teams.c, orders.c
    T.md:create_all(engine)
    engine:begin(function(conn)
      conn:execute(qs.insert(teams), {{name = "red"}, {name = "blue"}, {name = "green"}})
      conn:execute(qs.insert(users), {
        {name = "ann", email = "ann@x", age = 31, team_id = 1},
        {name = "bob", email = "bob@x", age = 17, team_id = 1},
        {name = "cy", email = "cy@x", age = 45, team_id = 2},
        {name = "dee", age = 62},                      -- another key set: email, team_id absent
      })
      conn:execute(qs.insert(orders), {
        {user_id = 1, amount = 10.5}, {user_id = 1, amount = 4}, {user_id = 3, amount = 99.99}})
    end)
  end)

  teardown(function()
    T.md:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  local function all(stmt, params)
    return engine:connect(function(conn) return conn:execute(stmt, params):all() end)
  end
  local function scalars(stmt)
    return engine:connect(function(conn) return conn:execute(stmt):scalars():all() end)
  end

  it("selects with where, order_by, limit and offset", function()
    local names = scalars(qs.select(u.name):where(u.age:gt(18)):order_by(u.age:desc()):limit(2):offset(1))
    assert.same({"cy", "ann", n = 2}, names)
  end)

  it("reads NULL columns as nil", function()
    local row = all(qs.select(u.email, u.team_id):where(u.name:eq("dee")))[1]
    assert.is_nil(row.email)
    assert.is_nil(row.team_id)
    assert.equal(2, #row)
  end)

  it("joins along the foreign key", function()
    local rows = all(qs.select(u.name, t.name:label("team")):join(teams):order_by(u.name))
    assert.equal(3, #rows)
    assert.equal("ann", rows[1].name)
    assert.equal("red", rows[1].team)
  end)

  it("outer joins keep unmatched rows", function()
    local rows = all(qs.select(u.name, t.name:label("team")):outerjoin(teams):where(u.name:eq("dee")))
    assert.equal(1, #rows)
    assert.is_nil(rows[1].team)
  end)

  it("groups, counts and filters groups", function()
    local rows = all(qs.select(t.name, qs.func.count(u.id):label("n")):join_from(teams, users)
      :group_by(t.name):having(qs.func.count(u.id):ge(1)):order_by("n", t.name))
    assert.equal(2, #rows)
    assert.equal("blue", rows[1].name)
    assert.equal(1, rows[1].n)
    assert.equal(2, rows[2].n)
  end)

  it("in_, not_in and empty lists", function()
    assert.same({"ann", "cy", n = 2}, scalars(qs.select(u.name):where(u.id:in_({1, 3})):order_by(u.id)))
    assert.equal(0, #scalars(qs.select(u.name):where(u.id:in_({}))))
    assert.equal(4, #scalars(qs.select(u.name):where(u.id:not_in({}))))
  end)

  it("in_ a subquery", function()
    local buyers = qs.select(o.user_id)
    assert.same({"ann", "cy", n = 2}, scalars(qs.select(u.name):where(u.id:in_(buyers)):order_by(u.name)))
  end)

  it("exists, correlated", function()
    local has_orders = qs.exists(qs.select(o.id):where(o.user_id:eq(u.id)))
    assert.same({"ann", "cy", n = 2}, scalars(qs.select(u.name):where(has_orders):order_by(u.name)))
    assert.same({"bob", "dee", n = 2}, scalars(qs.select(u.name):where(qs.not_(has_orders)):order_by(u.name)))
  end)

  it("scalar subqueries, correlated, in the columns", function()
    local cnt = qs.select(qs.func.count(o.id)):where(o.user_id:eq(u.id)):scalar_subquery()
    local rows = all(qs.select(u.name, cnt:label("orders")):order_by(u.id))
    assert.equal(2, rows[1].orders)
    assert.equal(0, rows[2].orders)
  end)

  it("subqueries in FROM", function()
    local sq = qs.select(o.user_id, qs.func.sum(o.amount):label("total")):group_by(o.user_id):subquery("s")
    local rows = all(qs.select(u.name, sq.c.total):join_from(users, sq, u.id:eq(sq.c.user_id)):order_by(u.name))
    assert.equal(2, #rows)
    assert.equal(14.5, helpers.decimal_number(rows[1].total))
  end)

  it("self-join through an alias", function()
    local other = users:alias("other")
    local rows = all(qs.select(u.name, other.c.name:label("mate"))
      :where(u.team_id:eq(other.c.team_id), u.id:lt(other.c.id)))
    assert.equal(1, #rows)
    assert.equal("ann", rows[1].name)
    assert.equal("bob", rows[1].mate)
  end)

  it("between, like, contains, startswith, endswith, ilike", function()
    assert.same({"ann", "cy", n = 2}, scalars(qs.select(u.name):where(u.age:between(30, 50)):order_by(u.name)))
    assert.same({"bob", n = 1}, scalars(qs.select(u.name):where(u.name:like("b%"))))
    assert.same({"bob", n = 1}, scalars(qs.select(u.name):where(u.email:contains("b@"))))
    assert.same({"cy", n = 1}, scalars(qs.select(u.name):where(u.name:startswith("c"))))
    assert.same({"dee", n = 1}, scalars(qs.select(u.name):where(u.name:endswith("ee"))))
    assert.same({"ann", n = 1}, scalars(qs.select(u.name):where(u.name:ilike("ANN"))))
  end)

  it("contains matches % and _ literally", function()
    engine:begin(function(conn)
      conn:execute(qs.insert(teams), {{name = "50% off"}, {name = "50x off"}, {name = "a_b"}, {name = "axb"}})
    end)
    assert.same({"50% off", n = 1}, scalars(qs.select(t.name):where(t.name:contains("0%"))))
    assert.same({"a_b", n = 1}, scalars(qs.select(t.name):where(t.name:contains("_"))))
    engine:begin(function(conn) conn:execute(qs.delete(teams):where(t.id:gt(3))) end)
  end)

  it("case, cast, arithmetic and concatenation", function()
    local rows = all(qs.select(
      qs.case({{u.age:lt(18), "minor"}}, {else_ = "adult"}):label("kind"),
      qs.cast(u.age, qs.String(5)):label("age_text"),
      (u.age + 1):label("next"),
      (u.name .. "!"):label("shout"),
      (u.age / 2):label("half")):where(u.name:eq("bob")))
    assert.equal("minor", rows[1].kind)
    assert.equal("17", rows[1].age_text)
    assert.equal(18, rows[1].next)
    assert.equal("bob!", rows[1].shout)
    assert.equal(8.5, helpers.decimal_number(rows[1].half))
  end)

  it("floor division of integers", function()
    local floordiv = getmetatable(u.age).__idiv   -- u.age // 10 on 5.3+
    assert.same({1, n = 1}, scalars(qs.select(floordiv(u.age, 10)):where(u.name:eq("bob"))))
  end)

  it("distinct", function()
    assert.equal(2, #scalars(qs.select(u.team_id):where(u.team_id:ne(nil)):distinct()))
  end)

  it("filter_by", function()
    assert.same({"cy", n = 1}, scalars(qs.select(u.name):filter_by({age = 45})))
  end)

  it("bindparam values come from execute parameters", function()
    local stmt = qs.select(u.name):where(u.age:gt(qs.bindparam("min", nil, {type = qs.Integer}))):order_by(u.name)
    assert.same({"cy", "dee", n = 2}, engine:connect(function(c) return c:execute(stmt, {min = 40}):scalars():all() end))
    assert.same({"ann", "cy", "dee", n = 3}, engine:connect(function(c) return c:execute(stmt, {min = 20}):scalars():all() end))
  end)

  it("the same statement object executes again without recompiling", function()
    local stmt = qs.select(u.name):where(u.id:eq(1))
    local c1 = stmt:compile({dialect = "sqlite"})
    all(stmt)
    all(stmt)
    assert.equal(c1, stmt:compile({dialect = "sqlite"}))
  end)

  it("text():columns() types the result", function()
    local stmt = qs.text("SELECT 1 AS flag, 2 AS n"):columns({flag = qs.Boolean})
    local row = all(stmt)[1]
    assert.equal(true, row.flag)
    assert.equal(2, row.n)
  end)

  describe("DML", function()
    local e2, t2

    before_each(function()
      e2 = helpers.backend_engine()
      local md = qs.MetaData()
      t2 = qs.Table("items", md,
        qs.Column("id", qs.Integer, {primary_key = true}),
        qs.Column("name", qs.String(20), {nullable = false}),
        qs.Column("qty", qs.Integer, {default = 1}),
        qs.Column("code", qs.String(10), {default = function() return "gen" end}),
        qs.Column("note", qs.String(10), {server_default = "none"}),
        qs.Column("touched", qs.Integer, {onupdate = 7}))
      md:create_all(e2)
    end)
    after_each(function() e2:dispose() end)

    local function rows()
      return e2:connect(function(c)
        return c:execute(qs.select(t2):order_by(t2.c.id)):all()
      end)
    end

    it("insert reports rowcount and inserted_primary_key", function()
      e2:begin(function(c)
        local r = c:execute(qs.insert(t2):values({name = "a"}))
        assert.equal(1, r.rowcount)
        assert.same({1, n = 1}, r.inserted_primary_key)
        r = c:execute(qs.insert(t2), {id = 10, name = "b"})
        assert.same({10, n = 1}, r.inserted_primary_key)
      end)
    end)

    it("applies Lua defaults, function defaults and server defaults", function()
      e2:begin(function(c) c:execute(qs.insert(t2), {name = "a"}) end)
      local r = rows()[1]
      assert.equal(1, r.qty)
      assert.equal("gen", r.code)
      assert.equal("none", r.note)
    end)

    it("executemany groups consecutive parameter sets by their keys, keeping row order", function()
      local rec = helpers.recorder(e2)
      e2:begin(function(c)
        local r = c:execute(qs.insert(t2), {{name = "a"}, {name = "b"}, {name = "c", qty = 5}, {name = "d"}})
        assert.equal(4, r.rowcount)
      end)
      local rs = rows()
      assert.equal(4, #rs)
      assert.same({"a", "b", "c", "d"}, {rs[1].name, rs[2].name, rs[3].name, rs[4].name})
      assert.equal(1, rs[1].qty)
      assert.equal(5, rs[3].qty)
      assert.equal("gen", rs[4].code)
      local inserts = {}
      for _, s in ipairs(rec) do if s.sql:find("^INSERT") then inserts[#inserts + 1] = s end end
      assert.equal(3, #inserts)   -- one statement per run of equal key sets
      if helpers.on("sqlite") then
        assert.is_true(inserts[1].many)   -- an executemany of the prepared statement
        assert.equal(2, #inserts[1].params)
      else
        assert.matches("VALUES %(.-%), %(", inserts[1].sql)   -- one multi-row INSERT (insertmanyvalues)
      end
    end)

    it("an empty list inserts nothing", function()
      local rec = helpers.recorder(e2)
      e2:begin(function(c) c:execute(qs.insert(t2), {}) end)
      assert.equal(0, #rec)
      assert.equal(0, #rows())
    end)

    it("multi-row VALUES", function()
      e2:begin(function(c) c:execute(qs.insert(t2):values({{name = "a", qty = 2}, {name = "b", qty = 3}})) end)
      local rs = rows()
      assert.equal(2, #rs)
      assert.equal(3, rs[2].qty)
    end)

    it("insert from select", function()
      e2:begin(function(c)
        c:execute(qs.insert(t2):values({name = "src", qty = 4}))
        c:execute(qs.insert(t2):from_select({"name", "qty"},
          qs.select((t2.c.name .. "2"):label("name"), t2.c.qty * 2):where(t2.c.name:eq("src"))))
      end)
      local rs = rows()
      assert.equal("src2", rs[2].name)
      assert.equal(8, rs[2].qty)
    end)

    it("update with expressions, onupdate and rowcount", function()
      e2:begin(function(c)
        c:execute(qs.insert(t2), {{name = "a", qty = 1}, {name = "b", qty = 2}})
        local r = c:execute(qs.update(t2):where(t2.c.qty:ge(1)):values({qty = t2.c.qty + 10}))
        assert.equal(2, r.rowcount)
      end)
      local rs = rows()
      assert.equal(11, rs[1].qty)
      assert.equal(12, rs[2].qty)
      assert.equal(7, rs[1].touched)
    end)

    it("update executemany with bindparam in WHERE", function()
      e2:begin(function(c)
        c:execute(qs.insert(t2), {{name = "a"}, {name = "b"}})
        local stmt = qs.update(t2):where(t2.c.id:eq(qs.bindparam("target", nil, {type = qs.Integer})))
        local r = c:execute(stmt, {{target = 1, name = "A"}, {target = 2, name = "B"}})
        assert.equal(2, r.rowcount)
      end)
      local rs = rows()
      assert.equal("A", rs[1].name)
      assert.equal("B", rs[2].name)
    end)

    it("delete with rowcount", function()
      e2:begin(function(c)
        c:execute(qs.insert(t2), {{name = "a"}, {name = "b"}, {name = "c"}})
        local r = c:execute(qs.delete(t2):where(t2.c.name:in_({"a", "c"})))
        assert.equal(2, r.rowcount)
      end)
      assert.equal(1, #rows())
    end)

    it("returning where the dialect has it", function()
      if helpers.on("mysql") then return end
      local r = e2:begin(function(c)
        return c:execute(qs.insert(t2):values({name = "r"}):returning(t2.c.id, t2.c.name)):one()
      end)
      assert.equal(1, r.id)
      assert.equal("r", r.name)
    end)

    it("update without values raises ArgumentError", function()
      raises(qs.exc.ArgumentError, function()
        e2:begin(function(c) c:execute(qs.update(t2):where(t2.c.id:eq(1))) end)
      end)
    end)

    it("values naming an unknown column raises ArgumentError naming it", function()
      local err = raises(qs.exc.ArgumentError, function() qs.insert(t2):values({nmae = "x"}) end)
      assert.matches("nmae", err.message)
      err = raises(qs.exc.ArgumentError, function()
        e2:begin(function(c) c:execute(qs.insert(t2), {{name = "a", bogus = 1}}) end)
      end)
      assert.matches("bogus", err.message)
      assert.equal(0, #rows())
    end)
  end)
end)
