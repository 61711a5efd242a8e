-- Mixins, abstract bases and declared_attr (orm/mixins.lua): columns copied
-- per model (each table its own Column and ForeignKey), relationships,
-- hybrids, validators and methods from mixins, __abstract bases, mixins on
-- subclasses, and the clashes refused by name; created and flushed on the
-- current backend.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

local function refuses(cls, fn, text)
  local err = raises(cls, fn)
  assert.matches(text, tostring(err), 1, true)
end

local function Timestamps()
  return {
    __name = "Timestamps",
    created_at = orm.mapped_column(qs.Integer, {default = 100}),
    updated_at = orm.mapped_column(qs.Integer),
    touch = function(self) self.updated_at = (self.updated_at or 0) + 1 end,
  }
end

describe("mixins", function()
  local engine
  before_each(function() engine = helpers.backend_engine() end)
  after_each(function()
    engine:dispose()
    helpers.cleanup()
  end)

  it("copies a mixin's columns into each model's own table and flushes them", function()
    local Base = orm.declarative_base()
    local TS = Timestamps()
    local SoftDelete = {__name = "SoftDelete", deleted = orm.mapped_column(qs.Boolean),
      is_live = orm.hybrid_property(function(self) return not self.deleted end,
        {expression = function(cls) return cls.deleted:eq(false) end})}
    local User = Base:model("User", {
      __tablename = "users",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(30)),
    }, {mixins = {TS, SoftDelete}})
    local Doc = Base:model("Doc", {
      __tablename = "docs",
      __mixins = {TS},
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
    })
    assert.are_not.equal(User.__table__.c.created_at, Doc.__table__.c.created_at)
    assert.equal(User.__table__, User.__table__.c.created_at.table)
    assert.equal(Doc.__table__, Doc.__table__.c.created_at.table)
    assert.is_nil(rawget(Doc.__table__.c, "deleted"))
    Base.metadata:create_all(engine)
    local s = orm.Session(engine)
    local u = User({name = "ann", deleted = false})
    u:touch()
    s:add_all({u, Doc({})})
    s:commit()
    local got = s:scalars(qs.select(User):where(User.is_live)):all()
    assert.equal(1, #got)
    assert.same({100, 1, false}, {got[1].created_at, got[1].updated_at, got[1].deleted})
    assert.equal(100, s:scalar(qs.select(Doc.created_at)))
    s:close()
  end)

  it("calls declared_attr per model: a foreign key naming the class's table, a relationship, __tablename", function()
    local Base = orm.declarative_base()
    Base:model("Owner", {
      __tablename = "owners",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(20)),
    })
    local seen = {}
    local HasOwner = {
      __name = "HasOwner",
      __tablename = orm.declared_attr(function(cls) return cls.__name:lower() .. "s" end),
      owner_id = orm.declared_attr(function(cls)
        seen[#seen + 1] = cls.__tablename
        return orm.mapped_column(qs.Integer, qs.ForeignKey("owners.id"))
      end),
      owner = orm.declared_attr(function() return orm.relationship("Owner") end),
    }
    local Car = Base:model("Car", {id = orm.mapped_column(qs.Integer, {primary_key = true})}, {mixins = {HasOwner}})
    local Boat = Base:model("Boat", {id = orm.mapped_column(qs.Integer, {primary_key = true})}, {mixins = {HasOwner}})
    assert.same({"cars", "boats"}, seen)
    assert.equal("cars", Car.__table__.name)
    assert.are_not.equal(Car.__table__.c.owner_id.foreign_keys[1], Boat.__table__.c.owner_id.foreign_keys[1])
    Base.metadata:create_all(engine)
    local s = orm.Session(engine)
    local Owner = Base.registry.classes.Owner
    local o = Owner({name = "o"})
    s:add_all({Car({owner = o}), Boat({owner = o})})
    s:commit()
    local car = s:scalars(qs.select(Car)):one()
    assert.equal("o", car.owner.name)
    assert.equal(car.owner_id, s:scalars(qs.select(Boat)):one().owner_id)
    s:close()
  end)

  it("passes an __abstract base's columns, methods and validators to the models made from it", function()
    local Base = orm.declarative_base()
    local Named = Base:model("Named", {
      __abstract = true,
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(30)),
      check_name = orm.validates("name", function(_, _, v) return v:upper() end),
      greet = function(self) return "hi " .. self.name end,
    }, {mixins = {Timestamps()}})
    assert.is_nil(rawget(Named, "__mapper__"))
    assert.is_nil(Base.registry.classes.Named)
    local Cat = Named:model("Cat", {__tablename = "cats", lives = orm.mapped_column(qs.Integer)})
    local Dog = Named:model("Dog", {__tablename = "dogs"})
    assert.same({"id", "name", "created_at", "updated_at", "lives"}, (function()
      local out = {}
      for i, c in ipairs(Cat.__table__.columns) do out[i] = c.name end
      return out
    end)())
    Base.metadata:create_all(engine)
    local s = orm.Session(engine)
    s:add_all({Cat({name = "tom", lives = 9}), Dog({name = "rex"})})
    s:commit()
    local cat = s:scalars(qs.select(Cat)):one()
    assert.equal("hi TOM", cat:greet())
    assert.equal(100, cat.created_at)
    assert.equal("REX", s:scalars(qs.select(Dog)):one().name)
    s:close()
  end)

  it("applies a mixin to a single-table and a joined-table subclass", function()
    local Base = orm.declarative_base()
    local Person = Base:model("Person", {
      __tablename = "people",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      kind = orm.mapped_column(qs.String(20)),
      __mapper_args = {polymorphic_on = "kind", polymorphic_identity = "person"},
    })
    local Rated = {__name = "Rated", rating = orm.mapped_column(qs.Integer)}
    local Manager = Person:model("Manager", {__mapper_args = {polymorphic_identity = "manager"}},
      {mixins = {Rated}})
    local Engineer = Person:model("Engineer", {
      __tablename = "engineers",
      id = orm.mapped_column(qs.Integer, qs.ForeignKey("people.id"), {primary_key = true}),
      __mapper_args = {polymorphic_identity = "engineer"},
    }, {mixins = {Rated}})
    assert.equal(Person.__table__, Manager.__table__.c.rating.table)
    assert.equal(Engineer.__mapper__.local_table, Engineer.__mapper__.props.rating.column.table)
    Base.metadata:create_all(engine)
    local s = orm.Session(engine)
    s:add_all({Manager({rating = 3}), Engineer({rating = 5})})
    s:commit()
    local ratings = {}
    for _, p in ipairs(s:scalars(qs.select(Person):order_by(Person.id)):all()) do
      ratings[#ratings + 1] = p.kind .. "=" .. tostring(p.rating)
    end
    assert.same({"manager=3", "engineer=5"}, ratings)
    s:close()
  end)

  it("lets the model's own method win over a mixin's, and the first mixin over later ones", function()
    local Base = orm.declarative_base()
    local A = {__name = "A", who = function() return "A" end, what = function() return "A" end}
    local B = {__name = "B", who = function() return "B" end, what = function() return "B" end,
      extra = function() return "B" end}
    local M = Base:model("M", {__tablename = "m", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      who = function() return "own" end}, {mixins = {A, B}})
    assert.same({"own", "A", "B"}, {M.who(), M.what(), M.extra()})
  end)
end)

