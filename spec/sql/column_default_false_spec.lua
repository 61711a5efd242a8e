-- qs.Column's default = false is kept as the default (a Boolean column's),
-- not taken for "no default".
local qs = require("quicksilver")
local helpers = require("spec.helpers")

describe("Column default false", function()
  after_each(helpers.cleanup)

  it("keeps false as the default and inserts it", function()
    local md = qs.MetaData()
    local t = qs.Table("flags", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("on", qs.Boolean, {default = false}), qs.Column("off", qs.Boolean, {insert_default = false}))
    assert.is_false(t.c.on.default)
    assert.is_false(t.c.off.default)
    local engine = helpers.sqlite_engine()
    md:create_all(engine)
    engine:begin(function(conn)
      conn:execute(qs.insert(t), {id = 1})
      local row = conn:execute(qs.select(t.c.on, t.c.off)):one()
      assert.same({false, false}, {row[1], row[2]})
    end)
    engine:dispose()
  end)
end)
