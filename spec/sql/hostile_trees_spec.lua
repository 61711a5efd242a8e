-- The compiler on trees it was never meant to see (issue 21, item 2): nesting
-- past the one depth limit on every path (cached, uncached, literal_binds,
-- DDL, the cache key), node tables with fields of the wrong type or missing,
-- nodes that contain themselves, names that a __index makes afresh on each
-- read. Every outcome is a result or a qs.exc error naming the problem;
-- before the fix several of these crashed the interpreter (the C stack, a
-- NULL name into the identifier quoting, lua_rawgeti on a string, a freed
-- name string) or raised Lua's own errors. Cases found by
-- spec/fuzz/compiler_fuzz.lua are kept here as well.
local qs = require("quicksilver")
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local compiler = require("quicksilver.sql.compiler")

local K = core.kinds
local DIALECTS = core.dialect_names()

local function tables()
  local md = qs.MetaData()
  local t = qs.Table("t", md, qs.Column("id", qs.Integer, {primary_key = true}), qs.Column("name", qs.String(30)))
  local u = qs.Table("u", md, qs.Column("id", qs.Integer, {primary_key = true}), qs.Column("t_id", qs.Integer))
  return t, u
end

-- A raw SELECT node of the given columns and FROM list.
local function SEL(columns, froms, extra)
  local s = {_k = K.SELECT, columns = columns, _final_froms = function() return froms or {} end}
  for k, v in pairs(extra or {}) do s[k] = v end
  return s
end

-- fn() must raise a qs.exc error of class cls whose message holds each of the
-- plain strings in wants.
local function refuses(cls, wants, fn)
  local ok, err = pcall(fn)
  assert.is_false(ok, "expected an error, got a result")
  assert.is_true(exc.is_error(err), "not a qs.exc error: " .. tostring(err))
  assert.is_true(exc.is_error(err, cls), "wrong class: " .. tostring(err))
  for _, w in ipairs(wants) do
    assert.truthy(tostring(err):find(w, 1, true), "message lacks '" .. w .. "': " .. tostring(err))
  end
  return err
end

local LIMIT = "nested deeper than " .. tostring(core.max_depth) .. " levels"

describe("one depth limit for every path (core.max_depth)", function()
  after_each(function() compiler.set_cache_size(500) end)

  it("is exported and is 1000", function()
    assert.equal(1000, core.max_depth)
  end)

  local function deep_sum(n)
    local t = tables()
    local e = t.c.id
    for _ = 1, n do e = e + 1 end
    return qs.select(e)
  end

  it("60,000 nested + : a CompileError naming the limit, cached, uncached and literal", function()
    local s = deep_sum(60000)
    refuses(exc.CompileError, {LIMIT}, function() return s:compile() end)
    refuses(exc.CompileError, {LIMIT}, function() return deep_sum(60000):compile({literal_binds = true}) end)
    compiler.set_cache_size(0)
    refuses(exc.CompileError, {LIMIT}, function() return deep_sum(60000):compile() end)
    for _, d in ipairs(DIALECTS) do
      refuses(exc.CompileError, {LIMIT}, function() return core.compile(s, d) end)
      refuses(exc.CompileError, {LIMIT}, function() return core.compile(s, d, {literal_binds = true}) end)
    end
    assert.is_nil((core.cache_key(s)))   -- uncacheable: never an error of its own
  end)

  it("a statement just under the limit compiles, cached or not", function()
    local c = deep_sum(core.max_depth - 5):compile()
    assert.equal(core.max_depth - 5, c.params.n)
    assert.is_not_nil((core.cache_key(deep_sum(core.max_depth - 5))))
    c = deep_sum(core.max_depth - 5):compile({literal_binds = true})
    assert.truthy(c.sql:find("+ 1 + 1", 1, true))
  end)

  it("60,000 nested scalar subqueries and FROM subqueries", function()
    local t = tables()
    local q = qs.select(t.c.id)
    for _ = 1, 60000 do q = qs.select(q:scalar_subquery()) end
    refuses(exc.CompileError, {LIMIT}, function() return q:compile({literal_binds = true}) end)
    refuses(exc.CompileError, {LIMIT}, function() return q:compile() end)
    -- FROM subqueries straight into the C compiler (no Lua walk first)
    local e = t
    for _ = 1, 60000 do e = {_k = K.ALIAS, name = "a", element = SEL({t.c.id}, {e})} end
    for _, d in ipairs(DIALECTS) do
      refuses(exc.CompileError, {LIMIT}, function() return core.compile(SEL({t.c.id}, {e}), d) end)
    end
  end)

  it("60,000 nested joins and compounds", function()
    local t = tables()
    local j = t
    for _ = 1, 60000 do j = {_k = K.JOIN, left = j, right = t, onclause = {_k = K.TRUE}} end
    local c = SEL({t.c.id}, {t})
    for _ = 1, 60000 do c = {_k = K.COMPOUND, op = "UNION", selects = {c, SEL({t.c.id}, {t})}} end
    for _, d in ipairs(DIALECTS) do
      refuses(exc.CompileError, {LIMIT}, function() return core.compile(SEL({t.c.id}, {j}), d) end)
      refuses(exc.CompileError, {LIMIT}, function() return core.compile(c, d) end)
    end
  end)

  it("a deep CHECK expression in DDL", function()
    local md = qs.MetaData()
    local col = qs.Column("x", qs.Integer)
    local e = col
    for _ = 1, 60000 do e = e + 1 end
    local t = qs.Table("deep", md, col, qs.CheckConstraint(e:gt(0)))
    local ddl = require("quicksilver.sql.ddl")
    refuses(exc.CompileError, {LIMIT}, function() return ddl.CreateTable(t):compile() end)
  end)
end)

