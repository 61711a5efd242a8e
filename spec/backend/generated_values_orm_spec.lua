-- The ORM over identity, computed and sequence columns (issue 24): the
-- flush leaves a computed column out of INSERT and UPDATE and reads its
-- value back afterwards (as it does a server default), and gets an
-- identity or sequence key back as it does an auto-increment one.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")

describe("the ORM with generated values on " .. helpers.backend, function()
  local engine, Base, Shape, Ticket

  before_each(function()
    engine = helpers.backend_engine()
    Base = orm.declarative_base()
    Shape = Base:model("Shape", {
      __tablename = "gvo_shape",
      id = orm.mapped_column(qs.Integer, {primary_key = true, identity = {start = 100}}),
      side = orm.mapped_column(qs.Integer),
      area = orm.mapped_column(qs.Integer, {computed = {sqltext = "side * side", persisted = true}}),
    })
    Ticket = Base:model("Ticket", {
      __tablename = "gvo_ticket",
      id = orm.mapped_column(qs.Integer, {primary_key = true, sequence = qs.Sequence("gvo_ticket_seq", {start = 50})}),
      label = orm.mapped_column(qs.String(20)),
    })
    Base.metadata:create_all(engine)
  end)

  after_each(function()
    if Base and engine then Base.metadata:drop_all(engine) end
    engine:dispose()
    helpers.cleanup()
  end)

  it("reads a computed attribute after the INSERT and after an UPDATE", function()
    local s = orm.Session(engine)
    local a, b = Shape({side = 3}), Shape({side = 4})
    s:add_all({a, b})
    s:commit()
    assert.equal(9, a.area)
    assert.equal(16, b.area)
    assert.equal(engine.dialect.caps.identity_columns and 100 or 1, a.id)
    a.side = 5
    s:commit()
    assert.equal(25, a.area)
    s:close()
  end)

  it("gets keys from a column's sequence", function()
    local s = orm.Session(engine)
    local t1, t2 = Ticket({label = "a"}), Ticket({label = "b"})
    s:add(t1)
    s:flush()
    s:add(t2)
    s:flush()
    local first = engine.dialect.caps.sequences and 50 or 1
    assert.same({first, first + 1}, {t1.id, t2.id})
    local batch = {Ticket({label = "c"}), Ticket({label = "d"}), Ticket({label = "e"})}
    s:add_all(batch)
    s:flush()
    assert.same({first + 2, first + 3, first + 4}, {batch[1].id, batch[2].id, batch[3].id})
    s:commit()
    s:close()
  end)
end)
