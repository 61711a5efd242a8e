-- Reflection on every backend: what create_all made reads back equal;
-- a schema made by hand in SQL (composite keys, self-references, unique
-- and check constraints, indexes, views) is described and rebuilt.
local qs = require("quicksilver")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("reflection on " .. helpers.backend, function()
  local engine, insp

  before_each(function()
    engine = helpers.backend_engine()
    insp = qs.inspect(engine)
  end)

  after_each(function()
    engine:connect(function(c)
      c:exec_driver_sql("DROP VIEW IF EXISTS adults")
      c:commit()
    end)
    engine:begin(function(conn) engine.dialect.drop_everything(conn) end)
    engine:dispose()
    helpers.cleanup()
  end)

  local function make_schema()
    local md = qs.MetaData()
    qs.Table("users", md,
      qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("name", qs.String(30), {nullable = false}),
      qs.Column("age", qs.Integer, {server_default = 18}),
      qs.Column("active", qs.Boolean),
      qs.Column("score", qs.Numeric(10, 2)),
      qs.Column("born", qs.Date),
      qs.Column("bio", qs.Text),
      qs.UniqueConstraint("name", {name = "uq_users_name"}),
      qs.CheckConstraint("age >= 0", {name = "ck_users_age"}))
    qs.Table("addresses", md,
      qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("user_id", qs.Integer, qs.ForeignKey("users.id", {ondelete = "CASCADE"}), {nullable = false}),
      qs.Column("email", qs.String(50)),
      qs.Index("ix_addresses_email", "email"))
    md:create_all(engine)
    return md
  end

  it("describes columns, keys, constraints and indexes", function()
    make_schema()
    assert.same({"addresses", "users"}, insp:get_table_names())
    local cols = insp:get_columns("users")
    assert.equal(7, #cols)
    assert.equal("id", cols[1].name)
    assert.is_true(cols[1].autoincrement)
    assert.equal("name", cols[2].name)
    assert.is_false(cols[2].nullable)
    assert.equal(30, cols[2].type.length)
    assert.is_true(cols[3].nullable)
    assert.matches("18", tostring(cols[3].default))
    assert.equal("Boolean", cols[4].type.name)
    assert.equal("Numeric", cols[5].type.name)
    assert.same({10, 2}, {cols[5].type.precision, cols[5].type.scale})
    assert.equal("Date", cols[6].type.name)
    assert.equal("Text", cols[7].type.name)
    assert.same({"id"}, insp:get_pk_constraint("users").constrained_columns)
    local fks = insp:get_foreign_keys("addresses")
    assert.equal(1, #fks)
    assert.same({"user_id"}, fks[1].constrained_columns)
    assert.equal("users", fks[1].referred_table)
    assert.same({"id"}, fks[1].referred_columns)
    assert.equal("CASCADE", fks[1].options.ondelete)
    local ix
    for _, i in ipairs(insp:get_indexes("addresses")) do if i.name == "ix_addresses_email" then ix = i end end
    assert.truthy(ix)
    assert.same({"email"}, ix.column_names)
    assert.is_false(ix.unique)
    local uq = insp:get_unique_constraints("users")
    assert.equal(1, #uq)
    assert.same({"name"}, uq[1].column_names)
    local ck = insp:get_check_constraints("users")
    assert.equal(1, #ck)
    assert.equal("ck_users_age", ck[1].name)
    assert.matches("age >= 0", ck[1].sqltext, 1, true)
  end)

  it("maps stored types back: JSON, booleans, dates and times, unknown names", function()
    local md = qs.MetaData()
    qs.Table("typed", md,
      qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("doc", qs.JSON), qs.Column("flag", qs.Boolean), qs.Column("at", qs.DateTime),
      qs.Column("big", qs.BigInteger), qs.Column("raw", qs.LargeBinary), qs.Column("f", qs.Float))
    md:create_all(engine)
    local by = {}
    for _, c in ipairs(insp:get_columns("typed")) do by[c.name] = c.type end
    assert.equal("JSON", by.doc.name)
    assert.equal("Boolean", by.flag.name)
    assert.equal("DateTime", by.at.name)
    assert.equal("BigInteger", by.big.name)
    assert.equal("LargeBinary", by.raw.name)
    assert.equal("Float", by.f.name)
    local t = require("quicksilver.dialects.typemap").from_db("geometry")
    assert.equal("NullType", t.name)
    assert.equal("geometry", t.db_type)
  end)

  it("reflects a metadata that creates the same tables again", function()
    make_schema()
    local md = qs.MetaData()
    md:reflect({bind = engine})
    assert.truthy(md.tables.users)
    assert.truthy(md.tables.addresses)
    local a = md.tables.addresses
    assert.equal(md.tables.users.c.id, a.foreign_keys[1]:get_column())
    -- rows go in and come out through the reflected tables
    engine:begin(function(c)
      c:execute(qs.insert(md.tables.users), {name = "ada", active = true, score = 1.5})
      c:execute(qs.insert(a), {user_id = 1, email = "a@x"})
    end)
    local row = engine:connect(function(c)
      return c:execute(qs.select(md.tables.users.c.name, md.tables.users.c.age, a.c.email)
        :join_from(md.tables.users, a)):first()
    end)
    assert.same({"ada", 18, "a@x"}, {row[1], row[2], row[3]})
    -- dropped and created from the reflection, then reflected again: the same description
    local before = insp:get_columns("users")
    md:drop_all(engine)
    md:create_all(engine)
    local after = qs.inspect(engine):get_columns("users")
    for i, c in ipairs(before) do
      assert.equal(c.name, after[i].name)
      assert.equal(c.type.name, after[i].type.name)
      assert.equal(c.nullable, after[i].nullable)
    end
  end)

  it("reflects one table with autoload_with, with only, and names a missing table", function()
    make_schema()
    local md = qs.MetaData()
    local a = qs.Table("addresses", md, {autoload_with = engine})
    assert.truthy(a.c.email)
    assert.truthy(md.tables.users)          -- referred tables come along
    local md2 = qs.MetaData()
    md2:reflect({bind = engine, only = {"users"}})
    assert.is_nil(md2.tables.addresses)
    raises(qs.exc.InvalidRequestError, function() qs.MetaData():reflect({bind = engine, only = {"nope"}}) end)
    local err = raises(qs.exc.NoSuchTableError, function() insp:get_columns("nope") end)
    assert.matches("nope", tostring(err))
    raises(qs.exc.NoSuchTableError, function() qs.Table("nope", qs.MetaData(), {autoload_with = engine}) end)
    raises(qs.exc.ArgumentError, function() qs.MetaData():reflect({}) end)
  end)

  it("describes a schema written by hand: composite keys, self-reference, views", function()
    local int = "INTEGER"
    engine:begin(function(c)
      c:exec_driver_sql("CREATE TABLE node (id " .. int .. " NOT NULL, parent_id " .. int ..
        ", label VARCHAR(20), PRIMARY KEY (id), CONSTRAINT fk_parent FOREIGN KEY (parent_id) REFERENCES node (id))")
      c:exec_driver_sql("CREATE TABLE pair (a " .. int .. " NOT NULL, b " .. int .. " NOT NULL, note VARCHAR(10), " ..
        "CONSTRAINT pk_pair PRIMARY KEY (a, b))")
      c:exec_driver_sql("CREATE TABLE pair_ref (id " .. int .. " NOT NULL PRIMARY KEY, a " .. int .. ", b " .. int ..
        ", CONSTRAINT fk_pair FOREIGN KEY (a, b) REFERENCES pair (a, b))")
      c:exec_driver_sql("CREATE VIEW adults AS SELECT id, label FROM node WHERE parent_id IS NOT NULL")
    end)
    assert.same({"node", "pair", "pair_ref"}, insp:get_table_names())
    assert.same({"adults"}, insp:get_view_names())
    -- the view's SELECT, as each database keeps it (PostgreSQL and MySQL rewrite it)
    local def = insp:get_view_definition("adults"):lower()
    assert.matches("^%s*select", def)
    assert.truthy(def:find("parent_id", 1, true) and def:find("node", 1, true))
    assert.is_nil(def:find("create", 1, true))
    raises(qs.exc.NoSuchTableError, function() insp:get_view_definition("node") end)   -- a table
    raises(qs.exc.NoSuchTableError, function() insp:get_view_definition("nothing") end)
    raises(qs.exc.ArgumentError, function() insp:get_view_definition(nil) end)
    assert.same({"a", "b"}, insp:get_pk_constraint("pair").constrained_columns)
    local fk = insp:get_foreign_keys("node")[1]
    assert.equal("node", fk.referred_table)
    assert.equal("fk_parent", fk.name)
    local cfk = insp:get_foreign_keys("pair_ref")[1]
    assert.same({"a", "b"}, cfk.constrained_columns)
    assert.same({"a", "b"}, cfk.referred_columns)
    local md = qs.MetaData()
    md:reflect({bind = engine, views = true})
    assert.truthy(md.tables.adults)
    assert.equal(md.tables.node.c.id, md.tables.node.foreign_keys[1]:get_column())
  end)
end)
