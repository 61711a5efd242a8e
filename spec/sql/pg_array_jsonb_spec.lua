-- PostgreSQL ARRAY and JSONB (issue 24): the SQL each construct compiles
-- to, compared with what SQLAlchemy 2.0's postgresql dialect renders
-- (quicksilver's documented differences: $n placeholders; a parameter
-- next to an ARRAY column is left for the server to type where SQLAlchemy
-- casts it, `tags @> $1`; a parameter alone is cast, `ANY ($1::INTEGER[])`),
-- the CompileErrors of the other dialects, the bad-input cases, and the
-- array text codec (sql/pg_types.lua) without a server.
local qs = require("quicksilver")
local pg_types = require("quicksilver.sql.pg_types")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

local md = qs.MetaData()
local t = qs.Table("t", md, qs.Column("id", qs.Integer, {primary_key = true}),
  qs.Column("tags", qs.ARRAY(qs.Integer)), qs.Column("grid", qs.ARRAY(qs.String(20), {dimensions = 2})),
  qs.Column("doc", qs.JSONB), qs.Column("js", qs.JSON), qs.Column("x", qs.Integer))

local function pg(e) return e:compile({dialect = "postgresql"}).sql end
local function where(cond) return pg(qs.select(t.c.id):where(cond)) end
local function cols(...) return pg(qs.select(...)) end