describe("nodes that contain themselves", function()
  it("a BINARY whose left is itself", function()
    local t = tables()
    local b = {_k = K.BINARY, op = core.ops.ADD, right = t.c.id}
    b.left = b
    for _, d in ipairs(DIALECTS) do
      refuses(exc.CompileError, {LIMIT, "contains itself"}, function() return core.compile(SEL({b}, {t}), d) end)
    end
  end)

  it("a JOIN whose left is itself, and a SELECT among its own columns", function()
    local t = tables()
    local j = {_k = K.JOIN, right = t, onclause = {_k = K.TRUE}}
    j.left = j
    local s = SEL({t.c.id}, {t})
    s.columns[2] = s
    for _, d in ipairs(DIALECTS) do
      refuses(exc.CompileError, {LIMIT}, function() return core.compile(SEL({t.c.id}, {j}), d) end)
      refuses(exc.CompileError, {LIMIT}, function() return core.compile(s, d) end)
    end
  end)

  it("through the Lua front, with the cache", function()
    local t = tables()
    local s = qs.select(t.c.id):where(t.c.id:eq(1))
    rawset(s._where, "left", s._where)
    refuses(exc.CompileError, {LIMIT}, function() return s:compile() end)
  end)
end)

describe("malformed node tables: an ArgumentError naming the node kind and field", function()
  it("a CTE without a name as a FROM element (was a NULL name into the quoting)", function()
    local t = tables()
    for _, d in ipairs(DIALECTS) do
      refuses(exc.ArgumentError, {"malformed CTE node", "'name'"}, function()
        return core.compile(SEL({t.c.id}, {{_k = K.CTE, element = SEL({t.c.id}, {t})}}), d)
      end)
    end
    for _, d in ipairs({"mysql", "mariadb"}) do
      refuses(exc.ArgumentError, {"malformed VALUES_REF node", "'name'"}, function()
        return core.compile({_k = K.INSERT, table = t, _pairs = {{t.c.id, {_k = K.BIND, value = 1}}},
          _on_duplicate = {{t.c.name, {_k = K.VALUES_REF}}}}, d)
      end)
    end
  end)

  it("a CASE whose WHENs are strings (was lua_rawgeti on a string)", function()
    local t = tables()
    for _, d in ipairs(DIALECTS) do
      refuses(exc.ArgumentError, {"malformed CASE node", "'whens'"}, function()
        return core.compile(SEL({{_k = K.CASE, whens = {"x", "y"}}}, {t}), d)
      end)
      refuses(exc.ArgumentError, {"malformed CASE node", "'whens'"}, function()
        return core.compile(SEL({{_k = K.CASE, whens = "x"}}, {t}), d)
      end)
    end
  end)

  it("fields of the wrong type", function()
    local t = tables()
    local cases = {
      {{_k = K.COLUMN, name = 42}, "malformed COLUMN node: field 'name' must be a string, not number"},
      {{_k = K.COLUMN, name = "x", table = "t"}, "malformed COLUMN node: field 'table'"},
      {{_k = K.FUNCTION, name = "f", args = "x"}, "malformed FUNCTION node: field 'args' must be a list"},
      {{_k = K.LIST, op = core.ops.AND, clauses = 5}, "malformed LIST node: field 'clauses'"},
      {{_k = K.IN, left = t.c.id, values = "abc"}, "malformed IN node: field 'values'"},
      {{_k = K.BINARY, op = core.ops.ADD, left = t.c.id}, "malformed BINARY node: field 'right' must be a node"},
      {{_k = K.CAST, element = t.c.id, type = "INTEGER"}, "malformed CAST node: field 'type' must be a type"},
      {{_k = K.CAST, element = 7, type = qs.Integer}, "malformed CAST node: field 'element'"},
      {{_k = K.JSON_GET, left = t.c.id, mode = {}}, "malformed JSON_GET node: field 'mode'"},
      {{_k = K.OVER, element = t.c.id, partition_by = "x"}, "malformed OVER node: field 'partition_by'"},
      {{_k = K.IN, left = t.c.id, values = {{_k = K.BIND, value = 1}}, negate = "yes"},
        "malformed IN node: field 'negate' must be a boolean, not string"},
      {{_k = K.CAST, element = t.c.id, type = {_is_type = true, _t = "VARCHAR", length = -5}},
        "field 'length' must be a whole number"},
    }
    for _, d in ipairs(DIALECTS) do
      for _, case in ipairs(cases) do
        refuses(exc.ArgumentError, {case[2]}, function() return core.compile(SEL({case[1]}, {t}), d) end)
      end
      refuses(exc.ArgumentError, {"malformed SELECT node: field 'columns' must be a list"}, function()
        return core.compile(SEL("id", {t}), d)
      end)
      refuses(exc.ArgumentError, {"malformed SELECT node: field '_order_by'"}, function()
        return core.compile(SEL({t.c.id}, {t}, {_order_by = "id"}), d)
      end)
      refuses(exc.ArgumentError, {"malformed COMPOUND node: field 'selects'"}, function()
        return core.compile({_k = K.COMPOUND, op = "UNION", selects = 3}, d)
      end)
      refuses(exc.ArgumentError, {"malformed INSERT node: field '_pairs'"}, function()
        return core.compile({_k = K.INSERT, table = t, _pairs = {"id"}}, d)
      end)
      refuses(exc.ArgumentError, {"malformed INSERT node: field '_rows'"}, function()
        return core.compile({_k = K.INSERT, table = t, _pairs = {{t.c.id, {_k = K.BIND, value = 1}}},
          _rows = {7}}, d)
      end)
      refuses(exc.ArgumentError, {"malformed UPDATE node: field '_extra_froms'"}, function()
        return core.compile({_k = K.UPDATE, table = t, _pairs = {{t.c.id, {_k = K.BIND, value = 1}}},
          _extra_froms = "u"}, d)
      end)
      refuses(exc.ArgumentError, {"malformed SELECT node: field '_final_froms' must be a function"}, function()
        return core.compile({_k = K.SELECT, columns = {t.c.id}}, d)
      end)
      for _, literal in ipairs({false, true}) do
        refuses(exc.ArgumentError, {"malformed BIND node: field 'type' must be a type, not number"}, function()
          return core.compile(SEL({{_k = K.BINARY, op = core.ops.EQ, left = t.c.id, right = {_k = K.BIND, value = 1,
            type = 5}}}, {t}), d, {literal_binds = literal})
        end)
      end
      refuses(exc.ArgumentError, {"a number where a node (a table) was expected", "'name'"}, function()
        return core.compile({_k = K.INSERT, table = t, _pairs = {{5, {_k = K.BIND, value = 1}}}}, d)
      end)
    end
  end)

  it("a FROM list the Lua side cannot derive is an ArgumentError naming the SELECT", function()
    local t = tables()
    local s = qs.select(t.c.id)
    rawset(s, "columns", 5)
    refuses(exc.ArgumentError, {"malformed SELECT"}, function() return core.compile(s, "sqlite") end)
  end)

  it("the Lua front's own steps: a malformed DML node is an ArgumentError", function()
    local t, u = tables()
    local s = qs.update(t):values({name = "x"}):where(u.c.t_id:lt(1))
    rawset(s, "table", s._where)
    refuses(exc.ArgumentError, {"malformed"}, function() return s:compile() end)
  end)
end)

