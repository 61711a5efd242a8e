-- A Numeric primary key: its values come back as decimals (userdata), so
-- the identity map keys them by the digits that stand for their value
-- (orm/identity.lua), never by the userdata's identity: the same row loaded
-- twice is one object, and get() with a decimal of another spelling of the
-- same value ("10.4" for "10.40") finds it. Runs on every backend.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local identity = require("quicksilver.orm.identity")
local helpers = require("spec.helpers")

describe("a Numeric primary key on " .. helpers.backend, function()
  local Base, Price, engine

  before_each(function()
    Base = orm.declarative_base()
    Price = Base:model("Price", {
      __tablename = "numkey_price",
      code = orm.mapped_column(qs.Numeric(10, 2), {primary_key = true, autoincrement = false}),
      label = orm.mapped_column(qs.String(20)),
    })
    engine = helpers.backend_engine()
    Base.metadata:create_all(engine)
  end)

  after_each(function()
    Base.metadata:drop_all(engine)
    engine:dispose()
    helpers.cleanup()
  end)

  it("keys equal decimals as one identity", function()
    assert.equal(identity.value_key(qs.Decimal("10.40")), identity.value_key(qs.Decimal("10.4")))
    assert.equal(identity.value_key(qs.Decimal("-0.00")), identity.value_key(qs.Decimal("0")))
    assert.are_not.equal(identity.value_key(qs.Decimal("10.41")), identity.value_key(qs.Decimal("10.4")))
    -- a decimal key never meets a string key of the same text
    assert.are_not.equal(identity.value_key(qs.Decimal("7")), identity.value_key("7"))
  end)

  it("loads the same row as the same object and finds it by another spelling", function()
    local s = orm.Session(engine)
    s:add(Price({code = qs.Decimal("10.40"), label = "ten"}))
    s:commit()
    local a = s:scalars(qs.select(Price)):one()
    local b = s:scalars(qs.select(Price):where(Price.label:eq("ten"))):one()
    assert.is_true(qs.is_decimal(a.code))
    assert.equal(a, b)
    assert.equal(a, s:get(Price, qs.Decimal("10.4")))
    a.label = "TEN"
    s:commit()
    local s2 = orm.Session(engine)
    assert.equal("TEN", s2:get(Price, qs.Decimal("10.40")).label)
    s2:close()
    s:close()
  end)
end)