describe("ARRAY and JSONB compile", function()
  it("writes the DDL types: T[], T[][] for two dimensions, JSONB", function()
    assert.equal("CREATE TABLE t (\n\tid SERIAL NOT NULL, \n\ttags INTEGER[], \n\tgrid VARCHAR(20)[][], " ..
      "\n\tdoc JSONB, \n\tjs JSON, \n\tx INTEGER, \n\tPRIMARY KEY (id)\n)", pg(qs.schema.CreateTable(t)))
    assert.equal("CAST(t.x AS INTEGER[])", cols(qs.cast(t.c.x, qs.ARRAY(qs.Integer))):match("CAST%(.-%)"))
  end)

  it("is reachable as qs.ARRAY / qs.JSONB and under qs.postgresql", function()
    assert.equal(qs.ARRAY, qs.postgresql.ARRAY)
    assert.equal(qs.JSONB, qs.postgresql.JSONB)
    assert.equal("ARRAY(Integer)", tostring(qs.ARRAY(qs.Integer)))
    assert.equal("ARRAY(String(20), {dimensions = 2})", tostring(t.c.grid.type))
    assert.equal("JSONB", tostring(qs.JSONB))
  end)

  it("writes the array operators", function()
    assert.equal("SELECT t.id FROM t WHERE t.tags @> $1", where(t.c.tags:contains({1, 2})))
    assert.equal("SELECT t.id FROM t WHERE t.tags <@ $1", where(t.c.tags:contained_by({1, 2})))
    assert.equal("SELECT t.id FROM t WHERE t.tags && $1", where(t.c.tags:overlap({1, 2})))
    -- NOT binds looser than any operator but AND / OR on PostgreSQL
    assert.equal("SELECT t.id FROM t WHERE NOT t.tags && $1", where(qs.not_(t.c.tags:overlap({1}))))
    local c = qs.select(t.c.id):where(t.c.tags:contains({1, 2})):compile({dialect = "postgresql"})
    assert.equal("{1,2}", t.c.tags.type._bind(c.params[1]))
  end)

  it("writes any_ / all_ on either side of a comparison", function()
    assert.equal("SELECT t.id FROM t WHERE t.x = ANY (t.tags)", where(t.c.x:eq(qs.any_(t.c.tags))))
    assert.equal("SELECT t.id FROM t WHERE $1 = ANY (t.tags)", where(qs.any_(t.c.tags):eq(5)))
    assert.equal("SELECT t.id FROM t WHERE $1 > ALL (t.tags)", where(qs.all_(t.c.tags):lt(5)))
    assert.equal("SELECT t.id FROM t WHERE $1 <= ANY (t.tags)", where(qs.any_(t.c.tags):ge(5)))
    assert.equal("SELECT t.id FROM t WHERE t.x != ALL (t.tags)", where(t.c.x:ne(qs.all_(t.c.tags))))
    assert.equal("SELECT t.id FROM t WHERE t.x = ANY ($1::INTEGER[])", where(t.c.x:eq(qs.any_({1, 2, 3}))))
    assert.equal("SELECT t.id FROM t WHERE t.x = ANY ($1::INTEGER[])",
      where(t.c.x:eq(qs.any_(qs.literal({1, 2}, qs.ARRAY(qs.Integer))))))
    assert.equal("SELECT t.id FROM t WHERE t.x = ANY (SELECT t.id FROM t)",
      where(t.c.x:eq(qs.any_(qs.select(t.c.id)))))
    assert.equal("SELECT t.id FROM t WHERE t.x > ALL (SELECT t.id FROM t)",
      where(t.c.x:gt(qs.all_(qs.select(t.c.id):scalar_subquery()))))
  end)

  it("writes subscripts and slices, typed as the element (one dimension less)", function()
    assert.equal("SELECT t.tags[$1::INTEGER] AS anon_1 FROM t", cols(t.c.tags:item(1)))
    assert.equal("SELECT t.tags[$1::INTEGER:$2::INTEGER] AS anon_1 FROM t", cols(t.c.tags:slice(2, 3)))
    assert.equal("SELECT t.grid[$1::INTEGER][$2::INTEGER] AS anon_1 FROM t", cols(t.c.grid:item(1):item(2)))
    assert.equal("Integer", t.c.tags:item(1).type.name)
    assert.equal("ARRAY(String(20))", tostring(t.c.grid:item(1).type))
    assert.equal("String(20)", tostring(t.c.grid:item(1):item(2).type))
    assert.equal("ARRAY(Integer)", tostring(t.c.tags:slice(1, 2).type))
    assert.equal("SELECT t.id FROM t WHERE t.tags[$1::INTEGER] = $2", where(t.c.tags:item(1):eq(7)))
  end)

  it("takes col[i] on ARRAY columns of tables, aliases, CTEs, qs.column and mapped classes", function()
    assert.equal("SELECT t.tags[$1::INTEGER] AS anon_1, t.grid[$2::INTEGER][$3::INTEGER] AS anon_2 FROM t",
      cols(t.c.tags[1], t.c.grid[1][2]))
    local a = t:alias("a")
    assert.equal("SELECT a.tags[$1::INTEGER] AS anon_1 FROM t AS a", cols(a.c.tags[2]))
    local c = qs.select(t.c.tags):cte("c")
    assert.equal("WITH c AS (SELECT t.tags FROM t) SELECT c.tags[$1::INTEGER] AS anon_1 FROM c", cols(c.c.tags[1]))
    assert.equal("SELECT z[$1::INTEGER] AS anon_1", cols(qs.column("z", qs.ARRAY(qs.Text))[3]))
    local orm = require("quicksilver.orm")
    local P = orm.declarative_base():model("P", {__tablename = "p",
      id = orm.mapped_column(qs.Integer, {primary_key = true}), tags = orm.mapped_column(qs.ARRAY(qs.Integer))})
    assert.equal("SELECT p.tags[$1::INTEGER] AS anon_1 FROM p", cols(P.tags[1]))
    -- other columns index nothing, and keep their class's plain __index
    assert.is_nil(t.c.id[1])
    assert.equal(getmetatable(t.c.id).__index, getmetatable(t.c.id))
    assert.is_nil(t.c.tags.no_such_field)
    -- a subscriptable column is still a Column to a Table
    local t2 = qs.Table("t2", qs.MetaData(), t.c.tags)
    assert.equal("SELECT t2.tags[$1::INTEGER] AS anon_1 FROM t2", cols(t2.c.tags[1]))
  end)

  it("makes one ARRAY type per element type, so repeated statements hit the compiled cache", function()
    assert.equal(qs.any_({1}).array.type, qs.any_({2, 3}).array.type)
    assert.equal(qs.array({1}).type, qs.func.array_agg(t.c.x).type)
    assert.equal(t.c.grid:item(1).type, t.c.grid:item(2).type)
    local compiler = require("quicksilver.sql.compiler")
    local before = compiler.cache_stats()
    for i = 1, 3 do pg(qs.select(t.c.id):where(t.c.x:eq(qs.any_({i, i + 1})))) end
    local after = compiler.cache_stats()
    assert.equal(3, after.hits + after.misses - before.hits - before.misses)
    assert.is_true(after.misses <= before.misses + 1)
  end)

  it("writes ARRAY[...] and types array_agg as an ARRAY", function()
    assert.equal("SELECT ARRAY[$1::INTEGER, $2::INTEGER] AS anon_1", cols(qs.array({1, 2})))
    assert.equal("SELECT ARRAY[t.x, $1::INTEGER] AS anon_1 FROM t", cols(qs.array({t.c.x, 3})))
    assert.equal("ARRAY(Integer, {dimensions = 2})", tostring(qs.array({qs.array({1}), qs.array({2})}).type))
    assert.equal("ARRAY(Integer)", tostring(qs.func.array_agg(t.c.x).type))
    assert.equal("SELECT array_agg(t.x) AS array_agg_1 FROM t", cols(qs.func.array_agg(t.c.x)))
  end)

  it("writes the JSONB operators and the JSON path access on JSONB", function()
    assert.equal("SELECT t.id FROM t WHERE t.doc @> $1", where(t.c.doc:contains({a = 1})))
    assert.equal("SELECT t.id FROM t WHERE t.doc <@ $1", where(t.c.doc:contained_by({a = 1})))
    assert.equal("SELECT t.id FROM t WHERE t.doc ? $1", where(t.c.doc:has_key("a")))
    assert.equal("SELECT t.id FROM t WHERE t.doc ?| $1::TEXT[]", where(t.c.doc:has_any({"a", "b"})))
    assert.equal("SELECT t.id FROM t WHERE t.doc ?& $1::TEXT[]", where(t.c.doc:has_all({"a"})))
    assert.equal("SELECT t.doc #> $1::TEXT[] AS anon_1 FROM t", cols(t.c.doc:path({"a", 1})))
    assert.equal("SELECT t.doc -> $1::TEXT AS anon_1 FROM t", cols(t.c.doc:get("a")))
    assert.equal("SELECT CAST(t.doc ->> $1::TEXT AS INTEGER) AS anon_1 FROM t", cols(t.c.doc:get("a"):as_integer()))
    assert.equal("SELECT t.id FROM t WHERE t.doc @? $1::JSONPATH", where(t.c.doc:path_exists("$.a[*] ? (@ > 1)")))
    assert.equal("SELECT t.id FROM t WHERE t.doc @@ $1::JSONPATH", where(t.c.doc:path_match("$.a == 1")))
    -- a JSONB parameter alone says its type
    assert.equal("SELECT $1::JSONB AS anon_1", cols(qs.literal({a = 1}, qs.JSONB)))
  end)

  it("keeps contains() a LIKE on strings", function()
    assert.equal("s LIKE $1 ESCAPE '/'", pg(qs.column("s", qs.String):contains("a")))
  end)

  it("refuses them on the other dialects, naming the construct and the database", function()
    local cases = {
      {qs.schema.CreateTable(t), "the ARRAY type is PostgreSQL's"},
      {qs.select(t.c.id):where(t.c.tags:contains({1})), "the contains (@>) operator"},
      {qs.select(t.c.id):where(t.c.doc:contains({a = 1})), "the contains (@>) operator"},
      {qs.select(t.c.id):where(t.c.tags:contained_by({1})), "the contained_by (<@) operator"},
      {qs.select(t.c.id):where(t.c.tags:overlap({1})), "the overlap (&&) operator"},
      {qs.select(t.c.id):where(t.c.doc:has_key("a")), "the has_key (?) operator"},
      {qs.select(t.c.id):where(t.c.doc:has_any({"a"})), "the has_any (?|) operator"},
      {qs.select(t.c.id):where(t.c.doc:has_all({"a"})), "the has_all (?&) operator"},
      {qs.select(t.c.id):where(t.c.doc:path_exists("$.a")), "the path_exists (@?) operator"},
      {qs.select(t.c.id):where(t.c.doc:path_match("$.a == 1")), "the path_match (@@) operator"},
      {qs.select(t.c.tags:item(1)), "an ARRAY subscript"},
      {qs.select(qs.array({1})), "qs.array()"},
      {qs.select(t.c.id):where(t.c.x:eq(qs.any_(t.c.tags))), "any_() over an array"},
      {qs.select(t.c.id):where(t.c.x:eq(qs.all_(t.c.tags))), "all_() over an array"},
    }
    for _, dialect in ipairs({"sqlite", "mysql", "mariadb"}) do
      for _, case in ipairs(cases) do
        local e = raises(qs.exc.CompileError, function() return case[1]:compile({dialect = dialect}) end)
        assert.truthy(tostring(e):find(case[2], 1, true), tostring(e))
        assert.truthy(tostring(e):find(dialect, 1, true), tostring(e))
      end
    end
    local j = qs.Table("j", qs.MetaData(), qs.Column("doc", qs.JSONB))
    local e = raises(qs.exc.CompileError, function() return qs.schema.CreateTable(j):compile({dialect = "mysql"}) end)
    assert.truthy(tostring(e):find("JSONB", 1, true), tostring(e))
    -- any_ / all_ over a subquery: standard SQL, not SQLite's
    local q = qs.select(t.c.id):where(t.c.x:eq(qs.any_(qs.select(t.c.id))))
    assert.equal("SELECT t.id FROM t WHERE t.x = ANY (SELECT t.id FROM t)", q:compile({dialect = "mysql"}).sql)
    assert.equal("SELECT t.id FROM t WHERE t.x = ANY (SELECT t.id FROM t)", q:compile({dialect = "mariadb"}).sql)
    e = raises(qs.exc.CompileError, function() return q:compile({dialect = "sqlite"}) end)
    assert.truthy(tostring(e):find("any_() over a subquery", 1, true), tostring(e))
  end)

  it("refuses bad input by name", function()
    local function arg(fn, text)
      local e = raises(qs.exc.ArgumentError, fn)
      assert.truthy(tostring(e):find(text, 1, true), tostring(e))
    end
    arg(function() return qs.ARRAY() end, "ARRAY: give the element type")
    arg(function() return qs.ARRAY("int") end, "the element type must be a type")
    arg(function() return qs.ARRAY(qs.ARRAY(qs.Integer)) end, "dimensions = 2")
    arg(function() return qs.ARRAY(qs.Integer, {dimensions = 0}) end, "dimensions must be")
    arg(function() return qs.ARRAY(qs.Integer, {zero_indexes = true}) end, "zero_indexes")
    arg(function()
      return qs.schema.CreateTable(qs.Table("bare", qs.MetaData(), qs.Column("x", qs.ARRAY))):compile({dialect = "postgresql"})
    end, "an ARRAY column needs its element type")
    arg(function() return t.c.x:item(1) end, "item: only ARRAY expressions")
    arg(function() return t.c.tags:item(1.5) end, "an ARRAY subscript is an integer")
    arg(function() return t.c.js:has_key("a") end, "has_key: only JSONB expressions")
    arg(function() return t.c.x:contained_by({1}) end, "contained_by: only ARRAY and JSONB")
    arg(function() return t.c.doc:overlap({1}) end, "overlap: only ARRAY expressions")
    arg(function() return t.c.doc:has_any({}) end, "has_any: expected a non-empty list")
    arg(function() return t.c.doc:has_all({1}) end, "has_all: key 1 must be a string")
    arg(function() return t.c.doc:has_key(1) end, "has_key: the key must be a string")
    arg(function() return t.c.doc:path_exists({"a"}) end, "path_exists: the path must be a jsonpath string")
    arg(function() return t.c.js:path_match("$.a") end, "path_match: only JSONB expressions")
    arg(function() return qs.any_(t.c.x) end, "any_: expected an ARRAY expression")
    arg(function() return qs.all_({}) end, "all_: an empty list has no element type")
    arg(function() return qs.array({}) end, "array: expected a non-empty list")
    arg(function() return qs.array({1}, {typ = qs.Integer}) end, "typ")
    arg(function() return t.c.tags:contains(nil) end, "contains: expected a value")
    arg(function() return t.c.tags:contains({1}, {autoescape = true}) end, "autoescape")
  end)
end)

