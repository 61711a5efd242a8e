-- Reflection of tables whose quoted names hold the characters a constraint
-- list is made of: "(" in the table name, "," and a doubled quote in column
-- names. SQLite's reflection reads the CREATE TABLE text: it split the
-- column list at the first "(" anywhere (inside the quoted table name) and
-- a UNIQUE column list at every ",", so constraints came back missing or
-- with broken names.
local qs = require("quicksilver")
local helpers = require("spec.helpers")

describe("reflecting names that look like SQL on " .. helpers.backend, function()
  local engine, insp

  before_each(function()
    engine = helpers.backend_engine()
    insp = qs.inspect(engine)
    local md = qs.MetaData()
    qs.Table("rn t(x", md,
      qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("a,b", qs.Integer),
      qs.Column('q"(', qs.Integer),
      qs.UniqueConstraint("a,b", 'q"(', {name = "uq_rn"}))
    md:create_all(engine)
  end)

  after_each(function()
    engine:begin(function(conn) engine.dialect.drop_everything(conn) end)
    engine:dispose()
    helpers.cleanup()
  end)

  it("reads the columns and the UNIQUE constraint back whole", function()
    local cols = insp:get_columns("rn t(x")
    assert.same({"id", "a,b", 'q"('}, {cols[1].name, cols[2].name, cols[3].name})
    local found
    for _, u in ipairs(insp:get_unique_constraints("rn t(x")) do
      if u.name == "uq_rn" then found = u end
    end
    assert.is_table(found)
    assert.same({"a,b", 'q"('}, found.column_names)
  end)

  it("SQLite: a CHECK constraint on such names reads back whole", function()
    if helpers.backend ~= "sqlite" then return end
    engine:begin(function(c)
      c:exec_driver_sql('CREATE TABLE "rn c(k" (id INTEGER PRIMARY KEY, "a,b" INTEGER, '
        .. 'CONSTRAINT ck_rn CHECK ("a,b" > 0 AND "a,b" <> 7))')
    end)
    local cks = insp:get_check_constraints("rn c(k")
    assert.equal(1, #cks)
    assert.equal("ck_rn", cks[1].name)
    assert.equal('"a,b" > 0 AND "a,b" <> 7', cks[1].sqltext)
  end)
end)
