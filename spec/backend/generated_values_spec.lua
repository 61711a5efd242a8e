-- Sequences, identity and computed columns, PostgreSQL's named enum types
-- (issue 24) on every backend: made and dropped with the metadata, the
-- database's values back on INSERT, read back by the Inspector; a form the
-- database lacks refused by name.
local qs = require("quicksilver")
local helpers = require("spec.helpers")

describe("generated values on " .. helpers.backend, function()
  local engine, md, gen, seqt, alone

  before_each(function()
    engine = helpers.backend_engine()
    md = qs.MetaData()
    local pg = engine.dialect.name == "postgresql"
    alone = qs.Sequence("gv_alone", {start = 3, metadata = md})
    gen = qs.Table("gv_gen", md,
      qs.Column("id", qs.Integer, {primary_key = true, identity = {start = 5, increment = 2}}),
      qs.Column("a", qs.Integer),
      qs.Column("b", qs.Integer, {computed = {sqltext = "a * 2", persisted = true}}),
      qs.Column("c", qs.Integer, {computed = {sqltext = "a + 1", persisted = (pg or nil) and true}}),
      qs.Column("m", qs.Enum("happy", "sad", {name = "gv_mood"})))
    seqt = qs.Table("gv_seq", md,
      qs.Column("id", qs.Integer, {primary_key = true, sequence = qs.Sequence("gv_seq_id", {start = 10})}),
      qs.Column("x", qs.Integer),
      qs.Column("m", qs.Enum("happy", "sad", {name = "gv_mood"})))
    md:create_all(engine)
  end)

  after_each(function()
    if md and engine then md:drop_all(engine) end
    engine:dispose()
    helpers.cleanup()
  end)

  it("fills identity and computed columns and gives the new key back", function()
    engine:begin(function(conn)
      local r = conn:execute(qs.insert(gen):values({a = 4, m = "sad"}))
      local id = r.inserted_primary_key[1]
      assert.equal(engine.dialect.caps.identity_columns and 5 or 1, id)
      local row = conn:execute(qs.select(gen):where(gen.c.id:eq(id))):first()
      assert.same({4, 8, 5, "sad"}, {row.a, row.b, row.c, row.m})
      conn:execute(qs.update(gen):values({a = 10}):where(gen.c.id:eq(id)))
      row = conn:execute(qs.select(gen.c.b, gen.c.c):where(gen.c.id:eq(id))):first()
      assert.same({20, 11}, {row.b, row.c})
    end)
  end)

  it("numbers rows from a column's sequence where the database has sequences", function()
    engine:begin(function(conn)
      local r = conn:execute(qs.insert(seqt):values({x = 1, m = "happy"}))
      local first = engine.dialect.caps.sequences and 10 or 1
      assert.equal(first, r.inserted_primary_key[1])
      conn:execute(qs.insert(seqt), {{x = 2}, {x = 3}})
      local ids = conn:execute(qs.select(seqt.c.id):order_by(seqt.c.id)):scalars():all()
      assert.same({first, first + 1, first + 2}, {ids[1], ids[2], ids[3]})
    end)
  end)

  it("runs a standalone sequence, or refuses it by name where there are none", function()
    engine:connect(function(conn)
      if engine.dialect.caps.sequences then
        assert.equal(3, conn:scalar(alone))
        assert.equal(4, conn:scalar(alone:next_value()))
        assert.equal(5, conn:execute(qs.select(alone:next_value())):scalar())
      else
        local err = helpers.assert_raises_kind(qs.exc.CompileError, function() return conn:scalar(alone) end)
        assert.truthy(tostring(err):find("Sequence 'gv_alone'", 1, true), tostring(err))
      end
    end)
  end)

  it("reflects identity, computed columns, enum types and the sequences", function()
    local insp = qs.inspect(engine)
    local cols = {}
    for _, c in ipairs(insp:get_columns("gv_gen")) do cols[c.name] = c end
    assert.is_table(cols.b.computed)
    assert.is_true(cols.b.computed.persisted)
    assert.truthy(tostring(cols.b.computed.sqltext):find("a", 1, true))
    if engine.dialect.caps.identity_columns then
      assert.same({always = false, start = 5, increment = 2}, cols.id.identity)
    end
    if engine.dialect.caps.enum_types then
      assert.same({"happy", "sad"}, cols.m.type.enums)
      assert.equal("gv_mood", cols.m.type.enum_name)
      assert.is_true(engine.dialect.has_type(engine:connect(), "gv_mood"))
    end
    local names = insp:get_sequence_names()
    if engine.dialect.caps.sequences then
      assert.same({"gv_alone", "gv_seq_id"}, names)
    else
      assert.same({}, names)
    end
  end)

  it("drops the sequences and the enum type with the tables", function()
    md:drop_all(engine)
    assert.same({}, qs.inspect(engine):get_sequence_names())
    if engine.dialect.caps.enum_types then
      engine:connect(function(conn) assert.is_false(engine.dialect.has_type(conn, "gv_mood")) end)
    end
    md:create_all(engine)   -- again: checkfirst finds nothing left over
  end)

  it("refuses a VIRTUAL computed column on PostgreSQL by name", function()
    if engine.dialect.caps.computed_virtual then return end
    local v = qs.Table("gv_virtual", qs.MetaData(), qs.Column("a", qs.Integer),
      qs.Column("b", qs.Integer, {computed = {sqltext = "a", persisted = false}}))
    local err = helpers.assert_raises_kind(qs.exc.CompileError, function() v:create(engine) end)
    assert.truthy(tostring(err):find("VIRTUAL", 1, true), tostring(err))
  end)
end)
