-- Statements into objects: from_statement (text() or a select, columns by
-- name), orm.aliased(Model, subquery), populate_existing (statement,
-- Session:execute, legacy Query), execution_options autoflush = false and
-- yield_per on ORM statements, orm.defaultload paths.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local fixtures = require("spec.support.fixtures")
local raises = helpers.assert_raises_kind

describe("statement shaping", function()
  local Base, User, Address, Tag, engine, s, rec

  local function selects()
    return #helpers.matching(rec, "^SELECT")
  end

  before_each(function()
    local m = fixtures.user_address({addresses = {order_by = "Address.email"},
      address = {tags = orm.relationship("Tag", {order_by = "Tag.label"})}})
    Base, User, Address = m.Base, m.User, m.Address
    Tag = Base:model("Tag", {
      __tablename = "tags",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      label = orm.mapped_column(qs.String(20)),
      address_id = orm.mapped_column(qs.ForeignKey("addresses.id")),
    })
    engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
    s = orm.Session(engine)
    for i = 1, 4 do
      s:add(User({name = "u" .. i, addresses = {Address({email = "a" .. i, tags = {Tag({label = "t" .. i})}}),
        Address({email = "b" .. i})}}))
    end
    s:commit()
    s:close()
    rec = helpers.recorder(engine)
  end)

  after_each(function()
    orm.close_all_sessions()
    s:close()
    engine:dispose()
    helpers.cleanup()
  end)

  describe("from_statement", function()
    it("loads objects from a text() by column name, through the identity map", function()
      local u1 = s:get(User, 1)
      local users = s:scalars(qs.select(User):from_statement(
        qs.text("SELECT name, id FROM users WHERE id <= :n ORDER BY id")), {n = 2}):all()
      assert.equal(2, #users)
      assert.equal(u1, users[1])
      assert.equal("u2", users[2].name)
    end)

    it("leaves the columns the rows lack unloaded (loaded on access)", function()
      local u = s:scalars(qs.select(User):from_statement(qs.text("SELECT id FROM users WHERE id = 3"))):one()
      helpers.clear(rec)
      assert.equal("u3", u.name)
      assert.equal(1, selects())
    end)

    it("loads from another select and keeps the select's loader options", function()
      local inner = qs.select(User.id, User.name):where(User.name:ne("u1")):order_by(User.id)
      local users = s:scalars(qs.select(User):options(orm.selectinload(User.addresses)):from_statement(inner)):all()
      assert.equal(3, #users)
      helpers.clear(rec)
      assert.equal("a2", users[1].addresses[1].email)
      assert.equal(0, selects())
    end)

    it("refuses rows without the primary key, a DML statement, an aliased entity", function()
      raises(qs.exc.InvalidRequestError, function()
        s:scalars(qs.select(User):from_statement(qs.text("SELECT name FROM users"))):all()
      end)
      raises(qs.exc.ArgumentError, function() qs.select(User):from_statement(qs.delete(User)) end)
      raises(qs.exc.ArgumentError, function() qs.select(User):from_statement("SELECT 1") end)
      raises(qs.exc.InvalidRequestError, function()
        s:scalars(qs.select(orm.aliased(User)):from_statement(qs.text("SELECT id FROM users"))):all()
      end)
    end)
  end)

  describe("aliased(Model, subquery)", function()
    it("reads the entity from the subquery's columns", function()
      local sub = qs.select(User):where(User.id:gt(2)):subquery()
      local u = orm.aliased(User, sub)
      local users = s:scalars(qs.select(u):order_by(u.id)):all()
      assert.equal(2, #users)
      assert.equal("u3", users[1].name)
      assert.equal(users[1], s:get(User, 3))
      local n = s:scalar(qs.select(qs.func.count()):select_from(sub))
      assert.equal(2, n)
    end)

    it("joins from the aliased subquery through a relationship", function()
      local u = orm.aliased(User, qs.select(User):where(User.name:eq("u2")):subquery("top"))
      local rows = s:execute(qs.select(u, Address.email):join(u.addresses):order_by(Address.email)):all()
      assert.equal(2, #rows)
      assert.equal("u2", rows[1][1].name)
      assert.equal("a2", rows[1][2])
    end)

    it("refuses a subquery lacking a mapped column, naming it", function()
      local ok, err = pcall(orm.aliased, User, qs.select(User.id):subquery())
      assert.is_false(ok)
      assert.truthy(tostring(err):find("name"))
    end)
  end)

  describe("populate_existing", function()
    it("is off by default: loaded objects keep their values", function()
      local u = s:get(User, 1)
      s:execute(qs.update(User):where(User.id:eq(1)):values({name = "changed"}),
        nil, {execution_options = {synchronize_session = false}})
      s:scalars(qs.select(User):where(User.id:eq(1))):all()
      assert.equal("u1", u.name)
    end)

    it("as a statement option: the rows overwrite the objects, changes discarded", function()
      local u = s:get(User, 1)
      local u2 = s:get(User, 2)
      s:execute(qs.update(User):values({name = qs.literal("x") .. User.name}),
        nil, {execution_options = {synchronize_session = false}})
      u2.name = "pending"
      local users = s:scalars(qs.select(User):where(User.id:le(2)):order_by(User.id)
        :execution_options({populate_existing = true, autoflush = false})):all()
      assert.equal(u, users[1])
      assert.equal("xu1", u.name)
      assert.equal("xu2", u2.name)
      assert.is_false(s:is_modified(u2))
    end)

    it("as Session:execute's execution option and the legacy Query's method", function()
      local u = s:get(User, 3)
      s:execute(qs.update(User):where(User.id:eq(3)):values({name = "v1"}),
        nil, {execution_options = {synchronize_session = false}})
      s:execute(qs.select(User):where(User.id:eq(3)), nil, {execution_options = {populate_existing = true}})
      assert.equal("v1", u.name)
      s:execute(qs.update(User):where(User.id:eq(3)):values({name = "v2"}),
        nil, {execution_options = {synchronize_session = false}})
      s:query(User):filter(User.id:eq(3)):populate_existing():all()
      assert.equal("v2", u.name)
    end)

    it("with a joined eager load: each object overwritten once, its collection refilled", function()
      local u = s:get(User, 2)
      assert.equal(2, #u.addresses)
      s:execute(qs.update(User):where(User.id:eq(2)):values({name = "j2"}),
        nil, {execution_options = {synchronize_session = false}})
      s:execute(qs.insert(Address):values({email = "c2", user_id = 2}))
      local users = s:execute(qs.select(User):where(User.id:eq(2)):options(orm.joinedload(User.addresses))
        :execution_options({populate_existing = true})):unique():scalars():all()
      assert.equal(u, users[1])
      assert.equal("j2", u.name)
      helpers.clear(rec)
      assert.equal(3, #u.addresses)
      assert.equal(0, selects())
    end)

    it("reloads loaded collections on next access", function()
      local u = s:get(User, 1)
      assert.equal(2, #u.addresses)
      s:execute(qs.insert(Address):values({email = "c1", user_id = 1}))
      s:scalars(qs.select(User):where(User.id:eq(1)):execution_options({populate_existing = true})):all()
      assert.equal(3, #u.addresses)
    end)
  end)

  describe("execution options", function()
    it("autoflush = false skips the autoflush for that statement only", function()
      local u = s:get(User, 1)
      u.name = "renamed"
      local n = s:scalar(qs.select(qs.func.count()):select_from(User):where(User.name:eq("renamed"))
        :execution_options({autoflush = false}))
      assert.equal(0, n)
      n = s:scalar(qs.select(qs.func.count()):select_from(User):where(User.name:eq("renamed")))
      assert.equal(1, n)
    end)

    it("autoflush = false as Session:execute's option and Query:autoflush(false)", function()
      local u = s:get(User, 2)
      u.name = "r2"
      local found = s:execute(qs.select(User):where(User.name:eq("r2")), nil,
        {execution_options = {autoflush = false}}):scalars():all()
      assert.equal(0, #found)
      assert.equal(0, #s:query(User):filter(User.name:eq("r2")):autoflush(false):all())
      assert.equal(1, #s:query(User):filter(User.name:eq("r2")):all())
    end)

    it("yield_per streams objects in batches, same objects as a plain load", function()
      local res = s:execute(qs.select(User):order_by(User.id):execution_options({yield_per = 2}))
      local list = res:scalars():all()
      assert.equal(4, #list)
      assert.equal(s:get(User, 4), list[4])
      local got = {}
      for part in s:execute(qs.select(User):order_by(User.id):execution_options({yield_per = 3})):scalars()
          :partitions() do
        got[#got + 1] = #part
      end
      assert.same({3, 1}, got)
    end)

    it("refuses the ORM options not implemented, by name", function()
      for _, name in ipairs({"dml_strategy", "is_delete_using", "is_update_from", "render_nulls"}) do
        local ok, err = pcall(function() return qs.select(User):execution_options({[name] = true}) end)
        assert.is_false(ok)
        assert.truthy(tostring(err):find(name, 1, true))
      end
    end)
  end)

  it("a Column default of false is kept (was taken as no default)", function()
    local B = orm.declarative_base()
    local Flag = B:model("Flag", {__tablename = "flags", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      on = orm.mapped_column(qs.Boolean, {default = false})})
    assert.is_false(Flag.__mapper__.local_table.c.on.default)
  end)

  describe("defaultload", function()
    it("continues a path through a lazy relationship: its lazy load takes the rest", function()
      local users = s:scalars(qs.select(User):order_by(User.id)
        :options(orm.defaultload(User.addresses):selectinload(Address.tags))):all()
      assert.equal(1, selects())
      local addrs = users[1].addresses   -- the lazy load, with selectinload(Address.tags)
      assert.equal(3, selects())
      assert.equal("t1", addrs[1].tags[1].label)
      assert.equal(0, #addrs[2].tags)
      assert.equal(3, selects())
    end)

    it("through relationships already loaded it goes on at once", function()
      local users = s:scalars(qs.select(User):order_by(User.id)
        :options(orm.selectinload(User.addresses), orm.defaultload(User.addresses):selectinload(Address.tags))):all()
      assert.equal(3, selects())
      assert.equal("t2", users[2].addresses[1].tags[1].label)
      assert.equal(3, selects())
    end)

    it("refuses a relationship that does not continue the path", function()
      raises(qs.exc.ArgumentError, function() orm.defaultload(User.addresses):selectinload(User.addresses) end)
      raises(qs.exc.ArgumentError, function() orm.defaultload(User.name) end)
    end)
  end)
end)
