-- qs.DDL on every backend: executed directly, and as a listener of a
-- Table's and MetaData's before_create / after_create / before_drop /
-- after_drop events, with execute_if by dialect and by callable.
local qs = require("quicksilver")
local helpers = require("spec.helpers")

describe("DDL() and create/drop events on " .. helpers.backend, function()
  local engine

  before_each(function() engine = helpers.backend_engine() end)
  after_each(function()
    engine:dispose()
    helpers.cleanup()
  end)

  it("runs directly through conn:execute", function()
    engine:begin(function(c)
      c:execute(qs.DDL("CREATE TABLE ddl_direct (id INTEGER PRIMARY KEY, v VARCHAR(10))"))
      c:execute(qs.DDL("INSERT INTO ddl_direct (id, v) VALUES (1, '50%%')"))
    end)
    assert.equal("50%", engine:connect(function(c)
      return c:execute(qs.text("SELECT v FROM ddl_direct")):scalar()
    end))
    helpers.assert_raises_kind(qs.exc.ArgumentError, function()
      engine:begin(function(c) c:execute(qs.DDL("SELECT 1"), {x = 1}) end)
    end)
    engine:begin(function(c) c:execute(qs.DDL("DROP TABLE ddl_direct")) end)
  end)

  it("runs on the table's and the metadata's events, in order, where execute_if allows", function()
    local md = qs.MetaData()
    local t = qs.Table("ddl_ev", md, qs.Column("id", qs.Integer, {primary_key = true, autoincrement = false}),
      qs.Column("name", qs.String(20)))
    local log = {}
    qs.event.listen(md, "before_create", function() log[#log + 1] = "md before_create" end)
    qs.event.listen(t, "after_create", qs.DDL("CREATE INDEX ix_ddl_ev ON %(fullname)s (name)"))
    qs.event.listen(t, "after_create", qs.DDL("INSERT INTO %(table)s (id, name) VALUES (1, 'all')"))
    -- this database only (its dialect name, or its URL's backend name)
    qs.event.listen(t, "after_create", qs.DDL("INSERT INTO %(table)s (id, name) VALUES (2, 'mine')")
      :execute_if({dialect = engine.url:get_backend_name()}))
    qs.event.listen(t, "after_create", qs.DDL("INSERT INTO %(table)s (id, name) VALUES (3, 'other')")
      :execute_if({dialect = "no_such_database"}))
    local seen
    qs.event.listen(t, "after_create", qs.DDL("INSERT INTO %(table)s (id, name) VALUES (4, 'state')")
      :execute_if({callable_ = function(ddl, target, conn, kw)
        seen = {target = target, conn = conn ~= nil, state = kw.state, checkfirst = kw.checkfirst}
        return kw.state == "go"
      end, state = "go"}))
    qs.event.listen(t, "before_drop", qs.DDL("DELETE FROM %(table)s WHERE id = 1"))
    local dropped_rows
    qs.event.listen(t, "after_drop", function(_, conn)
      dropped_rows = conn.dialect.has_table(conn, "ddl_ev", nil)
    end)
    md:create_all(engine)
    local ids = engine:connect(function(c)
      return c:execute(qs.select(t.c.id):order_by(t.c.id)):scalars():all()
    end)
    assert.same({1, 2, 4}, {ids[1], ids[2], ids[3]})
    assert.equal(3, #ids)
    assert.equal(t, seen.target)
    assert.is_true(seen.conn)
    assert.equal("go", seen.state)
    assert.is_true(seen.checkfirst)
    assert.same({"md before_create"}, log)
    local names = {}
    for _, ix in ipairs(qs.inspect(engine):get_indexes("ddl_ev")) do names[#names + 1] = ix.name end
    assert.same({"ix_ddl_ev"}, names)
    md:drop_all(engine)
    assert.is_false(dropped_rows)
  end)

  it("runs on the metadata's events with no table tokens", function()
    local md = qs.MetaData()
    qs.Table("ddl_md_t", md, qs.Column("id", qs.Integer, {primary_key = true}))
    qs.event.listen(md, "after_create", qs.DDL("CREATE TABLE ddl_md_extra (id INTEGER PRIMARY KEY)"))
    qs.event.listen(md, "before_drop", qs.DDL("DROP TABLE ddl_md_extra"))
    md:create_all(engine)
    assert.is_true(qs.inspect(engine):has_table("ddl_md_extra"))
    md:drop_all(engine)
    assert.is_false(qs.inspect(engine):has_table("ddl_md_extra"))
    -- a table token on a MetaData event has nothing to render against
    local md2 = qs.MetaData()
    qs.Table("ddl_md_t2", md2, qs.Column("id", qs.Integer, {primary_key = true}))
    qs.event.listen(md2, "after_create", qs.DDL("DROP TABLE %(table)s"))
    helpers.assert_raises_kind(qs.exc.CompileError, function() md2:create_all(engine) end)
  end)
end)