describe("names made afresh by __index stay alive while the compiler uses them", function()
  it("an anonymous alias of a table whose name an __index makes (was a freed name string)", function()
    local t = tables()
    local fresh = setmetatable({_k = K.TABLE}, {__index = function(_, k)
      collectgarbage()
      if k == "name" then return ("n"):rep(40) .. "x" end
    end})
    local alias = {_k = K.ALIAS, element = fresh}
    for _, d in ipairs(DIALECTS) do
      local c = core.compile(SEL({t.c.id}, {alias}), d)
      assert.truthy(c.sql:find(("n"):rep(40) .. "x", 1, true), c.sql)
      assert.truthy(c.sql:find(("n"):rep(40) .. "x_1", 1, true), c.sql)
    end
  end)

  it("a column whose name an __index makes", function()
    local t = tables()
    local col = setmetatable({_k = K.COLUMN}, {__index = function(_, k)
      collectgarbage()
      if k == "name" then return "c" .. ("z"):rep(60) end
    end})
    for _, d in ipairs(DIALECTS) do
      local c = core.compile(SEL({col}, {t}), d)
      assert.truthy(c.sql:find("c" .. ("z"):rep(60), 1, true), c.sql)
    end
  end)
end)

describe("the cache key on hostile values", function()
  it("a bind whose type is NaN or a string is not keyed (compiled without the cache)", function()
    local t = tables()
    local s = qs.select(t.c.id):where(t.c.id:eq(1))
    rawset(s._where.right, "type", 0 / 0)
    assert.is_nil((core.cache_key(s)))
    rawset(s._where.right, "type", "INTEGER")
    assert.is_nil((core.cache_key(s)))
  end)

  it("bind keys that differ after a NUL byte get different keys", function()
    local t = tables()
    local a = core.cache_key(qs.select(t.c.id):where(t.c.id:eq(qs.bindparam("k\0a", 1))))
    local b = core.cache_key(qs.select(t.c.id):where(t.c.id:eq(qs.bindparam("k\0b", 1))))
    assert.is_not_nil(a)
    assert.are_not.equal(a, b)
  end)
end)