describe("ARRAY under a TypeDecorator", function()
  it("keeps the DDL, the operators and the values of the type it decorates", function()
    local Tags = qs.TypeDecorator(qs.ARRAY(qs.Text), {name = "Tags",
      process_bind_param = function(v) local out = {} for i, x in ipairs(v) do out[i] = x:lower() end return out end})
    local d = qs.Table("d", qs.MetaData(), qs.Column("tags", Tags), qs.Column("doc", qs.TypeDecorator(qs.JSONB)))
    assert.equal("CREATE TABLE d (\n\ttags TEXT[], \n\tdoc JSONB\n)", pg(qs.schema.CreateTable(d)))
    assert.equal("SELECT d.tags @> $1 AS anon_1, d.doc @> $2 AS anon_2, d.tags[$3::INTEGER] AS anon_3 FROM d",
      cols(d.c.tags:contains({"A"}), d.c.doc:contains({a = 1}), d.c.tags[1]))
    assert.equal('{"a","b"}', Tags._bind({"A", "B"}))
  end)
end)

describe("ARRAY in migrations", function()
  it("writes qs.ARRAY(T) and qs.JSONB into a migration script", function()
    local emit = require("quicksilver.migrate.emit")
    assert.equal("qs.ARRAY(qs.Integer)", emit.type(qs.ARRAY(qs.Integer)))
    assert.equal("qs.ARRAY(qs.String(20), {dimensions = 2})", emit.type(qs.ARRAY(qs.String(20), {dimensions = 2})))
    assert.equal("qs.JSONB", emit.type(qs.JSONB))
  end)

  it("reads format_type()'s names back as ARRAY and JSONB", function()
    local reflect = require("quicksilver.dialects.postgresql_reflect")
    assert.equal("ARRAY(Integer)", tostring(reflect.column_type("integer[]")))
    assert.equal("ARRAY(String(20))", tostring(reflect.column_type("character varying(20)[]")))
    assert.equal("Text", reflect.column_type("text[]").item_type.name)
    local ts = reflect.column_type("timestamp with time zone[]")
    assert.equal("DateTime", ts.item_type.name)
    assert.is_true(ts.item_type.timezone)
    assert.equal("JSONB", tostring(reflect.column_type("jsonb")))
    assert.equal("JSON", tostring(reflect.column_type("json")))
  end)
end)

