-- The ORM on every backend (part 1 of 2): declarative mapping and the
-- Session (identity map, expiry, transactions and savepoints, ORM-enabled
-- execution, autoflush, object states). The unit of work and relationships
-- are in orm_uow_spec.lua. SQLAlchemy 2.0's ORM is the reference where
-- /work/shared/API.md is silent.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local fixtures = require("spec.support.fixtures")
local raises = helpers.assert_raises_kind
local matching, clear = helpers.matching, helpers.clear
local first_index = helpers.first_index

local function is_integral(v)
  return type(v) == "number" and v == math.floor(v)
end

describe("ORM mapping and session on " .. helpers.backend, function()
  local engine, Base, User, Address, Pair, rec, sessions

  -- a session this test closes in after_each (before the tables are dropped:
  -- an open transaction would block the DROP on the servers)
  local function session(opts)
    local o = {bind = engine}
    for k, v in pairs(opts or {}) do o[k] = v end
    local s = orm.Session(o)
    sessions[#sessions + 1] = s
    return s
  end

  -- reads through a connection of its own, outside every session
  local function outside(stmt)
    return engine:connect(function(c) return c:execute(stmt):all() end)
  end

  local function names_in_db()
    local out = {}
    for i, r in ipairs(outside(qs.select(User.__table__.c.name):order_by(User.__table__.c.name))) do
      out[i] = r[1]
    end
    return out
  end

  before_each(function()
    sessions = {}
    engine = helpers.backend_engine()
    local m = fixtures.user_address({tables = {"user_account", "address"}, strict = true,
      email = "email_address", addresses = {cascade = "all, delete-orphan"},
      user = function()
        return {fullname = orm.mapped_column(qs.String(50)),
          shout = function(self) return self.name:upper() .. "!" end}
      end})
    Base, User, Address = m.Base, m.User, m.Address
    Pair = Base:model("Pair", {
      __tablename = "pair",
      a = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
      b = orm.mapped_column(qs.String(10), {primary_key = true}),
      label = orm.mapped_column(qs.String(20)),
    })
    Base.metadata:create_all(engine)
    rec = helpers.recorder(engine)
  end)

  after_each(function()
    for _, s in ipairs(sessions) do s:close() end
    Base.metadata:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  -- three users committed: ann (two addresses), bob (one), cy (none)
  local function seed()
    local s = session()
    s:add_all({
      User({name = "ann", fullname = "Ann A", addresses = {Address({email_address = "ann@a"}),
        Address({email_address = "ann@b"})}}),
      User({name = "bob", addresses = {Address({email_address = "bob@a"})}}),
      User({name = "cy"}),
    })
    s:commit()
    s:close()
  end

  -- mapping ----------------------------------------------------------------------------------

  describe("mapping", function()
    it("puts columns in CREATE TABLE in declaration order", function()
      local B = orm.declarative_base()
      B:model("Wide", {
        __tablename = "wide",
        zeta = orm.mapped_column(qs.Integer, {primary_key = true}),
        alpha = orm.mapped_column(qs.String(10)),
        mid = orm.mapped_column(qs.Integer),
        beta = orm.mapped_column(qs.Integer),
        omega = orm.mapped_column(qs.String(10)),
        gamma = orm.mapped_column(qs.Integer),
        kappa = orm.mapped_column(qs.Integer),
        delta = orm.mapped_column(qs.Integer),
      })
      clear(rec)
      B.metadata:create_all(engine)
      local want = {"zeta", "alpha", "mid", "beta", "omega", "gamma", "kappa", "delta"}
      local create = matching(rec, "^%s*CREATE TABLE")
      assert.equal(1, #create)
      local last = 0
      for _, name in ipairs(want) do
        local at = create[1]:find(name, 1, true)
        assert.is_truthy(at, name .. " missing from " .. create[1])
        assert.is_true(at > last, name .. " out of order in " .. create[1])
        last = at
      end
      local got = {}
      for i, c in ipairs(qs.inspect(engine):get_columns("wide")) do got[i] = c.name end
      assert.same(want, got)
      B.metadata:drop_all(engine)
    end)

    it("maps an attribute to a differently named column with mapped_column(db_name, ...)", function()
      local B = orm.declarative_base()
      local Thing = B:model("Thing", {
        __tablename = "thing",
        id = orm.mapped_column(qs.Integer, {primary_key = true}),
        display = orm.mapped_column("display_name", qs.String(20)),
      })
      B.metadata:create_all(engine)
      local cols = {}
      for _, c in ipairs(qs.inspect(engine):get_columns("thing")) do cols[c.name] = true end
      assert.is_true(cols.display_name)
      assert.is_nil(cols.display)
      assert.is_not_nil(Thing.__table__.c.display_name)   -- the table's key is the column's name
      assert.has_error(function() return Thing.__table__.c.display end)
      local s = session()
      s:add(Thing({display = "shown"}))
      s:commit()
      clear(rec)
      local t = s:scalars(qs.select(Thing):where(Thing.display:eq("shown"))):one()
      assert.equal("shown", t.display)
      assert.is_truthy(rec[1].sql:find("display_name", 1, true))
      assert.equal("shown", outside(qs.text("SELECT display_name FROM thing"))[1][1])
      s:close()
      B.metadata:drop_all(engine)
    end)

    it("refuses unknown fields in the constructor", function()
      local err = raises(qs.exc.ArgumentError, function() User({name = "x", nickname = "y"}) end)
      assert.matches("nickname", tostring(err))
      raises(qs.exc.ArgumentError, function() User("not a table") end)
    end)

    it("refuses a model without a table name or a primary key, and reserved names", function()
      local B = orm.declarative_base()
      raises(qs.exc.ArgumentError, function()
        B:model("NoTable", {id = orm.mapped_column(qs.Integer, {primary_key = true})})
      end)
      raises(qs.exc.ArgumentError, function()
        B:model("NoKey", {__tablename = "nokey", x = orm.mapped_column(qs.Integer)})
      end)
      raises(qs.exc.ArgumentError, function()
        B:model("Reserved", {__tablename = "reserved", id = orm.mapped_column(qs.Integer, {primary_key = true}),
          metadata = orm.mapped_column(qs.String(10))})
      end)
    end)

    it("makes Model.col a SQL expression usable in where()", function()
      seed()
      assert.is_true(User.name._is_clause == true)
      local sql = tostring(qs.select(User.id):where(User.name:eq("bob")))
      assert.matches("user_account.name", sql, 1, true)
      local s = session()
      local got = s:scalars(qs.select(User):where(User.name:like("b%"), User.id:gt(0))):all()
      assert.equal(1, #got)
      assert.equal("bob", got[1].name)
      local n = s:scalar(qs.select(qs.func.count(User.id)):where(qs.or_(User.name:eq("ann"), User.name:eq("cy"))))
      assert.equal(2, n)
    end)

    it("reads a NULL column as nil on an instance, never as the class attribute", function()
      local u = User({name = "n"})
      assert.is_nil(u.fullname)                -- transient, never set
      assert.is_nil(u.id)
      local s = session()
      s:add(u)
      s:commit()
      assert.is_nil(u.fullname)                -- expired, loaded as NULL
      s:expunge_all()
      local again = s:scalars(qs.select(User)):one()
      assert.is_false(rawequal(again, u))
      assert.is_nil(again.fullname)            -- loaded from a fresh row
      assert.is_not_nil(User.fullname)         -- the class attribute exists all along
      again.fullname = "set"
      again.fullname = qs.null
      assert.is_nil(again.fullname)
    end)

    it("gives instances the class's methods, from the spec and assigned later", function()
      function User:greeting() return "hi " .. self.name end
      local u = User({name = "sandy"})
      assert.equal("hi sandy", u:greeting())
      assert.equal("SANDY!", u:shout())
      local s = session()
      s:add(u)
      s:commit()
      s:expunge_all()
      local loaded = s:scalars(qs.select(User)):one()
      assert.equal("hi sandy", loaded:greeting())
    end)

    it("exposes Model.__table__ and the metadata's tables", function()
      assert.equal("user_account", User.__table__.name)
      assert.equal(User.__table__, Base.metadata.tables.user_account)
      assert.equal(Address.__table__, Base.metadata.tables["address"])
      assert.is_not_nil(User.__table__.c.fullname)
    end)

    it("inspects a model: columns, relationships, attrs, local_table, class", function()
      local m = orm.inspect(User)
      assert.equal(User.__table__, m.local_table)
      assert.equal(User, m.class)
      assert.equal(3, #m.columns)
      assert.equal(User.__table__.c.name, m.columns.name)
      assert.equal(1, #m.relationships)
      assert.is_not_nil(m.relationships.addresses)
      assert.is_not_nil(m.attrs.name)
      assert.is_not_nil(m.attrs.addresses)
      assert.is_nil(m.attrs.shout)
      raises(qs.exc.NoInspectionAvailable, function() orm.inspect({}) end)
    end)
  end)

  -- states ----------------------------------------------------------------------------------

  describe("object states", function()
    local function state(obj)
      local i = orm.inspect(obj)
      local on = {}
      for _, k in ipairs({"transient", "pending", "persistent", "deleted", "detached"}) do
        if i[k] then on[#on + 1] = k end
      end
      return table.concat(on, ",")
    end

    it("go transient, pending, persistent, deleted, detached", function()
      local s = session()
      local u = User({name = "st"})
      assert.equal("transient", state(u))
      assert.equal(User, orm.inspect(u).mapper.class)
      s:add(u)
      assert.equal("pending", state(u))
      s:flush()
      assert.equal("persistent", state(u))
      assert.is_false(orm.inspect(u).modified)
      u.fullname = "changed"
      assert.is_true(orm.inspect(u).modified)
      s:delete(u)
      assert.equal("persistent", state(u))   -- marked, not flushed yet
      s:flush()
      assert.equal("deleted", state(u))
      s:commit()
      assert.equal("detached", state(u))
      assert.same({}, names_in_db())
    end)

    it("go detached on close and on expunge, and back to persistent on add", function()
      seed()
      local s = session()
      local u = s:get(User, 1)
      s:expunge(u)
      assert.equal("detached", state(u))
      assert.is_false(s.identity_map[orm.inspect(u).key] ~= nil)
      local other = s:get(User, 1)
      assert.is_false(rawequal(other, u))
      raises(qs.exc.InvalidRequestError, function() s:expunge(u) end)
      s:close()
      assert.equal("detached", state(other))
      local s2 = session()
      s2:add(u)
      assert.equal("persistent", state(u))
      u.fullname = "again"
      s2:commit()
      assert.equal("again", outside(qs.select(User.__table__.c.fullname):where(User.__table__.c.id:eq(1)))[1][1])
    end)

    it("a rollback makes pending objects transient and persistent ones expired", function()
      seed()
      local s = session()
      local ann = s:get(User, 1)
      local fresh = User({name = "fresh"})
      s:add(fresh)
      s:flush()
      assert.equal("persistent", state(fresh))
      s:rollback()
      assert.equal("transient", state(fresh))
      assert.equal("fresh", fresh.name)        -- attributes stay as they were (SQLAlchemy)
      assert.equal("persistent", state(ann))
      assert.is_true(orm.inspect(ann).expired_attributes.name)
    end)
  end)

  -- session collections ----------------------------------------------------------------------

  it("lists new, dirty and deleted objects as sequences that answer membership", function()
    seed()
    local s = session()
    local bob, cy = s:get(User, 2), s:get(User, 3)
    local a, b = User({name = "n1"}), User({name = "n2"})
    s:add_all({a, b})
    assert.equal(2, #s.new)
    assert.is_true(s.new[a])
    assert.is_nil(s.new[bob])
    local seen = 0
    for _, o in ipairs(s.new) do
      if rawequal(o, a) or rawequal(o, b) then seen = seen + 1 end
    end
    assert.equal(2, seen)
    assert.equal(0, #s.dirty)
    bob.fullname = "Bob B"
    assert.equal(1, #s.dirty)
    assert.is_true(s.dirty[bob])
    assert.is_nil(s.dirty[cy])
    s:delete(cy)
    assert.equal(1, #s.deleted)
    assert.is_true(s.deleted[cy])
    s:flush()
    assert.equal(0, #s.new)
    assert.equal(0, #s.dirty)
    assert.equal(0, #s.deleted)
    s:commit()
    assert.same({"ann", "bob", "n1", "n2"}, names_in_db())
  end)

  it("refuses to add back an object whose DELETE was flushed", function()
    seed()
    local s = session()
    local cy = s:get(User, 3)
    s:delete(cy)
    s:flush()
    assert.is_nil(s:get(User, 3))
    local err = raises(qs.exc.InvalidRequestError, function() s:add(cy) end)
    assert.matches("has been deleted", err.message)
    assert.matches("make_transient", err.message)
    s:commit()
    raises(qs.exc.InvalidRequestError, function() session():add(cy) end)   -- detached, still deleted
    orm.make_transient(cy)
    local s2 = session()
    s2:add(cy)                                  -- a new row again
    s2:commit()
    assert.equal("cy", s2:get(User, 3).name)
  end)

  it("add_all refuses one object given in place of a list", function()
    local s = session()
    local err = raises(qs.exc.ArgumentError, function() s:add_all(User({name = "solo"})) end)
    assert.matches("Session:add", err.message)
    assert.equal(0, #s.new)
  end)

  it("rollback brings back an object whose DELETE was flushed", function()
    seed()
    local s = session()
    local cy = s:get(User, 3)
    s:delete(cy)
    s:flush()
    assert.is_true(orm.inspect(cy).deleted)
    s:rollback()
    assert.is_true(orm.inspect(cy).persistent)
    assert.equal("cy", cy.name)
    assert.is_true(rawequal(cy, s:get(User, 3)))
  end)

  it("refuses objects that are not mapped, foreign sessions' objects and misuse", function()
    seed()
    local s = session()
    local other = session()
    local ann = other:get(User, 1)
    raises(qs.exc.InvalidRequestError, function() s:add(ann) end)
    raises(qs.exc.InvalidRequestError, function() s:refresh(ann) end)
    raises(qs.exc.UnmappedClassError, function() s:get({}, 1) end)
    raises(qs.exc.ObjectNotExecutableError, function() s:execute("SELECT 1") end)
    raises(qs.exc.UnmappedInstanceError, function() s:add({name = "plain"}) end)
    raises(qs.exc.InvalidRequestError, function() s:delete(User({name = "t"})) end)
  end)

  -- get / identity map -------------------------------------------------------------------

  it("get looks in the identity map first: no SQL the second time", function()
    seed()
    local s = session()
    clear(rec)
    local u = s:get(User, 2)
    assert.equal("bob", u.name)
    assert.equal(1, #matching(rec, "SELECT"))
    clear(rec)
    local again = s:get(User, 2)
    assert.is_true(rawequal(u, again))
    assert.equal(0, #rec)
    local via_query = s:scalars(qs.select(User):where(User.name:eq("bob"))):one()
    assert.is_true(rawequal(u, via_query))
    assert.is_nil(s:get(User, 99))
  end)

  it("a query hands back the identity map's object, keeping its unflushed changes", function()
    seed()
    local s = session()
    local bob = s:get(User, 2)
    bob.fullname = "local change"
    local again = s:no_autoflush(function(sess)
      return sess:scalars(qs.select(User):where(User.id:eq(2))):one()
    end)
    assert.is_true(rawequal(bob, again))
    assert.equal("local change", again.fullname)
    assert.is_true(s.dirty[bob])
  end)

  it("get sends one statement for every key, the key as bound parameters", function()
    local s = session()
    s:add_all({User({name = "g1"}), User({name = "g2"})})
    s:commit()
    local ids = {}
    for i, r in ipairs(outside(qs.select(User.__table__.c.id):order_by(User.__table__.c.id))) do ids[i] = r[1] end
    s:close()
    clear(rec)
    local a, b = s:get(User, ids[1]), s:get(User, ids[2])
    assert.equal("g1", a.name)
    assert.equal("g2", b.name)
    local sel = {}
    for _, r in ipairs(rec) do if r.sql:find("SELECT") then sel[#sel + 1] = r end end
    assert.equal(2, #sel)
    assert.equal(sel[1].sql, sel[2].sql)   -- two keys, one SQL text: the keys are bound
    assert.is_nil(s:get(User, -1))
  end)

  it("get takes composite keys as a list or by attribute name", function()
    local s = session()
    s:add_all({Pair({a = 1, b = "x", label = "one-x"}), Pair({a = 1, b = "y", label = "one-y"})})
    s:commit()
    s:close()
    clear(rec)
    local p = s:get(Pair, {1, "y"})
    assert.equal("one-y", p.label)
    assert.equal(1, #matching(rec, "SELECT"))
    clear(rec)
    assert.is_true(rawequal(p, s:get(Pair, {a = 1, b = "y"})))
    assert.equal(0, #rec)
    assert.is_nil(s:get(Pair, {2, "y"}))
    raises(qs.exc.InvalidRequestError, function() s:get(Pair, 1) end)
    raises(qs.exc.InvalidRequestError, function() s:get(Pair, {1, "x", 3}) end)
  end)

  -- expiry and refresh -------------------------------------------------------------------

  it("expire: the next access loads every expired attribute in one SELECT", function()
    seed()
    local s = session()
    local u = s:get(User, 1)
    assert.equal("Ann A", u.fullname)
    u.fullname = "unflushed"
    s:expire(u)
    clear(rec)
    assert.equal("Ann A", u.fullname)      -- the change is discarded
    assert.equal("ann", u.name)
    assert.equal(1, #rec)
    assert.matches("^%s*SELECT", rec[1].sql)
    clear(rec)
    s:expire(u, {"fullname"})
    assert.equal("ann", u.name)            -- not expired: no SQL
    assert.equal(0, #rec)
    assert.equal("Ann A", u.fullname)
    assert.equal(1, #rec)
    raises(qs.exc.ArgumentError, function() s:expire(u, {"nope"}) end)
    raises(qs.exc.InvalidRequestError, function() s:expire(User({name = "t"})) end)
  end)

  it("expire_all expires every object in the identity map", function()
    seed()
    local s = session()
    local ann, bob = s:get(User, 1), s:get(User, 2)
    s:expire_all()
    clear(rec)
    assert.equal("ann", ann.name)
    assert.equal("bob", bob.name)
    assert.equal(2, #matching(rec, "SELECT"))
    clear(rec)
    assert.equal("Ann A", ann.fullname)
    assert.equal(0, #rec)
  end)

  it("an expired object whose row is gone raises ObjectDeletedError", function()
    seed()
    local s = session()
    local cy = s:get(User, 3)
    s:commit()                              -- expires cy, ends the transaction
    engine:begin(function(c) c:execute(qs.delete(User.__table__):where(User.__table__.c.id:eq(3))) end)
    raises(qs.exc.ObjectDeletedError, function() return cy.name end)
    assert.is_nil(s:get(User, 3))
  end)

  it("refresh loads the row again now, discarding unflushed changes", function()
    seed()
    local s = session({expire_on_commit = false})
    local u = s:get(User, 2)
    assert.is_nil(u.fullname)
    s:commit()
    engine:begin(function(c)
      c:execute(qs.update(User.__table__):where(User.__table__.c.id:eq(2)):values({fullname = "from outside"}))
    end)
    clear(rec)
    assert.is_nil(u.fullname)               -- still loaded: no SQL
    assert.equal(0, #rec)
    u.name = "unflushed"
    s:refresh(u)
    assert.equal(1, #matching(rec, "SELECT"))
    assert.equal(0, #matching(rec, "UPDATE"))
    assert.equal("from outside", u.fullname)
    assert.equal("bob", u.name)
    assert.is_false(s:is_modified(u))
  end)

  -- flush / commit / rollback / close -----------------------------------------------------

  it("flush writes in the session's transaction; commit makes it visible outside", function()
    local s = session()
    local u = User({name = "f"})
    s:add(u)
    s:flush()
    assert.is_true(is_integral(u.id))
    clear(rec)
    s:flush()                                -- nothing left to write
    assert.equal(0, #rec)
    assert.equal(1, s:scalar(qs.select(qs.func.count(User.id))))
    assert.same({}, names_in_db())
    s:commit()
    assert.same({"f"}, names_in_db())
  end)

  it("commit with expire_on_commit expires everything; without it, nothing is reloaded", function()
    seed()
    local s = session()
    local u = s:get(User, 1)
    s:commit()
    assert.is_true(orm.inspect(u).expired_attributes.name)
    clear(rec)
    assert.equal("ann", u.name)
    assert.equal(1, #matching(rec, "SELECT"))
    s:close()
    local s2 = session({expire_on_commit = false})
    local v = s2:get(User, 2)
    v.fullname = "kept"
    s2:commit()
    clear(rec)
    assert.equal("kept", v.fullname)
    assert.equal("bob", v.name)
    assert.equal(0, #rec)
    s2:close()
    assert.equal("kept", v.fullname)        -- detached, still loaded
  end)

  it("an expired attribute of a detached object raises DetachedInstanceError", function()
    seed()
    local s = session()
    local u = s:get(User, 1)
    s:commit()
    s:close()
    raises(qs.exc.DetachedInstanceError, function() return u.name end)
  end)

  it("rollback undoes attribute changes and expunges pending objects", function()
    seed()
    local s = session()
    local ann = s:get(User, 1)
    ann.fullname = "not kept"
    local pending = User({name = "pending"})
    s:add(pending)
    s:rollback()
    assert.equal("Ann A", ann.fullname)
    assert.is_true(orm.inspect(pending).transient)
    assert.equal(0, #s.new)
    -- the same after the changes were flushed
    ann.fullname = "flushed, then rolled back"
    local flushed = User({name = "flushed"})
    s:add(flushed)
    s:flush()
    s:rollback()
    assert.equal("Ann A", ann.fullname)
    assert.is_true(orm.inspect(flushed).transient)
    s:commit()
    assert.same({"ann", "bob", "cy"}, names_in_db())
  end)

  it("close expunges everything and the session can be used again", function()
    seed()
    local s = session()
    local u = s:get(User, 1)
    s:add(User({name = "never"}))
    s:close()
    assert.is_true(orm.inspect(u).detached)
    assert.is_nil(next(s.identity_map))
    assert.equal(0, #s.new)
    s:add(User({name = "after close"}))
    s:commit()
    assert.same({"after close", "ann", "bob", "cy"}, names_in_db())
  end)

  -- begin / begin_nested -------------------------------------------------------------------

  it("begin(fn) commits on return and gives fn's results", function()
    local s = session()
    local a, b = s:begin(function(sess)
      assert.is_true(rawequal(sess, s))
      sess:add(User({name = "scoped"}))
      return 1, "two"
    end)
    assert.same({1, "two"}, {a, b})
    assert.same({"scoped"}, names_in_db())
    assert.is_false(s:in_transaction())
  end)

  it("begin(fn), begin_nested(fn) and no_autoflush(fn) return all of fn's results, nil ones included", function()
    local s = session()
    local function three() return nil, "two", 3 end
    local a, b, c = s:no_autoflush(three)
    assert.same({nil, "two", 3}, {a, b, c})
    a, b = s:begin(three)
    assert.same({nil, "two"}, {a, b})
    s:begin()
    a, b = s:begin_nested(three)
    assert.same({nil, "two"}, {a, b})
    s:rollback()
  end)

  it("begin(fn) rolls back and re-raises the original error", function()
    local s = session()
    local u = User({name = "doomed"})
    local boom = {"a table error"}
    local ok, err = pcall(s.begin, s, function(sess)
      sess:add(u)
      sess:flush()
      error(boom)
    end)
    assert.is_false(ok)
    assert.is_true(rawequal(boom, err))
    assert.same({}, names_in_db())
    assert.is_true(orm.inspect(u).transient)
    s:begin()
    raises(qs.exc.InvalidRequestError, function() s:begin() end)
    s:rollback()
  end)

  it("begin_nested(fn): a savepoint rollback undoes only the inner flush", function()
    local s = session()
    local outer = User({name = "outer"})
    s:add(outer)
    local inner = User({name = "inner"})
    local ok, err = pcall(s.begin_nested, s, function(sess)
      sess:add(inner)
      outer.fullname = "changed inside"
      sess:flush()
      error("inner boom")
    end)
    assert.is_false(ok)
    assert.matches("inner boom", tostring(err))
    assert.is_true(orm.inspect(outer).persistent)
    assert.is_true(orm.inspect(inner).transient)
    assert.is_nil(outer.fullname)           -- back to what the outer transaction wrote
    assert.equal(1, s:scalar(qs.select(qs.func.count(User.id))))
    s:commit()
    assert.same({"outer"}, names_in_db())
  end)

  it("begin_nested(fn): objects added inside a rolled-back savepoint are discarded, not committed later", function()
    local s = session()
    s:add(User({name = "outer"}))
    local x = User({name = "never flushed"})
    assert.is_false(pcall(s.begin_nested, s, function(sess)
      sess:add(x)
      error("boom")
    end))
    assert.is_true(orm.inspect(x).transient)
    s:commit()
    assert.same({"outer"}, names_in_db())
  end)

  it("begin_nested(fn): a flush failing inside the savepoint leaves the outer transaction usable", function()
    seed()
    local s = session()
    s:add(User({name = "kept"}))
    raises(qs.exc.IntegrityError, function()
      s:begin_nested(function(sess)
        sess:add(User({name = "ann"}))          -- unique violation
        sess:flush()
      end)
    end)
    s:commit()
    assert.same({"ann", "bob", "cy", "kept"}, names_in_db())
  end)

  it("begin_nested(fn) keeps the inner work when fn returns", function()
    local savepoints = 0
    qs.event.listen(engine, "savepoint", function() savepoints = savepoints + 1 end)
    local s = session()
    s:add(User({name = "outer"}))
    local r = s:begin_nested(function(sess)
      sess:add(User({name = "inner"}))
      return "done"
    end)
    assert.equal("done", r)
    assert.is_true(s:in_transaction())
    assert.same({}, names_in_db())
    s:commit()
    assert.same({"inner", "outer"}, names_in_db())
    assert.equal(1, savepoints)
  end)

  -- execute / scalars / scalar --------------------------------------------------------------

  it("executes select(Model) into objects and select(Model.a, Other.b) into rows", function()
    seed()
    local s = session()
    local users = s:scalars(qs.select(User):order_by(User.name)):all()
    assert.equal(3, #users)
    assert.same({"ann", "bob", "cy"}, {users[1].name, users[2].name, users[3].name})
    assert.equal(User, orm.inspect(users[1]).mapper.class)
    local rows = s:execute(qs.select(User.name, Address.email_address):join(User.addresses)
      :order_by(Address.email_address)):all()
    assert.equal(3, #rows)
    assert.same({"ann", "ann@a"}, {rows[1].name, rows[1].email_address})
    assert.same({"bob", "bob@a"}, {rows[3][1], rows[3][2]})
    local pairs_ = s:execute(qs.select(User, Address):join(User.addresses):order_by(Address.id)):all()
    assert.equal(3, #pairs_)
    assert.is_true(rawequal(users[1], pairs_[1].User))
    assert.equal("ann@a", pairs_[1].Address.email_address)
    local counts = s:execute(qs.select(User.name, qs.func.count(Address.id):label("n")):join(User.addresses)
      :group_by(User.name):order_by(User.name)):all()
    assert.same({"ann", 2}, {counts[1].name, counts[1].n})
    assert.equal("bob", s:scalar(qs.select(User.name):where(User.id:eq(2))))
    assert.equal(3, s:scalar(qs.select(qs.func.count()):select_from(User)))
    assert.is_nil(s:scalars(qs.select(User):where(User.name:eq("nobody"))):first())
    raises(qs.exc.NoResultFound, function() s:scalars(qs.select(User):where(User.id:eq(99))):one() end)
    raises(qs.exc.MultipleResultsFound, function() s:scalars(qs.select(User)):one() end)
    raises(qs.exc.ArgumentError, function() s:execute(qs.select(User):where(true)) end)
  end)

  it("runs ORM-enabled UPDATE statements in the session", function()
    seed()
    local s = session()
    s:execute(qs.update(User):where(User.name:eq("cy")):values({fullname = "Cy C"}))
    assert.equal("Cy C", s:scalars(qs.select(User):where(User.name:eq("cy"))):one().fullname)
    s:commit()
    assert.equal("Cy C", outside(qs.select(User.__table__.c.fullname):where(User.__table__.c.name:eq("cy")))[1][1])
  end)

  -- autoflush ---------------------------------------------------------------------------------

  it("autoflushes before a query", function()
    local s = session()
    s:add(User({name = "auto"}))
    clear(rec)
    local got = s:scalars(qs.select(User):where(User.name:eq("auto"))):first()
    assert.is_not_nil(got)
    local ins, sel = first_index(rec, "^%s*INSERT"), first_index(rec, "^%s*SELECT")
    assert.is_truthy(ins)
    assert.is_true(ins < sel)
  end)

  it("no_autoflush(fn) queries without flushing and gives fn's results", function()
    local s = session()
    local u = User({name = "held"})
    s:add(u)
    clear(rec)
    local extra, got = s:no_autoflush(function(sess)
      return "x", sess:scalars(qs.select(User):where(User.name:eq("held"))):first()
    end)
    assert.is_nil(got)
    assert.equal("x", extra)
    assert.equal(0, #matching(rec, "INSERT"))
    assert.is_true(orm.inspect(u).pending)
    assert.is_false(pcall(s.no_autoflush, s, function() error("inside") end))
    assert.is_not_nil(s:scalars(qs.select(User):where(User.name:eq("held"))):first())   -- autoflush is back
    local s2 = session({autoflush = false})
    s2:add(User({name = "manual"}))
    assert.is_nil(s2:scalars(qs.select(User):where(User.name:eq("manual"))):first())
  end)

  it("a sessionmaker makes sessions with its options", function()
    local Session = orm.sessionmaker({bind = engine, expire_on_commit = false})
    local s = Session()
    sessions[#sessions + 1] = s
    local u = User({name = "made"})
    s:add(u)
    s:commit()
    clear(rec)
    assert.equal("made", u.name)
    assert.equal(0, #rec)
    raises(qs.exc.ArgumentError, function() orm.sessionmaker({bnid = engine}) end)
  end)
end)
