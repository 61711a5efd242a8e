-- An executemany with RETURNING on every backend: one row per parameter set,
-- in the order of the parameter sets (engine/returning_many.lua), for Core
-- and ORM-enabled INSERTs; UPDATE and DELETE ... RETURNING where the
-- database has them (MariaDB has no UPDATE ... RETURNING: CompileError);
-- the ORM flush gives each new object its own key.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("executemany with RETURNING on " .. helpers.backend, function()
  local engine, md, t, tn, rec

  before_each(function()
    engine = helpers.backend_engine()
    md = qs.MetaData()
    t = qs.Table("rm_item", md,
      qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("x", qs.String(20), {nullable = false, unique = true}),
      qs.Column("n", qs.Integer))
    tn = qs.Table("rm_nokey", md, qs.Column("x", qs.String(20)), qs.Column("n", qs.Integer))
    md:create_all(engine)
    rec = helpers.recorder(engine)
  end)

  after_each(function()
    md:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  -- x -> id as the database has them
  local function ids_by_x()
    return engine:connect(function(c)
      local out = {}
      for _, r in ipairs(c:execute(qs.select(t.c.x, t.c.id)):all()) do out[r[1]] = r[2] end
      return out
    end)
  end

  local function sets(n, from)
    local out = {}
    for i = 1, n do out[i] = {x = "r" .. ((from or 0) + i), n = i} end
    return out
  end

  it("INSERT with new keys: a row per set, in parameter order, each with its own key", function()
    local got = engine:begin(function(c)
      -- rows already there, so new keys do not start at 1
      c:execute(qs.insert(t), {{x = "old1"}, {x = "old2"}})
      return c:execute(qs.insert(t):returning(t.c.id, t.c.x, t.c.n), sets(5)):all()
    end)
    assert.equal(5, #got)
    local db = ids_by_x()
    local seen = {}
    for i, row in ipairs(got) do
      assert.equal("r" .. i, row.x)
      assert.equal(i, row.n)
      assert.equal(db[row.x], row.id)
      assert.is_nil(seen[row.id])
      seen[row.id] = true
    end
  end)

  it("keeps parameter order across more rows than one statement's batch", function()
    local n = 2500
    local got = engine:begin(function(c)
      return c:execute(qs.insert(t):returning(t.c.x, t.c.id), sets(n)):all()
    end)
    assert.equal(n, #got)
    local db = ids_by_x()
    for i = 1, n do
      assert.equal("r" .. i, got[i].x)
      assert.equal(db["r" .. i], got[i].id)
    end
    -- batched: three multi-row INSERTs of up to 1,000 rows
    local inserts = helpers.matching(rec, "^INSERT INTO rm_item")
    assert.equal(3, #inserts)
    if helpers.on("postgresql") then
      -- the keys handed out in parameter order: SQLAlchemy's ordered form
      assert.truthy(inserts[1]:find(" ORDER BY sen_counter RETURNING ", 1, true))
    end
  end)

  it("INSERT of given keys in any order: rows matched to their sets, only the asked columns", function()
    local got = engine:begin(function(c)
      return c:execute(qs.insert(t):returning(t.c.x), {{id = 20, x = "a"}, {id = 10, x = "b"},
        {id = 15, x = "c"}, {id = 5, x = "d"}}):all()
    end)
    assert.equal(4, #got)
    local xs = {}
    for i, row in ipairs(got) do
      assert.equal(1, #row)
      xs[i] = row.x
    end
    assert.same({"a", "b", "c", "d"}, xs)
  end)

  it("INSERT into a table without a key: row at a time, in order", function()
    local got = engine:begin(function(c)
      return c:execute(qs.insert(tn):returning(tn.c.x, tn.c.n), {{x = "q", n = 3}, {x = "p", n = 1},
        {x = "r", n = 2}}):all()
    end)
    assert.equal(3, #got)
    assert.same({"q", 3}, {got[1].x, got[1].n})
    assert.same({"p", 1}, {got[2].x, got[2].n})
    assert.same({"r", 2}, {got[3].x, got[3].n})
  end)

  it("UPDATE ... RETURNING per set in order (a CompileError on MariaDB, which has none)", function()
    engine:begin(function(c) c:execute(qs.insert(t), sets(4)) end)
    local stmt = qs.update(t):where(t.c.x:eq(qs.bindparam("k"))):values({n = qs.bindparam("nn")})
      :returning(t.c.x, t.c.n)
    local params = {{k = "r3", nn = 30}, {k = "r1", nn = 10}, {k = "r4", nn = 40}}
    if helpers.on("mysql") and engine:connect(function(c) return c.dialect.name end) == "mariadb" then
      local err = raises(qs.exc.CompileError, function()
        engine:begin(function(c) return c:execute(stmt, params) end)
      end)
      assert.truthy(tostring(err):find("RETURNING is not supported by dialect mariadb for UPDATE", 1, true))
      return
    end
    local got = engine:begin(function(c) return c:execute(stmt, params):all() end)
    assert.equal(3, #got)
    assert.same({"r3", 30}, {got[1].x, got[1].n})
    assert.same({"r1", 10}, {got[2].x, got[2].n})
    assert.same({"r4", 40}, {got[3].x, got[3].n})
  end)

  it("DELETE ... RETURNING per set in order", function()
    engine:begin(function(c) c:execute(qs.insert(t), sets(4)) end)
    local got = engine:begin(function(c)
      return c:execute(qs.delete(t):where(t.c.x:eq(qs.bindparam("k"))):returning(t.c.x, t.c.n),
        {{k = "r2"}, {k = "r4"}, {k = "r1"}}):all()
    end)
    assert.equal(3, #got)
    assert.same({"r2", "r4", "r1"}, {got[1].x, got[2].x, got[3].x})
    assert.same({2, 4, 1}, {got[1].n, got[2].n, got[3].n})
  end)

  describe("in the ORM", function()
    local Base, User, sessions

    before_each(function()
      sessions = {}
      Base = orm.declarative_base()
      User = Base:model("User", {
        __tablename = "rm_user",
        id = orm.mapped_column(qs.Integer, {primary_key = true}),
        name = orm.mapped_column(qs.String(20), {nullable = false, unique = true}),
      })
      Base.metadata:create_all(engine)
    end)

    after_each(function()
      for _, s in ipairs(sessions) do s:close() end
      Base.metadata:drop_all(engine)
    end)

    local function session()
      local s = orm.Session({bind = engine})
      sessions[#sessions + 1] = s
      return s
    end

    local function db_ids()
      return engine:connect(function(c)
        local out = {}
        local ut = User.__table__
        for _, r in ipairs(c:execute(qs.select(ut.c.name, ut.c.id)):all()) do out[r[1]] = r[2] end
        return out
      end)
    end

    it("bulk INSERT ... RETURNING through the session: rows in parameter order", function()
      local s = session()
      local list = {}
      for i = 1, 1200 do list[i] = {name = "u" .. i} end
      local got = s:execute(qs.insert(User):returning(User.id, User.name), list):all()
      s:commit()
      assert.equal(1200, #got)
      local db = db_ids()
      for i = 1, 1200 do
        assert.equal("u" .. i, got[i].name)
        assert.equal(db["u" .. i], got[i].id)
      end
    end)

    it("bulk INSERT ... RETURNING the model: persistent objects in parameter order", function()
      local s = session()
      local got = s:scalars(qs.insert(User):returning(User), {{name = "a"}, {name = "b"}, {name = "c"}}):all()
      assert.equal(3, #got)
      local ids = {}
      for i, name in ipairs({"a", "b", "c"}) do
        local u = got[i]
        assert.equal(name, u.name)
        assert.is_true(orm.inspect(u).persistent)
        assert.is_true(rawequal(u, s:get(User, u.id)))
        ids[name] = u.id
      end
      s:commit()
      local db = db_ids()
      for name, id in pairs(ids) do assert.equal(db[name], id) end
      -- a model next to a column, one statement
      local row = s:execute(qs.insert(User):returning(User, User.name), {name = "d"}):one()
      assert.equal("d", row.User.name)
      assert.equal("d", row.name)
      got[1].name = "a2"
      s:commit()
      assert.equal("a2", s:get(User, got[1].id).name)
    end)

    it("bulk UPDATE by primary key refuses RETURNING rather than dropping it", function()
      local s = session()
      s:add_all({User({name = "a"}), User({name = "b"})})
      s:commit()
      local err = raises(qs.exc.InvalidRequestError, function()
        s:execute(qs.update(User):returning(User.name), {{id = 1, name = "a2"}, {id = 2, name = "b2"}})
      end)
      assert.truthy(tostring(err):find("bulk ORM UPDATE by primary key does not support RETURNING", 1, true))
      s:rollback()
      local db = db_ids()
      assert.is_truthy(db.a)
      assert.is_truthy(db.b)
    end)

    it("a flush of many new objects gives each its own key", function()
      local s = session()
      s:add(User({name = "before"}))
      s:commit()
      local users = {}
      for i = 1, 1500 do users[i] = User({name = "n" .. i}) end
      s:add_all(users)
      s:flush()
      s:commit()
      local db = db_ids()
      local seen = {}
      for i, u in ipairs(users) do
        assert.equal(db["n" .. i], u.id)
        assert.is_nil(seen[u.id])
        seen[u.id] = true
      end
    end)
  end)
end)
