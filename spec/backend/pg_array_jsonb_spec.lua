-- PostgreSQL ARRAY and JSONB (issue 24) on every backend: on PostgreSQL
-- the values round-trip (nasty strings included, checked member by member
-- by the server, not only by our own reader) and the operators select the
-- rows they should; elsewhere the types and operators are CompileErrors
-- naming the construct and the database, and any_/all_ over a subquery
-- run where the database has them (MySQL/MariaDB; SQLite refuses).
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")

local PG = helpers.backend == "postgresql"

describe("ARRAY and JSONB on " .. helpers.backend, function()
  local engine, md, arr, docs, plain

  before_each(function()
    engine = helpers.backend_engine()
    md = qs.MetaData()
    arr = qs.Table("pg_arr", md, qs.Column("id", qs.Integer, {primary_key = true, autoincrement = false}),
      qs.Column("ints", qs.ARRAY(qs.Integer)), qs.Column("strs", qs.ARRAY(qs.Text)),
      qs.Column("grid", qs.ARRAY(qs.Integer, {dimensions = 2})), qs.Column("flts", qs.ARRAY(qs.Float)),
      qs.Column("bools", qs.ARRAY(qs.Boolean)), qs.Column("docs", qs.ARRAY(qs.JSONB)))
    docs = qs.Table("pg_docs", md, qs.Column("id", qs.Integer, {primary_key = true, autoincrement = false}),
      qs.Column("doc", qs.JSONB))
    local plain_md = qs.MetaData()
    plain = qs.Table("pg_plain", plain_md, qs.Column("id", qs.Integer, {primary_key = true, autoincrement = false}),
      qs.Column("n", qs.Integer))
    plain_md:create_all(engine)
    if PG then md:create_all(engine) end
  end)

  after_each(function()
    engine:dispose()
    helpers.cleanup()
  end)

  local function scalar(stmt)
    return engine:connect(function(c) return c:execute(stmt):scalar() end)
  end

  if not PG then
    it("refuses the types and their operators with a CompileError naming them", function()
      local err = helpers.assert_raises_kind(qs.exc.CompileError, function() md:create_all(engine) end)
      assert.truthy(tostring(err):find("ARRAY", 1, true), tostring(err))
      local cases = {
        {qs.select(arr.c.id):where(arr.c.ints:contains({1})), "contains (@>)"},
        {qs.select(arr.c.id):where(arr.c.ints:contained_by({1})), "contained_by (<@)"},
        {qs.select(arr.c.id):where(arr.c.ints:overlap({1})), "overlap (&&)"},
        {qs.select(docs.c.id):where(docs.c.doc:has_key("a")), "has_key (?)"},
        {qs.select(docs.c.id):where(docs.c.doc:has_any({"a"})), "has_any (?|)"},
        {qs.select(docs.c.id):where(docs.c.doc:has_all({"a"})), "has_all (?&)"},
        {qs.select(arr.c.ints:item(1)), "ARRAY subscript"},
        {qs.select(arr.c.ints:slice(1, 2)), "ARRAY subscript"},
        {qs.select(qs.array({1, 2})), "qs.array()"},
        {qs.select(plain.c.id):where(plain.c.n:eq(qs.any_(arr.c.ints))), "any_() over an array"},
        {qs.select(plain.c.id):where(plain.c.n:eq(qs.all_({1, 2}))), "all_() over an array"},
      }
      for _, case in ipairs(cases) do
        local e = helpers.assert_raises_kind(qs.exc.CompileError, function() return scalar(case[1]) end)
        assert.truthy(tostring(e):find(case[2], 1, true), tostring(e))
        assert.truthy(tostring(e):find(engine.dialect.name, 1, true) or tostring(e):find("mysql", 1, true),
          tostring(e))
      end
      local e = helpers.assert_raises_kind(qs.exc.CompileError, function()
        return scalar(qs.schema.CreateTable(docs))
      end)
      assert.truthy(tostring(e):find("JSONB", 1, true), tostring(e))
    end)
  end

  it("runs any_ / all_ over a subquery where the database has them", function()
    engine:begin(function(c)
      c:execute(qs.insert(plain), {{id = 1, n = 10}, {id = 2, n = 20}, {id = 3, n = 30}})
    end)
    local small = qs.select(plain.c.n):where(plain.c.n:lt(25))
    local q_any = qs.select(plain.c.id):where(plain.c.n:eq(qs.any_(small))):order_by(plain.c.id)
    local q_all = qs.select(plain.c.id):where(plain.c.n:gt(qs.all_(small))):order_by(plain.c.id)
    local q_rev = qs.select(plain.c.id):where(qs.all_(small):lt(plain.c.n)):order_by(plain.c.id)
    if helpers.backend == "sqlite" then
      local e = helpers.assert_raises_kind(qs.exc.CompileError, function() return scalar(q_any) end)
      assert.truthy(tostring(e):find("any_() over a subquery", 1, true), tostring(e))
      return
    end
    engine:connect(function(c)
      local function ids(q)
        local out = {}
        for i, r in ipairs(c:execute(q):all()) do out[i] = r[1] end
        return out
      end
      assert.same({1, 2}, ids(q_any))
      assert.same({3}, ids(q_all))
      assert.same({3}, ids(q_rev))
    end)
  end)

  if not PG then return end

  it("round-trips sequences: integers, text, two dimensions, floats, booleans, JSONB members, NULLs", function()
    local row = {id = 1, ints = {1, -2, 2147483647, qs.null, 0}, strs = {"a", "", "NULL", qs.null, "b c"},
      grid = {{1, 2}, {3, qs.null}}, flts = {1.5, -0.25, 1e300, math.huge, -math.huge},
      bools = {true, false, qs.null}, docs = {{a = 1}, qs.json_array({1, "x"}), qs.null}}
    engine:begin(function(c)
      c:execute(qs.insert(arr), row)
      c:execute(qs.insert(arr), {id = 2, ints = {}, strs = {}, grid = {}})
      c:execute(qs.insert(arr), {id = 3})
    end)
    local r = engine:connect(function(c) return c:execute(qs.select(arr):where(arr.c.id:eq(1))):one() end)
    assert.same(row.ints, r.ints)
    if math.type then assert.equal("integer", math.type(r.ints[1])) end
    assert.same(row.strs, r.strs)
    assert.same(row.grid, r.grid)
    assert.same(row.flts, r.flts)
    assert.same(row.bools, r.bools)
    assert.same({a = 1}, r.docs[1])
    assert.same({1, "x"}, r.docs[2])
    assert.equal(qs.null, r.docs[3])
    local e = engine:connect(function(c) return c:execute(qs.select(arr):where(arr.c.id:eq(2))):one() end)
    assert.same({}, e.ints)
    assert.same({}, e.strs)
    local n = engine:connect(function(c) return c:execute(qs.select(arr):where(arr.c.id:eq(3))):one() end)
    assert.is_nil(n.ints)
    -- the server reads the members we wrote (not only our reader)
    assert.equal(5, scalar(qs.select(qs.func.array_length(arr.c.strs, 1)):where(arr.c.id:eq(1))))
    assert.is_true(scalar(qs.select(qs.text("strs[3] = 'NULL' AND strs[4] IS NULL AND strs[2] = ''"))
      :select_from(arr):where(arr.c.id:eq(1))))
  end)

  it("round-trips nasty strings exactly (a seeded fuzz, checked by the server member by member)", function()
    local atoms = {",", '"', "\\", "{", "}", " ", "NULL", "null", "", "é", "\t", "\n", "a", "'", "[", "]",
      ":", "=", "\\\\", '\\"', "日本", "\r", "  ", "x y", "$1", "?", "--"}
    math.randomseed(24)
    local rows, id = {}, 0
    for _ = 1, 60 do
      local list = {}
      for j = 1, math.random(1, 6) do
        local parts = {}
        for k = 1, math.random(0, 4) do parts[k] = atoms[math.random(#atoms)] end
        list[j] = table.concat(parts)
      end
      id = id + 1
      rows[id] = {id = id, strs = list}
    end
    rows[#rows + 1] = {id = #rows + 1, strs = {"NULL"}}
    rows[#rows + 1] = {id = #rows + 1, strs = {""}}
    rows[#rows + 1] = {id = #rows + 1, strs = {" leading", "trailing ", " "}}
    engine:begin(function(c) c:execute(qs.insert(arr), rows) end)
    engine:connect(function(c)
      for _, row in ipairs(rows) do
        local got = c:execute(qs.select(arr.c.strs):where(arr.c.id:eq(row.id))):scalar()
        assert.same(row.strs, got, "row " .. row.id)
        for i, s in ipairs(row.strs) do
          -- the server's own member i equals the string bound alone
          local same = c:execute(qs.select(arr.c.strs:item(i):eq(s)):where(arr.c.id:eq(row.id))):scalar()
          assert.is_true(same, "row " .. row.id .. " member " .. i)
        end
        -- and a literal array bound alone comes back the same
        assert.same(row.strs, c:execute(qs.select(qs.literal(row.strs, qs.ARRAY(qs.Text)))):scalar())
      end
    end)
  end)

  it("selects by contains, contained_by, overlap, any_/all_, subscripts and slices", function()
    engine:begin(function(c)
      c:execute(qs.insert(arr), {{id = 1, ints = {1, 2, 3}, grid = {{1, 2}, {3, 4}}}, {id = 2, ints = {3, 4}},
        {id = 3, ints = {5}}})
      c:execute(qs.insert(plain), {{id = 1, n = 3}, {id = 2, n = 4}, {id = 3, n = 9}})
    end)
    engine:connect(function(c)
      local function ids(where)
        local out = {}
        for i, r in ipairs(c:execute(qs.select(arr.c.id):where(where):order_by(arr.c.id)):all()) do out[i] = r[1] end
        return out
      end
      assert.same({1}, ids(arr.c.ints:contains({1, 3})))
      assert.same({2, 3}, ids(arr.c.ints:contained_by({3, 4, 5})))
      assert.same({1, 2}, ids(arr.c.ints:overlap({3, 9})))
      assert.same({1, 2}, ids(qs.any_(arr.c.ints):eq(3)))
      assert.same({3}, ids(qs.all_(arr.c.ints):gt(4)))
      assert.same({2}, ids(arr.c.ints:item(2):eq(4)))
      assert.same({2}, ids(arr.c.ints[2]:eq(4)))
      assert.same({1}, ids(arr.c.grid[2][1]:eq(3)))
      assert.same({1}, ids(arr.c.ints:slice(2, 3):contains({3})))
      assert.same({1}, ids(qs.not_(arr.c.ints:overlap({4, 5}))))
      local ns = {}
      for i, r in ipairs(c:execute(qs.select(plain.c.n):where(plain.c.n:eq(qs.any_({4, 9, 10})))
          :order_by(plain.c.n)):all()) do ns[i] = r[1] end
      assert.same({4, 9}, ns)
      local bound = qs.any_(qs.literal({3}, qs.ARRAY(qs.Integer)))
      assert.equal(1, c:execute(qs.select(qs.func.count()):select_from(plain):where(plain.c.n:eq(bound))):scalar())
      local got = c:execute(qs.select(arr.c.ints:item(1), arr.c.ints:slice(2, 3), arr.c.grid:item(2):item(1))
        :where(arr.c.id:eq(1))):one()
      assert.equal(1, got[1])
      if math.type then assert.equal("integer", math.type(got[1])) end
      assert.same({2, 3}, got[2])
      assert.equal(3, got[3])
      assert.same({1, 2, 3}, c:execute(qs.select(qs.array({1, 2, 3}))):scalar())
      assert.same({{1, 2}, {3, 4}}, c:execute(qs.select(qs.array({qs.array({1, 2}), qs.array({3, 4})}))):scalar())
      local agg = c:execute(qs.select(qs.func.array_agg(plain.c.n))):scalar()
      table.sort(agg)
      assert.same({3, 4, 9}, agg)
    end)
  end)

  it("refuses a value that is no sequence or a member of the wrong kind, naming it", function()
    local e = helpers.assert_raises_kind(qs.exc.ArgumentError, function()
      engine:begin(function(c) c:execute(qs.insert(arr), {id = 1, ints = 5}) end)
    end)
    assert.truthy(tostring(e):find("ARRAY(Integer) value must be a Lua sequence", 1, true), tostring(e))
    e = helpers.assert_raises_kind(qs.exc.ArgumentError, function()
      engine:begin(function(c) c:execute(qs.insert(arr), {id = 1, ints = {1, "x"}}) end)
    end)
    assert.truthy(tostring(e):find("member 2 must be an integer", 1, true), tostring(e))
    e = helpers.assert_raises_kind(qs.exc.ArgumentError, function()
      engine:begin(function(c) c:execute(qs.insert(arr), {id = 1, ints = {{1}}}) end)
    end)
    assert.truthy(tostring(e):find("dimensions", 1, true), tostring(e))
    e = helpers.assert_raises_kind(qs.exc.ArgumentError, function()
      engine:begin(function(c) c:execute(qs.insert(arr), {id = 1, ints = {a = 1}}) end)
    end)
    assert.truthy(tostring(e):find("no key", 1, true), tostring(e))
  end)

  it("stores JSONB and selects by @>, <@, ?, ?|, ?& and path access", function()
    engine:begin(function(c)
      c:execute(qs.insert(docs), {{id = 1, doc = {a = 1, b = {c = "x"}, tags = qs.json_array({"p", "q"})}},
        {id = 2, doc = {a = 2, d = true}}, {id = 3, doc = qs.json_array({1, 2})}})
    end)
    engine:connect(function(c)
      local function ids(where)
        local out = {}
        for i, r in ipairs(c:execute(qs.select(docs.c.id):where(where):order_by(docs.c.id)):all()) do out[i] = r[1] end
        return out
      end
      assert.same({1}, ids(docs.c.doc:contains({b = {c = "x"}})))
      assert.same({1}, ids(docs.c.doc:contains({tags = qs.json_array({"q"})})))
      assert.same({2}, ids(docs.c.doc:contained_by({a = 2, d = true, e = 1})))
      assert.same({1, 2}, ids(docs.c.doc:has_key("a")))
      assert.same({1, 2}, ids(docs.c.doc:has_any({"b", "d"})))
      assert.same({1}, ids(docs.c.doc:has_all({"a", "b", "tags"})))
      assert.same({1}, ids(docs.c.doc:path({"b", "c"}):as_string():eq("x")))
      assert.same({2}, ids(docs.c.doc:get("a"):as_integer():eq(2)))
      assert.same({3}, ids(docs.c.doc:contains(qs.json_array({2}))))
      assert.same({1}, ids(docs.c.doc:path_exists("$.b.c")))
      assert.same({1, 2}, ids(docs.c.doc:path_exists("$.a ? (@ >= 1)")))
      assert.same({2}, ids(docs.c.doc:path_match("$.a == 2")))
      local d = c:execute(qs.select(docs.c.doc):where(docs.c.id:eq(1))):scalar()
      assert.same({a = 1, b = {c = "x"}, tags = {"p", "q"}}, d)
      assert.same({c = "x"}, c:execute(qs.select(docs.c.doc:get("b")):where(docs.c.id:eq(1))):scalar())
      -- a ? in the SQL is no placeholder on PostgreSQL, text() included
      assert.equal(2, c:execute(qs.text("SELECT count(*) FROM pg_docs WHERE doc ? :k"), {k = "a"}):scalar())
    end)
  end)

  it("maps ARRAY and JSONB columns in the ORM", function()
    local Base = orm.declarative_base()
    local Post = Base:model("Post", {
      __tablename = "pg_post",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      tags = orm.mapped_column(qs.ARRAY(qs.String(20))),
      meta = orm.mapped_column(qs.JSONB),
    })
    Base.metadata:create_all(engine)
    local s = orm.Session({bind = engine})
    s:add(Post({id = 1, tags = {"a", "b,c", qs.null}, meta = {k = "v"}}))
    s:commit()
    s:close()
    s = orm.Session({bind = engine})
    local p = s:get(Post, 1)
    assert.same({"a", "b,c", qs.null}, p.tags)
    assert.same({k = "v"}, p.meta)
    p.tags = {"z"}
    p.meta = {k = "w"}
    s:commit()
    local found = s:execute(qs.select(Post):where(Post.tags:contains({"z"}))):scalars():all()
    assert.equal(1, #found)
    assert.same({"z"}, found[1].tags)
    assert.same({k = "w"}, found[1].meta)
    s:close()
  end)

  it("reflects ARRAY and JSONB back, and autogenerate sees no change", function()
    local insp = qs.inspect(engine)
    local cols = {}
    for _, c in ipairs(insp:get_columns("pg_arr")) do cols[c.name] = c.type end
    assert.equal("ARRAY", cols.ints.name)
    assert.equal("Integer", cols.ints.item_type.name)
    assert.equal("Text", cols.strs.item_type.name)
    assert.equal("ARRAY", cols.grid.name)
    assert.equal("JSONB", cols.docs.item_type.name)
    local dcols = {}
    for _, c in ipairs(insp:get_columns("pg_docs")) do dcols[c.name] = c.type end
    assert.equal("JSONB", dcols.doc.name)
    local autogenerate = require("quicksilver.migrate.autogenerate")
    local diffs = engine:connect(function(c) return autogenerate.compare(c, md) end)
    local changes = {}
    for _, d in ipairs(diffs) do
      if d.table == "pg_arr" or d.table == "pg_docs" then changes[#changes + 1] = autogenerate.describe(d) end
    end
    assert.same({}, changes)
  end)
end)
