-- Bulk inserts that return keys: session:execute(insert(Model) [returning],
-- {maps of attribute names}) (SQLAlchemy 2.0's ORM bulk INSERT, names of
-- attributes apart from their columns included), session:bulk_save_objects
-- (return_defaults sets the new keys on the objects, one statement per run
-- of a class) and bulk_insert_mappings / bulk_update_mappings; on the
-- current backend.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local bulk_save = require("quicksilver.orm.bulk_save")
local raises = helpers.assert_raises_kind

describe("bulk inserts returning keys", function()
  local engine, Base, User, Note, Person, Manager
  before_each(function()
    engine = helpers.backend_engine()
    Base = orm.declarative_base()
    User = Base:model("User", {
      __tablename = "users",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column("user_name", qs.String(20)),
      rank = orm.mapped_column(qs.Integer, {default = 7}),
    })
    Note = Base:model("Note", {
      __tablename = "notes",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      body = orm.mapped_column(qs.String(20)),
    })
    Person = Base:model("Person", {
      __tablename = "people",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      kind = orm.mapped_column(qs.String(20)),
      __mapper_args = {polymorphic_on = "kind", polymorphic_identity = "person"},
    })
    Manager = Person:model("Manager", {budget = orm.mapped_column(qs.Integer),
      __mapper_args = {polymorphic_identity = "manager"}})
    Base.metadata:create_all(engine)
  end)
  after_each(function()
    engine:dispose()
    helpers.cleanup()
  end)

  it("session:execute(insert(Model):returning(Model.id), maps) returns the keys in order", function()
    local s = orm.Session(engine)
    local ids = s:execute(qs.insert(User):returning(User.id), {{name = "a"}, {name = "b"}, {name = "c"}})
      :scalars():all()
    assert.equal(3, #ids)
    local names = {}
    for i, id in ipairs(ids) do names[i] = s:get(User, id).name end
    assert.same({"a", "b", "c"}, names)
    local objs = s:scalars(qs.insert(User):returning(User), {{name = "d"}, {name = "e"}}):all()
    assert.same({"d", "e", 7}, {objs[1].name, objs[2].name, objs[2].rank})
    -- without returning: a plain bulk insert, attribute names mapped to columns
    s:execute(qs.insert(User), {{name = "f"}, {name = "g"}})
    s:commit()
    assert.equal(7, s:scalar(qs.select(qs.func.count()):select_from(User)))
    s:close()
  end)

  it("bulk_save_objects with return_defaults sets the new keys; the objects are detached", function()
    local s = orm.Session(engine)
    local objs = {}
    for i = 1, 5 do objs[i] = User({name = "u" .. i}) end
    objs[6], objs[7] = Note({body = "n1"}), Note({body = "n2"})
    local before = bulk_save.statements
    s:bulk_save_objects(objs, {return_defaults = true})
    assert.equal(2, bulk_save.statements - before)   -- one per run of a class
    for i = 1, 7 do
      assert.is_number(objs[i].id)
      assert.is_true(orm.inspect(objs[i]).detached)
    end
    s:commit()
    for i = 1, 5 do assert.equal("u" .. i, s:get(User, objs[i].id).name) end
    assert.equal("n2", s:get(Note, objs[7].id).body)
    -- an object with an identity is UPDATEd by its key
    local u = objs[2]
    u.name = "changed"
    s:bulk_save_objects({u})
    s:commit()
    s:expire_all()
    assert.equal("changed", s:scalar(qs.select(User.name):where(User.id:eq(u.id))))
    s:close()
  end)

  it("bulk_save_objects without return_defaults leaves the objects transient", function()
    local s = orm.Session(engine)
    local objs = {Manager({budget = 5}), Manager({budget = 6})}
    s:bulk_save_objects(objs)
    assert.is_nil(objs[1].id)
    assert.is_true(orm.inspect(objs[1]).transient)
    s:commit()
    local got = s:scalars(qs.select(Person):order_by(Person.id)):all()
    assert.equal(2, #got)
    assert.equal(Manager, getmetatable(got[1]) and orm.inspect(got[1]).mapper.class)
    assert.same({5, 6}, {got[1].budget, got[2].budget})
    s:close()
  end)

  it("bulk_insert_mappings sets the keys in the mappings; bulk_update_mappings updates by key", function()
    local s = orm.Session(engine)
    local maps = {{name = "x"}, {name = "y"}}
    s:bulk_insert_mappings(User, maps, {return_defaults = true})
    assert.is_number(maps[1].id)
    assert.is_number(maps[2].id)
    s:bulk_update_mappings(User, {{id = maps[2].id, name = "yy"}})
    s:commit()
    assert.equal("yy", s:get(User, maps[2].id).name)
    s:bulk_insert_mappings(Manager, {{budget = 1}})
    s:commit()
    assert.equal("manager", s:scalar(qs.select(Person.kind)))
    s:close()
  end)

  it("refuses what it does not support, by name", function()
    local s = orm.Session(engine)
    local err = raises(qs.exc.ArgumentError, function()
      s:bulk_save_objects({User({})}, {update_changed_only = false})
    end)
    assert.matches("update_changed_only", tostring(err), 1, true)
    err = raises(qs.exc.ArgumentError, function() s:bulk_save_objects({{}}) end)
    assert.matches("item #1", tostring(err), 1, true)
    err = raises(qs.exc.ArgumentError, function() s:bulk_insert_mappings(User, {{nope = 1}}) end)
    assert.matches("'nope' is not a mapped column of User", tostring(err), 1, true)
    local B2 = orm.declarative_base()
    local P = B2:model("P", {__tablename = "p", id = orm.mapped_column(qs.Integer, {primary_key = true})})
    local J = P:model("J", {__tablename = "j",
      id = orm.mapped_column(qs.Integer, qs.ForeignKey("p.id"), {primary_key = true})})
    err = raises(qs.exc.InvalidRequestError, function() s:bulk_save_objects({J({})}) end)
    assert.matches("J is a joined-table subclass", tostring(err), 1, true)
    s:close()
  end)
end)
