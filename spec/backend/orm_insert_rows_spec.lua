-- The flush's INSERTs through C (orm/flush_insert.lua, c/orm/insert_rows.c,
-- engine/insert_rows.lua) on every backend: defaults, polymorphic identity
-- and version counter written into the objects, foreign keys of a
-- three-level graph, rows of one table with different columns, composite
-- keys, a server default expired after the insert, the Lua path for what C
-- does not take, and a bad value mid-batch leaving every object as it was.
-- Each case says which path it took, so neither goes untested.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local exc = require("quicksilver.exc")
local core = require("quicksilver.core")
local helpers = require("spec.helpers")
local flush_insert = require("quicksilver.orm.flush_insert")

describe("the flush's INSERTs in C on " .. helpers.backend, function()
  local engine, bases, sessions, real_run, paths

  before_each(function()
    engine = helpers.backend_engine()
    bases, sessions, paths = {}, {}, {}
    -- which path each do_inserts call took (true: C)
    real_run = flush_insert.run
    flush_insert.run = function(...)
      local r = real_run(...)
      paths[#paths + 1] = r
      return r
    end
  end)

  after_each(function()
    flush_insert.run = real_run
    for _, s in ipairs(sessions) do s:close() end
    for i = #bases, 1, -1 do bases[i].metadata:drop_all(engine) end
    engine:dispose()
    helpers.cleanup()
  end)

  local function base()
    local B = orm.declarative_base()
    bases[#bases + 1] = B
    return B
  end

  local function session()
    local s = orm.Session(engine)
    sessions[#sessions + 1] = s
    return s
  end

  local function all_c()
    assert.is_true(#paths > 0)
    for _, p in ipairs(paths) do assert.is_true(p) end
  end

  local function rows(stmt)
    return engine:connect(function(c) return c:execute(stmt):all() end)
  end

  it("writes scalar defaults, the polymorphic identity and the version counter into the objects", function()
    local B = base()
    local Thing = B:model("Thing", {
      __tablename = "ir_thing",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      kind = orm.mapped_column(qs.String(20)),
      note = orm.mapped_column(qs.String(20), {default = "dflt"}),
      flag = orm.mapped_column(qs.Integer, {default = 7}),
      ver = orm.mapped_column(qs.Integer),
      __mapper_args = {polymorphic_on = "kind", polymorphic_identity = "thing", version_id_col = "ver"},
    })
    B.metadata:create_all(engine)
    local s = session()
    local a, b = Thing({note = "given"}), Thing({flag = 1})
    s:add_all({a, b})
    s:flush()
    all_c()
    assert.equal("given", a.note)
    assert.equal("dflt", b.note)
    assert.equal(7, a.flag)
    assert.equal(1, b.flag)
    assert.equal("thing", a.kind)
    assert.equal(1, a.ver)
    assert.is_number(a.id)
    assert.is_number(b.id)
    assert.are_not.equal(a.id, b.id)
    s:commit()
    local got = rows(qs.select(Thing.__table__):order_by(Thing.__table__.c.id))
    assert.equal(2, #got)
    assert.equal("dflt", got[2].note)
    assert.equal(7, got[1].flag)
    assert.equal("thing", got[1].kind)
    assert.equal(1, got[2].ver)
  end)

  it("sets the foreign keys of a three-level graph from the keys the database hands out", function()
    local B = base()
    local Grand, Parent, Child
    Grand = B:model("Grand", {
      __tablename = "ir_grand",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(20)),
      parents = orm.relationship("Parent", {back_populates = "grand"}),
    })
    Parent = B:model("Parent", {
      __tablename = "ir_parent",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      grand_id = orm.mapped_column(qs.ForeignKey("ir_grand.id")),
      grand = orm.relationship("Grand", {back_populates = "parents"}),
      children = orm.relationship("Child", {back_populates = "parent"}),
    })
    Child = B:model("Child", {
      __tablename = "ir_child",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      parent_id = orm.mapped_column(qs.ForeignKey("ir_parent.id")),
      parent = orm.relationship("Parent", {back_populates = "children"}),
    })
    B.metadata:create_all(engine)
    local s = session()
    local gs = {}
    for i = 1, 3 do
      local ps = {}
      for j = 1, 3 do
        ps[j] = Parent({children = {Child({}), Child({}), Child({})}})
      end
      gs[i] = Grand({name = "g" .. i, parents = ps})
    end
    s:add_all(gs)
    s:commit()
    all_c()
    local seen = {}
    for _, g in ipairs(gs) do
      assert.is_number(g.id)
      for _, p in ipairs(g.parents) do
        assert.equal(g.id, p.grand_id)
        for _, c in ipairs(p.children) do
          assert.equal(p.id, c.parent_id)
          assert.is_nil(seen[c.id])
          seen[c.id] = true
        end
      end
    end
    -- what the database holds is what the objects say
    local t = Child.__table__
    local got = rows(qs.select(t.c.id, t.c.parent_id))
    assert.equal(27, #got)
    local s2 = session()
    for _, r in ipairs(got) do assert.equal(r.parent_id, s2:get(Child, r.id).parent.id) end
  end)

  it("inserts rows of one table with and without an optional column, and expires a server default", function()
    local B = base()
    local Item = B:model("Item", {
      __tablename = "ir_item",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(20)),
      extra = orm.mapped_column(qs.String(20)),
      stamp = orm.mapped_column(qs.String(20), {server_default = "srv"}),
    })
    B.metadata:create_all(engine)
    local s = session()
    local list = {}
    for i = 1, 7 do
      list[i] = Item({name = "n" .. i, extra = (i % 2 == 0) and ("x" .. i) or nil,
        stamp = (i == 5) and "mine" or nil})
    end
    s:add_all(list)
    s:flush()
    all_c()
    for i, it_ in ipairs(list) do
      assert.is_number(it_.id)
      -- the server default comes back on first access (expired), a given one stays
      assert.equal(i == 5 and "mine" or "srv", it_.stamp)
      assert.equal((i % 2 == 0) and ("x" .. i) or nil, it_.extra)
    end
    s:commit()
    local got = rows(qs.select(Item.__table__):order_by(Item.__table__.c.id))
    assert.equal(7, #got)
    assert.equal("srv", got[1].stamp)
    assert.equal("x2", got[2].extra)
    assert.is_nil(got[3].extra)
  end)

  it("inserts composite keys the objects give", function()
    local B = base()
    local Pair = B:model("Pair", {
      __tablename = "ir_pair",
      a = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
      b = orm.mapped_column(qs.String(10), {primary_key = true}),
      v = orm.mapped_column(qs.Integer),
    })
    B.metadata:create_all(engine)
    local s = session()
    local list = {}
    for i = 1, 6 do list[i] = Pair({a = i % 3, b = "k" .. i, v = i}) end
    s:add_all(list)
    s:commit()
    all_c()
    local s2 = session()
    for i = 1, 6 do assert.equal(i, s2:get(Pair, {i % 3, "k" .. i}).v) end
  end)

  it("takes the Lua path for a callable default, and gets the same rows", function()
    local B = base()
    local n = 0
    local Ticket = B:model("Ticket", {
      __tablename = "ir_ticket",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      code = orm.mapped_column(qs.String(20), {default = function() n = n + 1; return "c" .. n end}),
    })
    B.metadata:create_all(engine)
    local s = session()
    local a, b = Ticket({}), Ticket({code = "given"})
    s:add_all({a, b})
    s:commit()
    assert.same({false}, paths)
    assert.equal("c1", a.code)
    assert.equal("given", b.code)
    assert.is_number(a.id)
    assert.equal(2, #rows(qs.select(Ticket.__table__)))
  end)

  it("runs bind converters and JSON values on what it reads, leaving the objects' values as they were", function()
    local B = base()
    local Up = qs.TypeDecorator(qs.String(20), {process_bind_param = function(v)
      collectgarbage()   -- the values already read must stay alive
      return v and v:upper()
    end})
    local Doc = B:model("Doc", {
      __tablename = "ir_doc",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      title = orm.mapped_column(Up),
      data = orm.mapped_column(qs.JSON),
    })
    B.metadata:create_all(engine)
    local s = session()
    local list = {}
    for i = 1, 12 do list[i] = Doc({title = "t" .. i, data = {n = i, tags = {"a", "b" .. i}}}) end
    s:add_all(list)
    s:flush()
    all_c()
    assert.equal("t3", list[3].title)   -- the converter's result went to the database only
    s:commit()
    local s2 = session()
    for i = 1, 12 do
      local d = s2:get(Doc, list[i].id)
      assert.equal("T" .. i, d.title)
      assert.equal(i, d.data.n)
      assert.equal("b" .. i, d.data.tags[2])
    end
  end)

  -- a bad value in the third of five rows of one table, after a parent's
  -- row and with defaults to write: nothing of it stays, in the objects or
  -- the database, and the same objects flush once the value is fixed
  local function bad_value_case(listen)
    local B = base()
    local Box, Part
    Box = B:model("Box", {
      __tablename = "ir_box",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      parts = orm.relationship("Part", {back_populates = "box"}),
    })
    Part = B:model("Part", {
      __tablename = "ir_part",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      box_id = orm.mapped_column(qs.ForeignKey("ir_box.id")),
      qty = orm.mapped_column(qs.Integer),
      note = orm.mapped_column(qs.String(20), {default = "dflt"}),
      box = orm.relationship("Box", {back_populates = "parts"}),
    })
    B.metadata:create_all(engine)
    local sent = {}
    if listen then
      qs.event.listen(engine, "before_cursor_execute", function(_, sql, params)
        sent[#sent + 1] = {sql = sql, params = params}
      end)
    end
    local s = session()
    local parts = {}
    for i = 1, 5 do parts[i] = Part({qty = i}) end
    parts[3].qty = "three"
    local box = Box({parts = parts})
    s:add(box)
    local ok, err = pcall(s.flush, s)
    assert.is_false(ok)
    assert.is_true(exc.is_error(err, exc.ArgumentError), tostring(err))
    assert.truthy(tostring(err):find("qty", 1, true), tostring(err))
    all_c()
    assert.is_nil(box.id)
    for i, p in ipairs(parts) do
      assert.is_nil(p.id)
      assert.is_nil(p.box_id)
      assert.is_nil(rawget(getmetatable(p), "note"))   -- the default went back out too
      assert.equal(i == 3 and "three" or i, p.qty)
    end
    if listen then
      -- the listener saw plain parameter sets
      for _, e in ipairs(sent) do
        if type(e.params) == "table" then assert.is_nil(getmetatable(e.params)) end
      end
      assert.truthy(#sent > 0)
    end
    s:rollback()
    parts[3].qty = 3
    s:add(box)
    s:commit()
    assert.is_number(box.id)
    for i, p in ipairs(parts) do
      assert.equal(box.id, p.box_id)
      assert.equal("dflt", p.note)
      assert.equal(i, p.qty)
    end
    assert.equal(5, #rows(qs.select(Part.__table__)))
  end

  it("undoes every object when a value is refused mid-batch", function()
    bad_value_case(false)
  end)

  it("undoes every object when a value is refused mid-batch, under a cursor listener", function()
    bad_value_case(true)
  end)
end)

describe("core.insert_rows and core.insert_keys", function()
  local caps = {insert_returning = true, insert_many_returning = true, page_size = 0,
    returning_page_size = 1000, max_params = 0}
  local F = core.insert_spec_fields

  local function spec()
    local s = {}
    s[F.cols], s[F.defaults], s[F.pk], s[F.expire], s[F.defaulted] =
      {"id", "name", "note"}, {[3] = "d"}, {1}, {}, {3}
    s[F.last] = true
    return s
  end

  it("touches nothing when a mapper has no spec, or a row has an identity key", function()
    local m = {}
    local d1, d2 = {name = "a"}, {name = "b"}
    local st1, st2 = {mapper = m, dict = d1}, {mapper = m, dict = d2}
    local touched = {}
    assert.is_false(core.insert_rows({st1, st2}, function() return false end, function() return {} end,
      {}, {}, touched, {}, {}, false, caps))
    st2.key = 5
    assert.is_false(core.insert_rows({st1, st2}, function() return spec() end, function() return {} end,
      {}, {}, touched, {}, {}, false, caps))
    assert.same({}, touched)
    assert.same({name = "a"}, d1)
  end)

  it("plans shapes and writes defaults, with undo entries", function()
    local m, was_nil = {}, {}
    local sp = spec()
    local sts = {}
    for i = 1, 4 do sts[i] = {mapper = m, dict = {name = (i ~= 3) and ("n" .. i) or nil}} end
    local touched, inserted = {}, {}
    local plan, shapes, dicts = core.insert_rows(sts, function() return sp end, function() return {} end,
      {}, {}, touched, {}, inserted, was_nil, caps)
    -- rows 1, 2 give name and note; row 3 only note; row 4 as 1, 2
    assert.same({1, 2, core.plan_modes.returning_many, 1, 3, 1, core.plan_modes.returning_many, 2,
      4, 1, core.plan_modes.returning_many, 1}, plan)
    assert.equal(2, #shapes)
    assert.same({name = true, note = true}, shapes[1][2])
    assert.same({note = true}, shapes[2][2])
    assert.equal(sp, shapes[1][1])
    assert.equal(sts[2].dict, dicts[2])
    assert.equal("d", dicts[1].note)
    assert.equal(4, #inserted)
    -- per row: the key to come (was nil), the default (was nil)
    assert.equal(4 * 2 * 3, #touched)
    assert.equal(sts[1], touched[1])
    assert.equal("id", touched[2])
    assert.equal(was_nil, touched[3])
    assert.equal("note", touched[5])
  end)

  it("writes keys back, in key order when asked, and refuses a count that does not match", function()
    local dicts = {{}, {}, {}}
    assert.equal(2, core.insert_keys(dicts, 1, 3, {{10}, {11}}, {"id"}, true))
    assert.same({{}, {}, {}}, dicts)
    assert.equal(3, core.insert_keys(dicts, 1, 3, {{12}, {10}, {11}}, {"id"}, true))
    assert.same({{id = 10}, {id = 11}, {id = 12}}, dicts)
    local d2 = {{}, {}}
    assert.equal(2, core.insert_keys(d2, 1, 2, {{5, "x"}, {4, "y"}}, {"id", "code"}, false))
    assert.same({{id = 5, code = "x"}, {id = 4, code = "y"}}, d2)
  end)
end)

describe("the binder's rows mode (conn:execute with nrows)", function()
  it("binds each set of a list by the one-row keys, and names the column and set of a bad value", function()
    local engine = qs.create_engine("sqlite://")
    engine:connect(function(c)
      c:exec_driver_sql("CREATE TABLE t (a INTEGER, b TEXT)")
      local cc = c._cconn
      local rows = {setmetatable({a = 1, b = "x"}, {__index = function() error("read raw only") end}),
        {a = 2}, {a = 3, b = "z"}}
      local cur = assert(cc:execute("INSERT INTO t (a, b) VALUES (?, ?), (?, ?), (?, ?)", rows, {"a", "b"},
        {b = "dflt"}, nil, nil, 3))
      cur:close()
      local got = c:exec_driver_sql("SELECT a, b FROM t ORDER BY a"):all()
      assert.equal(3, #got)
      assert.equal("x", got[1][2])
      assert.equal("dflt", got[2][2])
      local ok, err = cc:execute("INSERT INTO t (a, b) VALUES (?, ?), (?, ?)", {{a = 1}, {a = "two"}},
        {"a", "b"}, {b = "q"}, {1}, nil, 2)   -- {1}: QSV_integer for a (lbinding.h)
      assert.is_nil(ok)
      assert.truthy(tostring(err):find("'a'", 1, true), tostring(err))
      assert.truthy(tostring(err):find("parameter group 2", 1, true), tostring(err))
      local bad = pcall(cc.execute, cc, "INSERT INTO t (a) VALUES (?)", {{a = 1}}, nil, nil, nil, nil, 1)
      assert.is_false(bad)
      bad = pcall(cc.execute, cc, "INSERT INTO t (a) VALUES (?)", {{a = 1}}, {"a"}, nil, nil, nil, 0)
      assert.is_false(bad)
    end)
    engine:dispose()
  end)
end)