describe("Lua code the compiler calls may change the tree it walks", function()
  -- Strings longer than 40 bytes are not interned: made at run time and held
  -- by the node alone, they are freed once the node lets go of them.
  local function long(s) return s .. ("x"):rep(60) .. tostring({}) end

  it("a type's converter (literal mode) that replaces the text being scanned", function()
    for _, d in ipairs(DIALECTS) do
      local tail = long("'") .. "'"   -- a string literal after the binds
      local node = {_k = K.TEXT, _defaults = {a = 1, b = 2}}
      node.text = "SELECT :a, :b, " .. tail
      local converter = {_is_type = true, _t = "INTEGER", _bind = function(v)
        node.text = "SELECT 0"
        collectgarbage()
        collectgarbage()
        return v
      end}
      node._types = {a = converter, b = converter}
      local c = core.compile(node, d, {literal_binds = true})
      assert.equal("SELECT 1, 2, " .. tail, c.sql)
    end
  end)

  it("a SELECT's _final_froms that renames the label whose column it is", function()
    local t = tables()
    local name = long("label_")
    local label = {_k = K.LABEL, name = name}
    local inner = SEL({t.c.id}, {t})
    inner._final_froms = function()
      label.name = "other"
      collectgarbage()
      collectgarbage()
      return {t}
    end
    label.element = {_k = K.SCALAR_SELECT, element = inner}
    for _, d in ipairs(DIALECTS) do
      label.name = long("label_")
      local want = label.name
      local c = core.compile(SEL({label}, {t}), d)
      assert.truthy(c.sql:find(want, 1, true), c.sql)
      assert.equal(want, c.result_names[1])
    end
  end)
end)
