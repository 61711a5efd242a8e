-- migrate/batch.lua's rebuild, on an in-memory SQLite database (the
-- dialect without ALTER TABLE for columns and constraints): each phase's
-- result (the plan from the table, the changes, the copy and swap, the
-- indexes made again) and each refusal, named.
local qs = require("quicksilver")
local op_mod = require("quicksilver.migrate.op")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("batch_alter_table's rebuild", function()
  local engine

  before_each(function()
    engine = qs.create_engine("sqlite://")
    engine:begin(function(c)
      c:exec_driver_sql("CREATE TABLE owners (id INTEGER PRIMARY KEY)")
      c:exec_driver_sql("CREATE TABLE pets (id INTEGER PRIMARY KEY, owner_id INTEGER REFERENCES owners (id), " ..
        "name VARCHAR(20) NOT NULL, legs INTEGER, live BOOLEAN, weight INTEGER, extra INTEGER, CONSTRAINT uq_name " ..
          "UNIQUE (name), " ..
        "CONSTRAINT ck_legs CHECK (legs >= 0))")
      c:exec_driver_sql("CREATE INDEX ix_weight ON pets (weight)")
      c:exec_driver_sql("CREATE INDEX ix_live_name ON pets (name) WHERE live = 1")
      c:exec_driver_sql("INSERT INTO owners (id) VALUES (1)")
      c:exec_driver_sql("INSERT INTO pets (id, owner_id, name, legs, live, weight) VALUES (1, 1, 'rex', 4, 1, 9)")
    end)
  end)

  after_each(function() engine:dispose() end)

  local function batch(fn)
    engine:begin(function(c) op_mod.new(c).batch_alter_table("pets", fn) end)
  end

  local function index_sql(name)
    return engine:connect(function(c)
      return c:exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", {name}):scalar()
    end)
  end

  it("renames, drops, adds and alters columns with the rows, constraints and indexes kept", function()
    batch(function(b)
      b.alter_column("weight", {new_column_name = "mass", type = qs.BigInteger, server_default = "4"})
      b.drop_column("extra")
      b.add_column(qs.Column("note", qs.String(10)))
      b.create_index("ix_note", {"note"}, {unique = true, sqlite_where = "note IS NOT NULL"})
    end)
    local insp = qs.inspect(engine)
    local names = {}
    for _, c in ipairs(insp:get_columns("pets")) do names[#names + 1] = c.name end
    assert.same({"id", "owner_id", "name", "legs", "live", "mass", "note"}, names)
    local row = engine:connect(function(c)
      return c:exec_driver_sql("SELECT id, owner_id, name, legs, mass FROM pets"):all()[1]
    end)
    assert.same({1, 1, "rex", 4, 9}, {row[1], row[2], row[3], row[4], row[5]})
    -- the plain index follows the rename, the partial one keeps its WHERE
    assert.matches("ON pets %(mass%)", index_sql("ix_weight"))
    assert.equal("CREATE INDEX ix_live_name ON pets (name) WHERE live = 1", index_sql("ix_live_name"))
    assert.matches("WHERE note IS NOT NULL", index_sql("ix_note"))
    -- the constraints came along: the foreign key, the unique, the check
    assert.equal("owners", insp:get_foreign_keys("pets")[1].referred_table)
    raises(qs.exc.IntegrityError, function()
      engine:begin(function(c) c:exec_driver_sql("INSERT INTO pets (id, name) VALUES (2, 'rex')") end)
    end)
    raises(qs.exc.IntegrityError, function()
      engine:begin(function(c) c:exec_driver_sql("INSERT INTO pets (id, name, legs) VALUES (3, 'max', -1)") end)
    end)
  end)

  it("writes each foreign key once, however many rebuilds", function()
    batch(function(b) b.add_column(qs.Column("a", qs.Integer)) end)
    batch(function(b) b.add_column(qs.Column("b", qs.Integer)) end)
    local sql = engine:connect(function(c)
      return c:exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'pets'"):scalar()
    end)
    local _, n = sql:gsub("FOREIGN KEY", "")
    assert.equal(1, n, sql)
    assert.equal(1, #qs.inspect(engine):get_foreign_keys("pets"))
  end)

  it("drops and adds constraints and replaces the primary key", function()
    batch(function(b)
      b.drop_constraint("uq_name", {type_ = "unique"})
      b.create_unique_constraint("uq_name_legs", {"name", "legs"})
      b.create_primary_key("pk_pets", {"id", "name"})
    end)
    local insp = qs.inspect(engine)
    assert.same({"id", "name"}, insp:get_pk_constraint("pets").constrained_columns)
    local uq = insp:get_unique_constraints("pets")
    assert.equal(1, #uq)
    assert.same({"name", "legs"}, uq[1].column_names)
  end)

  it("refuses by name what it cannot do, leaving the table as it was", function()
    local function refused(cls, pattern, fn)
      local err = raises(cls, function() batch(fn) end)
      assert.matches(pattern, err.message)
    end
    refused(qs.exc.ArgumentError, "batch_alter_table%(pets%): no column nope", function(b) b.drop_column("nope") end)
    refused(qs.exc.ArgumentError, "no constraint named nope", function(b) b.drop_constraint("nope") end)
    refused(qs.exc.ArgumentError, "create_primary_key needs a list of columns",
      function(b) b.create_primary_key("pk", {}) end)
    refused(qs.exc.ArgumentError, "no column nope", function(b) b.create_primary_key("pk", {"nope"}) end)
    refused(qs.exc.NotSupportedError,
      "index ix_live_name is partial or on expressions and names the renamed column name",
      function(b) b.alter_column("name", {new_column_name = "title"}) end)
    refused(qs.exc.NotSupportedError, "keeps no comments %(comment%)",
      function(b) b.alter_column("name", {comment = "x"}) end)
    engine:begin(function(c)
      c:exec_driver_sql("CREATE TABLE later (id INTEGER PRIMARY KEY, o INTEGER REFERENCES owners (id) " ..
        "DEFERRABLE INITIALLY DEFERRED)")
    end)
    local err = raises(qs.exc.NotSupportedError, function()
      engine:begin(function(c) op_mod.new(c).batch_alter_table("later", function(b) b.drop_column("o") end) end)
    end)
    assert.matches("DEFERRABLE constraints", err.message)
    local names = {}
    for _, c in ipairs(qs.inspect(engine):get_columns("pets")) do names[#names + 1] = c.name end
    assert.same({"id", "owner_id", "name", "legs", "live", "weight", "extra"}, names)
  end)
end)
