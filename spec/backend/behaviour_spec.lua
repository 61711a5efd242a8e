-- The shared behaviour suite (SQLAlchemy's testing/suite): the same specs on
-- every backend. `make test` runs this folder once per backend in
-- QS_BACKENDS, against servers spec/support/servers.sh starts.
local qs = require("quicksilver")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("behaviour on " .. helpers.backend, function()
  local engine, md, users, teams, u

  before_each(function()
    engine = helpers.backend_engine()
    md = qs.MetaData()
    teams = qs.Table("teams", md,
      qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("name", qs.String(30), {nullable = false, unique = true}))
    users = qs.Table("users", md,
      qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("name", qs.String(50), {nullable = false}),
      qs.Column("age", qs.Integer),
      qs.Column("active", qs.Boolean, {default = true}),
      qs.Column("team_id", qs.Integer, qs.ForeignKey("teams.id", {ondelete = "CASCADE"})))
    u = users.c
    md:create_all(engine)
  end)

  after_each(function()
    md:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  local function count(tbl)
    return engine:connect(function(c) return c:execute(qs.select(qs.func.count()):select_from(tbl or users)):scalar() end)
  end

  it("creates, inspects and drops tables", function()
    local names = qs.inspect(engine):get_table_names()
    assert.same({"teams", "users"}, {names[1], names[2]})
    assert.is_true(qs.inspect(engine):has_table("users"))
    assert.is_false(qs.inspect(engine):has_table("nope"))
  end)

  it("inserts, reports new keys, selects, updates and deletes", function()
    engine:begin(function(c)
      local r = c:execute(qs.insert(teams):values({name = "red"}))
      assert.same({1, n = 1}, r.inserted_primary_key)
      r = c:execute(qs.insert(users), {{name = "ann", age = 30, team_id = 1}, {name = "bob", age = 20, team_id = 1},
        {name = "cy", age = 40}})
      assert.equal(3, r.rowcount)
    end)
    assert.equal(3, count())
    local rows = engine:connect(function(c)
      return c:execute(qs.select(u.name, u.active, teams.c.name:label("team")):outerjoin(teams)
        :order_by(u.name)):all()
    end)
    assert.same({"ann", true, "red"}, {rows[1].name, rows[1].active, rows[1].team})
    assert.is_nil(rows[3].team)
    engine:begin(function(c)
      local r = c:execute(qs.update(users):where(u.age:lt(35)):values({age = u.age + 1}))
      assert.equal(2, r.rowcount)
      r = c:execute(qs.delete(users):where(u.name:eq("cy")))
      assert.equal(1, r.rowcount)
    end)
    assert.same({21, 31, n = 2}, engine:connect(function(c)
      return c:execute(qs.select(u.age):order_by(u.age)):scalars():all()
    end))
  end)

  it("round-trips values of every common type", function()
    local md2 = qs.MetaData()
    local t = qs.Table("vals", md2, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("i", qs.BigInteger), qs.Column("f", qs.Float), qs.Column("s", qs.String(100)),
      qs.Column("b", qs.Boolean), qs.Column("d", qs.Date), qs.Column("dt", qs.DateTime),
      qs.Column("n", qs.Numeric(10, 2)), qs.Column("bin", qs.LargeBinary), qs.Column("j", qs.JSON))
    md2:create_all(engine)
    local big = math.maxinteger or 2 ^ 53
    engine:begin(function(c)
      c:execute(qs.insert(t):values({id = 1, i = big, f = -1.25, s = "héllo 'quoted' ☃", b = false,
        d = "2024-02-29", dt = "2024-02-29 13:45:10", n = 12.5, bin = "\0\1\255", j = {a = {1, 2}, b = "x"}}))
      c:execute(qs.insert(t):values({id = 2}))
    end)
    local rows = engine:connect(function(c) return c:execute(qs.select(t):order_by(t.c.id)):all() end)
    local r = rows[1]
    assert.equal(big, r.i)
    assert.equal(-1.25, r.f)
    assert.equal("héllo 'quoted' ☃", r.s)
    assert.equal(false, r.b)
    assert.equal("2024-02-29", r.d)
    assert.equal("2024-02-29 13:45:10", r.dt)
    assert.equal(12.5, helpers.decimal_number(r.n))
    assert.equal("\0\1\255", r.bin)
    assert.equal("x", r.j.b)
    assert.equal(2, r.j.a[2])
    for i = 2, 10 do assert.is_nil(rows[2][i]) end
    md2:drop_all(engine)
  end)

  it("rolls back a transaction and a savepoint", function()
    engine:connect(function(c)
      c:execute(qs.insert(users):values({name = "kept"}))
      local sp = c:begin_nested()
      c:execute(qs.insert(users):values({name = "gone"}))
      sp:rollback()
      c:commit()
      c:execute(qs.insert(users):values({name = "rolled back"}))
      c:rollback()
    end)
    assert.same({"kept", n = 1}, engine:connect(function(c) return c:execute(qs.select(u.name)):scalars():all() end))
  end)

  it("raises IntegrityError with the server's codes, and rolls back cleanly", function()
    engine:begin(function(c) c:execute(qs.insert(teams):values({name = "red"})) end)
    local err = raises(qs.exc.IntegrityError, function()
      engine:begin(function(c)
        c:execute(qs.insert(teams):values({name = "blue"}))
        c:execute(qs.insert(teams):values({name = "red"}))
      end)
    end)
    assert.is_not_nil(err.orig)
    if helpers.on("postgresql") then assert.equal("23505", err.orig.sqlstate) end
    assert.equal(1, count(teams))
  end)

  it("raises ProgrammingError for bad SQL", function()
    raises(qs.exc.ProgrammingError, function()
      engine:connect(function(c) c:execute(qs.text("SELEC 1")) end)
    end)
  end)

  it("sees other connections' committed work according to isolation", function()
    local a, b = engine:connect(), engine:connect()
    a:execute(qs.insert(users):values({name = "x"}))
    assert.equal(0, b:execute(qs.select(qs.func.count()):select_from(users)):scalar())   -- uncommitted: invisible
    a:commit()
    b:rollback()
    assert.equal(1, b:execute(qs.select(qs.func.count()):select_from(users)):scalar())
    a:close(); b:close()
  end)

  it("executes many rows in one call", function()
    local rows = {}
    for i = 1, 2000 do rows[i] = {name = "n" .. i, age = i % 90} end
    local r = engine:begin(function(c) return c:execute(qs.insert(users), rows) end)
    assert.equal(2000, r.rowcount)
    assert.equal(2000, count())
  end)

  it("splits an executemany into runs of equal keys, in the rows' order", function()
    local rows = {{name = "a", age = 1}, {name = "b", age = 2}, {id = 500, name = "c", age = 3},
      {name = "d"}, {name = "e", age = 5}}
    local r = engine:begin(function(c) return c:execute(qs.insert(users), rows) end)
    assert.equal(5, r.rowcount)
    local got = engine:connect(function(c)
      return c:execute(qs.select(u.id, u.name, u.age):order_by(u.name)):all()
    end)
    assert.equal(500, got[3][1])        -- the set that gave its own id kept it
    assert.same({1, 2, 3}, {got[1][3], got[2][3], got[3][3]})
    assert.is_nil(got[4][3])           -- the set without age inserted NULL
    assert.equal(5, got[5][3])
    -- generated keys follow the rows' order
    assert.is_true(got[1][1] < got[2][1] and got[2][1] < got[4][1] and got[4][1] < got[5][1])
  end)

  it("inserts 100,000 rows in one executemany", function()
    local rows = {}
    for i = 1, 100000 do rows[i] = {name = "n" .. i, age = i % 90} end
    local r = engine:begin(function(c) return c:execute(qs.insert(users), rows) end)
    assert.equal(100000, r.rowcount)
    assert.equal(100000, count())
    assert.equal(5000050000, engine:connect(function(c)
      return c:execute(qs.select(qs.func.sum(u.id))):scalar()
    end))
  end)

  it("runs an UPDATE once per parameter set in one call (pipelined on PostgreSQL)", function()
    local rows = {}
    for i = 1, 5000 do rows[i] = {name = "n" .. i, age = 0} end
    engine:begin(function(c) c:execute(qs.insert(users), rows) end)
    local sets = {}
    for i = 1, 5000 do sets[i] = {target = i, new_age = i % 7} end
    local stmt = qs.update(users):where(u.id:eq(qs.bindparam("target", nil, {type = qs.Integer})))
      :values({age = qs.bindparam("new_age", nil, {type = qs.Integer})})
    local r = engine:begin(function(c) return c:execute(stmt, sets) end)
    assert.equal(5000, r.rowcount)
    local sum = engine:connect(function(c) return c:execute(qs.select(qs.func.sum(u.age))):scalar() end)
    local want = 0
    for i = 1, 5000 do want = want + i % 7 end
    assert.equal(want, sum)
  end)

  it("a failure inside a batch applies none of it", function()
    engine:begin(function(c) c:execute(qs.insert(teams), {{name = "a"}, {name = "b"}, {name = "c"}}) end)
    local stmt = qs.update(teams):where(teams.c.id:eq(qs.bindparam("target", nil, {type = qs.Integer})))
      :values({name = qs.bindparam("new_name", nil, {type = qs.String})})
    raises(qs.exc.IntegrityError, function()
      engine:begin(function(c)
        c:execute(stmt, {{target = 1, new_name = "x"}, {target = 2, new_name = "c"}, {target = 3, new_name = "z"}})
      end)
    end)
    assert.same({"a", "b", "c", n = 3}, engine:connect(function(c)
      return c:execute(qs.select(teams.c.name):order_by(teams.c.id)):scalars():all()
    end))
  end)

  it("collects server notices", function()
    if not helpers.on("postgresql") then return end
    engine:connect(function(c)
      c:exec_driver_sql("DO $$ BEGIN RAISE NOTICE 'hello from plpgsql'; END $$")
      local n = c:notices()
      assert.equal(1, #n)
      assert.matches("hello from plpgsql", n[1])
      assert.same({}, c:notices())
    end)
  end)

  it("gives the server's error codes in err.orig", function()
    engine:begin(function(c) c:execute(qs.insert(teams):values({id = 1, name = "red"})) end)
    local err = raises(qs.exc.IntegrityError, function()
      engine:begin(function(c) c:execute(qs.insert(teams):values({id = 2, name = "red"})) end)
    end)
    if helpers.on("postgresql") then
      assert.equal("23505", err.orig.sqlstate)
      assert.equal("teams_name_key", err.orig.constraint)
    elseif helpers.on("mysql") then
      assert.equal(1062, err.orig.code)
      assert.equal("23000", err.orig.sqlstate)
    else
      assert.is_number(err.orig.code)
    end
    err = raises(qs.exc.IntegrityError, function()
      engine:begin(function(c) c:execute(qs.insert(users):values({name = "x", team_id = 99})) end)
    end)
  end)

  it("a lock wait that times out raises OperationalError", function()
    if helpers.on("sqlite") then return end   -- SQLite's locking: spec/engine/connection_spec.lua
    engine:begin(function(c) c:execute(qs.insert(teams):values({id = 1, name = "red"})) end)
    local a, b = engine:connect(), engine:connect()
    a:execute(qs.update(teams):where(teams.c.id:eq(1)):values({name = "a"}))   -- holds the row lock
    if helpers.on("postgresql") then b:exec_driver_sql("SET lock_timeout = '200ms'") end
    local err = raises(qs.exc.OperationalError, function()
      b:execute(qs.update(teams):where(teams.c.id:eq(1)):values({name = "b"}))
    end)
    assert.is_false(err.connection_invalidated)
    a:rollback(); b:rollback()
    a:close(); b:close()
  end)

  it("a statement over its time limit is cancelled with OperationalError", function()
    if helpers.on("sqlite") then return end
    engine:connect(function(c)
      if helpers.on("postgresql") then
        c:exec_driver_sql("SET statement_timeout = 100")
        local err = raises(qs.exc.OperationalError, function() c:exec_driver_sql("SELECT pg_sleep(2)") end)
        assert.equal("57014", err.orig.sqlstate)
      else
        c:exec_driver_sql("SET SESSION max_statement_time = 0.1")
        local err = raises(qs.exc.OperationalError, function() c:exec_driver_sql("SELECT SLEEP(2)") end)
        assert.equal(1969, err.orig.code)
      end
      c:rollback()
      assert.equal(1, c:exec_driver_sql("SELECT 1"):scalar())   -- the connection still works
    end)
  end)

  it("upserts in the dialect's form", function()
    engine:begin(function(c) c:execute(qs.insert(teams):values({id = 1, name = "red"})) end)
    local stmt = qs.insert(teams):values({id = 1, name = "crimson"})
    if helpers.on("mysql") then
      stmt = stmt:on_duplicate_key_update({name = stmt.inserted.name})
    else
      stmt = stmt:on_conflict_do_update({index_elements = {"id"}, set_ = {name = stmt.excluded.name}})
    end
    engine:begin(function(c) c:execute(stmt) end)
    assert.equal("crimson", engine:connect(function(c) return c:execute(qs.select(teams.c.name)):scalar() end))
  end)

  it("returns rows from RETURNING where the dialect has it", function()
    if helpers.on("mysql") then return end
    local r = engine:begin(function(c)
      return c:execute(qs.insert(teams):values({name = "r"}):returning(teams.c.id, teams.c.name)):one()
    end)
    assert.same({1, "r"}, {r.id, r.name})
  end)

  it("reports and sets isolation levels", function()
    engine:connect(function(c)
      local default = c:get_isolation_level()
      assert.is_string(default)
      c:execution_options({isolation_level = "SERIALIZABLE"})
      assert.equal("SERIALIZABLE", c:get_isolation_level())
    end)
  end)

  it("reads JSON elements", function()
    local md2 = qs.MetaData()
    local docs = qs.Table("docs", md2, qs.Column("id", qs.Integer, {primary_key = true}), qs.Column("data", qs.JSON))
    md2:create_all(engine)
    engine:begin(function(c) c:execute(qs.insert(docs):values({id = 1, data = {name = "z", n = 5, tags = {"a", "b"}}})) end)
    local row = engine:connect(function(c)
      return c:execute(qs.select(docs.c.data:get("name"):as_string():label("name"),
        docs.c.data:get("n"):as_integer():label("n"), docs.c.data:path({"tags", 1}):as_string():label("t"))):one()
    end)
    assert.same({"z", 5, "b"}, {row.name, row.n, row.t})
    md2:drop_all(engine)
  end)

  it("a prepared statement survives an ALTER TABLE", function()
    engine:connect(function(c)
      local stmt = qs.text("SELECT * FROM teams")
      c:execute(stmt)
      c:commit()
      c:exec_driver_sql("ALTER TABLE teams ADD COLUMN extra INTEGER")
      c:commit()
      local r = c:execute(stmt)
      assert.equal(3, #r:keys())
    end)
  end)
end)
