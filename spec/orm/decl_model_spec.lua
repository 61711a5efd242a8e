-- Base:model's parts (orm/decl.lua): deferred column options hold in every
-- form of table (own, joined subclass, single-table subclass); the
-- __mapper_args that name a column refuse one that is not mapped.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

local function props_of(cls, keys)
  local out = {}
  for _, k in ipairs(keys) do
    local p = cls.__mapper__.props[k]
    out[k] = {deferred = p.deferred or false, group = p.group or false}
  end
  return out
end

describe("model", function()
  local Base, Person, Engineer, Manager
  before_each(function()
    Base = orm.declarative_base()
    Person = Base:model("Person", {
      __tablename = "people",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      kind = orm.mapped_column(qs.String(20)),
      bio = orm.mapped_column(qs.Text, {deferred = true}),
      notes = orm.mapped_column(qs.Text, {deferred_group = "long"}),
      __mapper_args = {polymorphic_on = "kind", polymorphic_identity = "person"},
    })
    Engineer = Person:model("Engineer", {
      __tablename = "engineers",
      id = orm.mapped_column(qs.Integer, qs.ForeignKey("people.id"), {primary_key = true}),
      skill = orm.mapped_column(qs.String(20)),
      cv = orm.deferred(qs.Text),
      spec_sheet = orm.mapped_column(qs.Text, {deferred_group = "docs"}),
      __mapper_args = {polymorphic_identity = "engineer"},
    })
    Manager = Person:model("Manager", {
      budget = orm.mapped_column(qs.Integer),
      plan = orm.mapped_column(qs.Text, {deferred = true, deferred_group = "docs"}),
      memo = orm.deferred(qs.Text),
      __mapper_args = {polymorphic_identity = "manager"},
    })
  end)

  it("keeps deferred and deferred_group on a model's own table", function()
    assert.same({id = {deferred = false, group = false}, bio = {deferred = true, group = false},
      notes = {deferred = true, group = "long"}}, props_of(Person, {"id", "bio", "notes"}))
  end)

  it("keeps them on a joined-table subclass's table", function()
    assert.same({skill = {deferred = false, group = false}, cv = {deferred = true, group = false},
      spec_sheet = {deferred = true, group = "docs"}}, props_of(Engineer, {"skill", "cv", "spec_sheet"}))
    assert.is_true(Engineer.__mapper__.joined)
  end)

  it("keeps them on a single-table subclass's columns (added to the parent's table, nullable)", function()
    assert.same({budget = {deferred = false, group = false}, plan = {deferred = true, group = "docs"},
      memo = {deferred = true, group = false}}, props_of(Manager, {"budget", "plan", "memo"}))
    assert.equal(Person.__table__, Manager.__table__)
    assert.is_true(Person.__table__.c.plan.nullable)
  end)

  it("loads deferred columns of each form on access, not with the row", function()
    local engine = helpers.sqlite_engine()
    Base.metadata:create_all(engine)
    local s = orm.Session(engine)
    s:add_all({Engineer({skill = "c", cv = "long cv", spec_sheet = "sheet", bio = "b"}),
      Manager({budget = 5, plan = "p", memo = "m"})})
    s:commit()
    s:close()
    s = orm.Session(engine)
    local rec = helpers.recorder(engine)
    local e = s:execute(qs.select(Engineer)):scalars():one()
    local m = s:execute(qs.select(Manager)):scalars():one()
    for _, sql in ipairs(helpers.matching(rec, "^SELECT")) do
      assert.is_nil(sql:find("cv", 1, true))
      assert.is_nil(sql:find("memo", 1, true))
    end
    assert.equal("long cv", e.cv)
    assert.equal("sheet", e.spec_sheet)
    assert.equal("b", e.bio)
    assert.equal("m", m.memo)
    assert.equal("p", m.plan)
    s:close()
    engine:dispose()
    helpers.cleanup()
  end)

  it("refuses a polymorphic_on or version_id_col that is not a mapped column, by name", function()
    local B = orm.declarative_base()
    local err = raises(qs.exc.ArgumentError, function()
      B:model("A", {__tablename = "a", id = orm.mapped_column(qs.Integer, {primary_key = true}),
        __mapper_args = {polymorphic_on = "nope"}})
    end)
    assert.truthy(err.message:find("model A: polymorphic_on 'nope' is not a mapped column", 1, true))
    err = raises(qs.exc.ArgumentError, function()
      B:model("V", {__tablename = "v", id = orm.mapped_column(qs.Integer, {primary_key = true}),
        __mapper_args = {version_id_col = "ver"}})
    end)
    assert.truthy(err.message:find("model V: version_id_col 'ver' is not a mapped column", 1, true))
  end)
end)