describe("ARRAY text", function()
  local text = qs.ARRAY(qs.Text)
  local ints = qs.ARRAY(qs.Integer)

  it("quotes every member and escapes quotes and backslashes", function()
    assert.equal('{"a","b,c","q\\"","\\\\","{}","NULL","",NULL,"é"}',
      pg_types.array_text(text, {"a", "b,c", 'q"', "\\", "{}", "NULL", "", qs.null, "é"}))
    assert.equal("{1,NULL,-3}", pg_types.array_text(ints, {1, qs.null, -3}))
    assert.equal("{1,NULL,3}", pg_types.array_text(ints, {n = 3, 1, nil, 3}))
    assert.equal("{}", pg_types.array_text(ints, {}))
    assert.equal("{{1,2},{3,NULL}}", pg_types.array_text(qs.ARRAY(qs.Integer, {dimensions = 2}), {{1, 2}, {3, qs.null}}))
    assert.equal('{t,f}', pg_types.array_text(qs.ARRAY(qs.Boolean), {true, false}))
    assert.equal('{1.5,Infinity,-Infinity}', pg_types.array_text(qs.ARRAY(qs.Float), {1.5, math.huge, -math.huge}))
    assert.equal('{"{\\"a\\":1}"}', pg_types.array_text(qs.ARRAY(qs.JSONB), {{a = 1}}))
    assert.equal('{"\\\\x00ff"}', pg_types.array_text(qs.ARRAY(qs.LargeBinary), {"\0\255"}))
  end)

  it("reads the server's forms: bare and quoted members, NULL, bounds, nesting", function()
    assert.same({"a", "b,c", 'q"', "\\", "{}", "NULL", "", qs.null, "é"},
      pg_types.parse_array(text, '{a,"b,c","q\\"","\\\\","{}","NULL","",NULL,é}'))
    assert.same({1, qs.null, -3}, pg_types.parse_array(ints, "{1,NULL,-3}"))
    assert.same({}, pg_types.parse_array(ints, "{}"))
    assert.same({{1, 2}, {3, 4}}, pg_types.parse_array(qs.ARRAY(qs.Integer, {dimensions = 2}), "{{1,2},{3,4}}"))
    assert.same({7, 8}, pg_types.parse_array(ints, "[0:1]={7,8}"))
    assert.same({true, false}, pg_types.parse_array(qs.ARRAY(qs.Boolean), "{t,f}"))
    assert.same({math.huge, 1.5}, pg_types.parse_array(qs.ARRAY(qs.Float), "{Infinity,1.5}"))
    assert.same({{a = 1}}, pg_types.parse_array(qs.ARRAY(qs.JSONB), '{"{\\"a\\": 1}"}'))
    assert.same({"\0\255"}, pg_types.parse_array(qs.ARRAY(qs.LargeBinary), '{"\\\\x00ff"}'))
    assert.is_nil(pg_types.parse_array(ints, nil))
    if math.type then assert.equal("integer", math.type(pg_types.parse_array(ints, "{5}")[1])) end
    for _, bad in ipairs({"{1,2", "1,2}", "{1,,2}", '{"a}', "{1}x", "{,}"}) do
      raises(qs.exc.DataError, function() return pg_types.parse_array(ints, bad) end)
    end
  end)

  it("round-trips a seeded fuzz of nasty strings through its own writer and reader", function()
    local atoms = {",", '"', "\\", "{", "}", " ", "NULL", "", "é", "\t", "\n", "a", "'", "\\\"", "日本"}
    math.randomseed(7)
    for _ = 1, 500 do
      local list = {}
      for j = 1, math.random(0, 5) do
        local parts = {}
        for k = 1, math.random(0, 4) do parts[k] = atoms[math.random(#atoms)] end
        list[j] = table.concat(parts)
      end
      assert.same(list, pg_types.parse_array(text, pg_types.array_text(text, list)))
    end
  end)
end)