describe("mixin errors", function()
  it("refuses a mixin column clashing with the model's own, naming both", function()
    local Base = orm.declarative_base()
    local err = raises(qs.exc.ArgumentError, function()
      Base:model("User", {__tablename = "users", id = orm.mapped_column(qs.Integer, {primary_key = true}),
        created_at = orm.mapped_column(qs.String(10))}, {mixins = {Timestamps()}})
    end)
    assert.matches("model User: 'created_at' is mapped by both the model's own spec and mixin Timestamps",
      tostring(err), 1, true)
    assert.is_nil(Base.registry.classes.User)
  end)

  it("refuses two mixins mapping the same name, naming both", function()
    local Base = orm.declarative_base()
    local Other = {__name = "Audit", created_at = orm.mapped_column(qs.Integer)}
    local err = raises(qs.exc.ArgumentError, function()
      Base:model("User", {__tablename = "users", id = orm.mapped_column(qs.Integer, {primary_key = true})},
        {mixins = {Timestamps(), Other}})
    end)
    assert.matches("'created_at' is mapped by both mixin Timestamps and mixin Audit", tostring(err), 1, true)
  end)

  it("refuses an abstract base's column redefined by the model", function()
    local Base = orm.declarative_base()
    local HasId = Base:model("HasId", {__abstract = true, id = orm.mapped_column(qs.Integer, {primary_key = true})})
    local err = raises(qs.exc.ArgumentError, function()
      HasId:model("T", {__tablename = "t", id = orm.mapped_column(qs.String(5), {primary_key = true})})
    end)
    assert.matches("'id' is mapped by both the model's own spec and abstract base HasId", tostring(err), 1, true)
  end)

  it("refuses a column in one place and a plain value in another", function()
    local Base = orm.declarative_base()
    local err = raises(qs.exc.ArgumentError, function()
      Base:model("U", {__tablename = "u", id = orm.mapped_column(qs.Integer, {primary_key = true}),
        created_at = function() end}, {mixins = {Timestamps()}})
    end)
    assert.matches("'created_at' is mapped by one of the model's own spec and mixin Timestamps", tostring(err), 1, true)
  end)

  it("refuses unknown options, non-table mixins, unknown __ keys and a declared_attr returning nothing", function()
    local Base = orm.declarative_base()
    local id = function() return orm.mapped_column(qs.Integer, {primary_key = true}) end
    raises(qs.exc.ArgumentError, function()
      Base:model("A", {__tablename = "a", id = id()}, {mixin = {}})
    end, "unknown option 'mixin'")
    refuses(qs.exc.ArgumentError, function()
      Base:model("B", {__tablename = "b", id = id()}, {mixins = {"x"}})
    end, "mixin #1 is not a plain table")
    refuses(qs.exc.ArgumentError, function()
      Base:model("C", {__tablename = "c", id = id()}, {mixins = {{__name = "Bad", __table = {}}}})
    end, "mixin Bad: unknown spec key '__table'")
    refuses(qs.exc.ArgumentError, function()
      Base:model("D", {__tablename = "d", id = id()}, {mixins = {{x = orm.declared_attr(function() end)}}})
    end, "declared_attr 'x' returned nil")
    refuses(qs.exc.ArgumentError, function() orm.declared_attr(42) end, "declared_attr: expected a function")
  end)
end)
