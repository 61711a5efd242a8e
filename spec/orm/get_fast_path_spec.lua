-- Session:get's fast path (orm/get.lua): the SELECT by primary key built and
-- compiled once per mapper, the row loaded without a Result; what it does
-- not serve goes the general way with the same results. Its options
-- (populate_existing, options). On every backend.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local attributes = require("quicksilver.orm.attributes")
local helpers = require("spec.helpers")
local get_fast = require("quicksilver.orm.get")
local raises = helpers.assert_raises_kind

describe("Session:get fast path on " .. helpers.backend, function()
  local engine, Base, Order, Pair, rec, s, served, orig_load

  -- the SELECTs sent since the last clear
  local function selects()
    return helpers.matching(rec, "^%s*SELECT")
  end

  before_each(function()
    engine = helpers.backend_engine()
    Base = orm.declarative_base()
    Order = Base:model("Order", {
      __tablename = "gf_order",
      id = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
      qty = orm.mapped_column(qs.Integer),
      note = orm.mapped_column(qs.String(20)),
    })
    Pair = Base:model("Pair", {
      __tablename = "gf_pair",
      a = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
      b = orm.mapped_column(qs.String(10), {primary_key = true}),
      label = orm.mapped_column(qs.String(20)),
    })
    Base.metadata:create_all(engine)
    local seed = orm.Session(engine)
    seed:add_all({Order({id = 1, qty = 10, note = "one"}), Order({id = 2, qty = 20}),
      Pair({a = 1, b = "x", label = "1x"}), Pair({a = 1, b = "y", label = "1y"})})
    seed:commit()
    seed:close()
    -- which gets the fast path served (true) or handed back (false)
    served = {}
    orig_load = get_fast.load
    get_fast.load = function(...)
      local ok, obj = orig_load(...)
      served[#served + 1] = ok
      return ok, obj
    end
    rec = helpers.recorder(engine)
    s = orm.Session(engine)
  end)

  after_each(function()
    get_fast.load = orig_load
    orm.close_all_sessions()
    Base.metadata:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  it("loads a missing object with one SELECT through the fast path", function()
    local o = s:get(Order, 2)
    assert.equal(20, o.qty)
    assert.is_nil(o.note)
    assert.same({true}, served)
    assert.equal(1, #selects())
    assert.truthy(selects()[1]:find("gf_order"))
    assert.is_true(rawequal(o, s:scalars(qs.select(Order):where(Order.id:eq(2))):one()))
    assert.equal("persistent", orm.inspect(o).state_name or (orm.inspect(o).persistent and "persistent"))
  end)

  it("answers from the identity map without SQL", function()
    local o = s:get(Order, 1)
    helpers.clear(rec)
    assert.is_true(rawequal(o, s:get(Order, 1)))
    assert.equal(0, #rec)
    assert.same({true}, served)   -- the second get never reached it
  end)

  it("returns nil when no row has the key, and keeps no trace of it", function()
    assert.is_nil(s:get(Order, 99))
    assert.is_nil(s:get(Order, 99))
    assert.equal(2, #selects())
    assert.same({true, true}, served)
  end)

  it("takes composite keys as a list in key order or a table of attributes", function()
    local p = s:get(Pair, {1, "y"})
    assert.equal("1y", p.label)
    assert.is_true(rawequal(p, s:get(Pair, {a = 1, b = "y"})))
    assert.is_nil(s:get(Pair, {2, "y"}))
    local q = s:get(Pair, {b = "x", a = 1})
    assert.equal("1x", q.label)
    assert.same({true, true, true}, served)
  end)

  it("refuses a key of the wrong arity or type as before", function()
    raises(qs.exc.InvalidRequestError, function() s:get(Pair, 1) end)
    raises(qs.exc.InvalidRequestError, function() s:get(Pair, {1, "x", 3}) end)
    raises(qs.exc.InvalidRequestError, function() s:get(Order, {}) end)
    raises(qs.exc.ArgumentError, function() s:get(Pair, {a = 1, c = "x"}) end)
    local ok, err = pcall(s.get, s, Order, "abc")
    assert.is_false(ok)
    assert.is_true(qs.exc.is_error(err, qs.exc.ArgumentError))
    assert.truthy(tostring(err):find("pk_1", 1, true))
    assert.truthy(tostring(err):find("not an integer", 1, true))
    raises(qs.exc.ArgumentError, function() s:get(Order, 1.5) end)
    raises(qs.exc.ArgumentError, function() s:get(Order, 1, {identity_token = "x"}) end)
    -- the session goes on
    assert.equal(10, s:get(Order, 1).qty)
  end)

  it("refreshes an expired object and returns nil for one whose row is gone", function()
    local o = s:get(Order, 1)
    s:commit()   -- expires it
    engine:begin(function(c)
      c:execute(qs.update(Order.__table__):where(Order.__table__.c.id:eq(1)):values({qty = 11}))
      c:execute(qs.delete(Order.__table__):where(Order.__table__.c.id:eq(2)))
    end)
    local o2 = s:get(Order, 2)
    assert.is_nil(o2)
    assert.is_true(rawequal(o, s:get(Order, 1)))
    assert.equal(11, rawget(getmetatable(o), "qty"))   -- loaded by the get, not on access
  end)

  it("returns nil for an object deleted in the session and flushed", function()
    local o = s:get(Order, 1)
    s:delete(o)
    s:flush()
    helpers.clear(rec)
    assert.is_nil(s:get(Order, 1))
    assert.equal(1, #selects())
  end)

  it("autoflushes before its SELECT: a pending object with the key is what it finds", function()
    local o = Order({id = 5, qty = 50})
    s:add(o)
    assert.is_true(rawequal(o, s:get(Order, 5)))
    assert.equal(1, #helpers.matching(rec, "^%s*INSERT"))
    -- and a change to another object is written before the row is read
    local one = s:get(Order, 1)
    one.qty = 12
    assert.is_nil(s:get(Order, 7))
    assert.truthy(helpers.first_index(rec, "^%s*UPDATE") < #rec)
  end)

  it("loads a column_property added after the first get (the cached statement is rebuilt)", function()
    assert.equal(10, s:get(Order, 1).qty)
    s:close()
    Order.twice = orm.column_property(Order.qty * 2)
    s = orm.Session(engine)
    local o = s:get(Order, 2)
    helpers.clear(rec)
    assert.equal(40, o.twice)
    assert.equal(0, #rec)   -- loaded with the row, no second SELECT
    assert.same({true, true}, served)
  end)

  it("fires the class's load event for an object it makes", function()
    local loaded = {}
    qs.event.listen(Order, "load", function(obj) loaded[#loaded + 1] = obj end)
    local o = s:get(Order, 1)
    assert.equal(1, #loaded)
    assert.is_true(rawequal(o, loaded[1]))
  end)

  it("works per dialect: the same mapper through a SQLite engine and this backend", function()
    local lite = helpers.sqlite_engine()
    Base.metadata:create_all(lite)
    local ls = orm.Session(lite)
    ls:add(Order({id = 1, qty = 7}))
    ls:commit()
    assert.equal(7, ls:get(Order, 1).qty)
    assert.equal(10, s:get(Order, 1).qty)
    ls:close()
    lite:dispose()
  end)

  describe("the general path", function()
    it("serves execution_options and a connection with before_execute listeners", function()
      local seen = {}
      qs.event.listen(engine, "before_execute", function(_, stmt) seen[#seen + 1] = stmt end)
      local o = s:get(Order, 1)
      assert.equal(10, o.qty)
      assert.same({false}, served)
      assert.equal(1, #seen)
      assert.equal(20, s:get(Order, 2, {execution_options = {}}).qty)
      assert.equal(1, #served)   -- options: not asked
      assert.is_nil(s:get(Order, 3, {execution_options = {}}))
    end)

    it("loads a mapper's joined eager relationship with the row", function()
      local B = orm.declarative_base()
      local Parent = B:model("Parent", {
        __tablename = "gf_parent",
        id = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
        kids = orm.relationship("Kid", {lazy = "joined", order_by = "Kid.id"}),
      })
      local Kid = B:model("Kid", {
        __tablename = "gf_kid",
        id = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
        parent_id = orm.mapped_column(qs.ForeignKey("gf_parent.id")),
      })
      B.metadata:create_all(engine)
      s:add(Parent({id = 1, kids = {Kid({id = 1}), Kid({id = 2})}}))
      s:commit()
      s:close()
      s = orm.Session(engine)
      helpers.clear(rec)
      local p = s:get(Parent, 1)
      assert.equal(1, #selects())
      assert.truthy(selects()[1]:find("JOIN"))
      assert.equal(2, #p.kids)
      assert.equal(1, #selects())
      assert.same({false}, served)
      assert.is_nil(s:get(Parent, 2))
      s:close()
      B.metadata:drop_all(engine)
    end)

    it("runs a mapper's selectin relationship after the fast path's row", function()
      local B = orm.declarative_base()
      local Parent = B:model("Parent", {
        __tablename = "gf_parent",
        id = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
        kids = orm.relationship("Kid", {lazy = "selectin"}),
      })
      local Kid = B:model("Kid", {
        __tablename = "gf_kid",
        id = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
        parent_id = orm.mapped_column(qs.ForeignKey("gf_parent.id")),
      })
      B.metadata:create_all(engine)
      s:add(Parent({id = 1, kids = {Kid({id = 1}), Kid({id = 2}), Kid({id = 3})}}))
      s:commit()
      s:close()
      s = orm.Session(engine)
      helpers.clear(rec)
      local p = s:get(Parent, 1)
      assert.same({true}, served)
      assert.equal(2, #selects())
      assert.equal(3, #rawget(p, attributes.STATE).colls.kids)   -- loaded, not on access
      assert.equal(2, #selects())
      s:close()
      B.metadata:drop_all(engine)
    end)

    it("applies loader options given as options", function()
      local B = orm.declarative_base()
      local Parent = B:model("Parent", {
        __tablename = "gf_parent",
        id = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
        kids = orm.relationship("Kid"),
      })
      local Kid = B:model("Kid", {
        __tablename = "gf_kid",
        id = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
        parent_id = orm.mapped_column(qs.ForeignKey("gf_parent.id")),
      })
      B.metadata:create_all(engine)
      s:add(Parent({id = 1, kids = {Kid({id = 1}), Kid({id = 2})}}))
      s:commit()
      s:close()
      s = orm.Session(engine)
      helpers.clear(rec)
      local p = s:get(Parent, 1, {options = {orm.selectinload(Parent.kids)}})
      assert.equal(2, #selects())
      assert.equal(2, #p.kids)
      assert.equal(2, #selects())
      raises(qs.exc.ArgumentError, function() s:get(Parent, 1, {options = "kids"}) end)
      s:close()
      B.metadata:drop_all(engine)
    end)
  end)

  describe("populate_existing", function()
    it("populate_existing reads the row again into the identity-mapped object", function()
      engine:begin(function(c)
        c:execute(qs.update(Order.__table__):where(Order.__table__.c.id:eq(2)):values({qty = 21}))
      end)
      local two = s:get(Order, 2)
      assert.equal(21, two.qty)
      engine:begin(function(c)
        c:execute(qs.update(Order.__table__):where(Order.__table__.c.id:eq(2)):values({qty = 22}))
      end)
      helpers.clear(rec)
      assert.equal(21, s:get(Order, 2).qty)   -- the identity map, no SQL
      assert.equal(0, #rec)
      if helpers.on("postgresql", "mysql") then
        -- the session's transaction: a new snapshot needs a new transaction on
        -- the servers (MariaDB's REPEATABLE READ), so commit first
        s:commit()
      end
      local again = s:get(Order, 2, {populate_existing = true})
      assert.is_true(rawequal(two, again))
      assert.equal(22, rawget(getmetatable(two), "qty"))
      -- the autoflush writes the session's change first, then the row is read
      local o = s:get(Order, 1)
      o.qty = 13
      local same = s:get(Order, 1, {populate_existing = true})
      assert.is_true(rawequal(o, same))
      assert.equal(13, o.qty)
      assert.is_false(s:is_modified(o))
      -- a row gone: nil (the session's write transaction ended first: SQLite
      -- locks the file)
      s:commit()
      engine:begin(function(c) c:execute(qs.delete(Order.__table__):where(Order.__table__.c.id:eq(2))) end)
      assert.is_nil(s:get(Order, 2, {populate_existing = true}))
    end)
  end)
end)

describe("Session:get fast path and inheritance on " .. helpers.backend, function()
  local engine, s, rec

  after_each(function()
    orm.close_all_sessions()
    engine:dispose()
    helpers.cleanup()
  end)

  it("joined-table: a base get returns the subclass object; a sibling's key gives nil", function()
    local Base = orm.declarative_base()
    local Employee = Base:model("Employee", {
      __tablename = "gf_employee",
      id = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
      name = orm.mapped_column(qs.String(30)),
      type = orm.mapped_column(qs.String(20)),
      __mapper_args = {polymorphic_on = "type", polymorphic_identity = "employee"},
    })
    local Manager = Employee:model("Manager", {
      __tablename = "gf_manager",
      id = orm.mapped_column(qs.Integer, qs.ForeignKey("gf_employee.id"), {primary_key = true}),
      manager_name = orm.mapped_column(qs.String(30)),
      __mapper_args = {polymorphic_identity = "manager"},
    })
    local Engineer = Employee:model("Engineer", {
      __tablename = "gf_engineer",
      id = orm.mapped_column(qs.Integer, qs.ForeignKey("gf_employee.id"), {primary_key = true}),
      language = orm.mapped_column(qs.String(30)),
      __mapper_args = {polymorphic_identity = "engineer"},
    })
    engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
    s = orm.Session(engine)
    s:add_all({Employee({id = 1, name = "e"}), Manager({id = 2, name = "m", manager_name = "boss"}),
      Engineer({id = 3, name = "g", language = "lua"})})
    s:commit()
    s:close()
    s = orm.Session(engine)
    rec = helpers.recorder(engine)
    local m = s:get(Employee, 2)
    assert.equal(Manager, orm.inspect(m).mapper.class)
    assert.equal("m", m.name)
    assert.equal("boss", m.manager_name)   -- loads on access
    assert.is_true(rawequal(m, s:get(Manager, 2)))
    assert.is_nil(s:get(Engineer, 2))      -- in the map as a Manager
    local g = s:get(Engineer, 3)
    assert.equal("lua", rawget(getmetatable(g), "language"))   -- the subclass's own table joined
    assert.is_nil(s:get(Manager, 3))
    assert.is_nil(s:get(Manager, 1))
    assert.equal(Employee, orm.inspect(s:get(Employee, 1)).mapper.class)
    s:close()   -- its transaction would block the DROP on the servers
    Base.metadata:drop_all(engine)
  end)

  it("single-table: a base get returns the subclass object; the subclass get only its rows", function()
    local Base = orm.declarative_base()
    local Item = Base:model("Item", {
      __tablename = "gf_item",
      id = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
      kind = orm.mapped_column(qs.String(10)),
      width = orm.mapped_column(qs.Integer),
      __mapper_args = {polymorphic_on = "kind", polymorphic_identity = "item"},
    })
    local Box = Item:model("Box", {lid = orm.mapped_column(qs.Boolean),
      __mapper_args = {polymorphic_identity = "box"}})
    engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
    s = orm.Session(engine)
    s:add_all({Item({id = 1, width = 1}), Box({id = 2, width = 2, lid = true})})
    s:commit()
    s:close()
    s = orm.Session(engine)
    assert.is_nil(s:get(Box, 1))   -- an Item row: not a Box (the discriminator criterion)
    local b = s:get(Item, 2)
    assert.equal(Box, orm.inspect(b).mapper.class)
    assert.is_true(b.lid)
    assert.is_true(rawequal(b, s:get(Box, 2)))
    s:close()
    s = orm.Session(engine)
    local b2 = s:get(Box, 2)
    assert.equal(Box, orm.inspect(b2).mapper.class)
    assert.equal(Item, orm.inspect(s:get(Item, 1)).mapper.class)
    s:close()
    Base.metadata:drop_all(engine)
  end)
end)
