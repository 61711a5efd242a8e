-- with_loader_criteria on a mixin (orm/mixins.lua + orm/criteria.lua): the
-- soft-delete pattern, one criteria for every model made with the mixin
-- (directly, through another mixin or through an abstract base), applied to
-- their SELECTs and lazy loads; models without the mixin are untouched.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")

describe("loader criteria on a mixin on " .. helpers.backend, function()
  local Base, SoftDelete, Audited, Owner, Pet, Log, engine

  before_each(function()
    Base = orm.declarative_base()
    SoftDelete = {__name = "SoftDelete", deleted = orm.mapped_column(qs.Boolean, {default = false})}
    Audited = {__name = "Audited", __mixins = {SoftDelete}}
    Owner = Base:model("Owner", {
      __tablename = "cm_owner",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(20)),
      pets = orm.relationship("Pet", {order_by = "Pet.id"}),
    }, {mixins = {SoftDelete}})
    local Kept = Base:model("Kept", {__abstract = true}, {mixins = {Audited}})
    Pet = Kept:model("Pet", {
      __tablename = "cm_pet",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      owner_id = orm.mapped_column(qs.ForeignKey("cm_owner.id")),
      name = orm.mapped_column(qs.String(20)),
    })
    Log = Base:model("Log", {
      __tablename = "cm_log",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      note = orm.mapped_column(qs.String(20)),
    })
    engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
    local s = orm.Session(engine)
    s:add_all({
      Owner({id = 1, name = "ann", pets = {Pet({id = 1, name = "rex"}), Pet({id = 2, name = "old", deleted = true})}}),
      Owner({id = 2, name = "gone", deleted = true}),
      Log({id = 1, note = "x"}),
    })
    s:commit()
    s:close()
  end)

  after_each(function()
    Base.metadata:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  it("filters every model made with the mixin, and their lazy loads", function()
    local live = orm.with_loader_criteria(SoftDelete, function(cls) return cls.deleted:is_(false) end)
    local s = orm.Session(engine)
    local owners = s:scalars(qs.select(Owner):options(live):order_by(Owner.id)):all()
    assert.equal(1, #owners)
    assert.equal("ann", owners[1].name)
    local names = {}
    for _, p in ipairs(owners[1].pets) do names[#names + 1] = p.name end
    assert.same({"rex"}, names)   -- the lazy load kept the criteria
    assert.equal(1, #s:scalars(qs.select(Pet):options(live)):all())
    assert.equal(1, #s:scalars(qs.select(Log):options(live)):all())   -- no mixin: untouched
    s:close()
    local s2 = orm.Session(engine)
    assert.equal(2, #s2:scalars(qs.select(Owner)):all())   -- without the option: every row
    s2:close()
  end)

  it("refuses one expression for a mixin (it needs a function of the class)", function()
    local err = helpers.assert_raises_kind(qs.exc.ArgumentError, function()
      orm.with_loader_criteria(SoftDelete, Owner.deleted:is_(false))
    end)
    assert.matches("takes a function", err.message, 1, true)
  end)
end)

describe("loader criteria on a write_only collection on " .. helpers.backend, function()
  local Base, Owner, Pet, engine

  before_each(function()
    Base = orm.declarative_base()
    Owner = Base:model("Owner", {
      __tablename = "cw_owner",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      pets = orm.relationship("Pet", {lazy = "write_only", order_by = "Pet.id", passive_deletes = true}),
    })
    Pet = Base:model("Pet", {
      __tablename = "cw_pet",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      owner_id = orm.mapped_column(qs.ForeignKey("cw_owner.id")),
      deleted = orm.mapped_column(qs.Boolean, {default = false}),
    })
    engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
    local s = orm.Session(engine)
    local o = Owner({id = 1})
    s:add(o)
    o.pets:add_all({Pet({id = 1}), Pet({id = 2, deleted = true})})
    s:commit()
    s:close()
  end)

  after_each(function()
    Base.metadata:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  it("keeps the parent's criteria in its :select()", function()
    local s = orm.Session(engine)
    local live = orm.with_loader_criteria(Pet, Pet.deleted:is_(false))
    local o = s:scalars(qs.select(Owner):options(live)):one()
    assert.equal(1, #s:scalars(o.pets:select()):all())
    s:close()
    local s2 = orm.Session(engine)
    local o2 = s2:scalars(qs.select(Owner)):one()
    assert.equal(2, #s2:scalars(o2.pets:select()):all())
    s2:close()
  end)
end)
