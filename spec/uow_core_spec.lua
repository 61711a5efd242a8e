-- The C loops of the ORM's flush: core.toposort (the stable dependency order
-- of mappers and rows, with levels, or the nodes a cycle holds back) and
-- core.changed_keys (the attributes of a dirty object that differ from what
-- was loaded). Bad input is an ArgumentError naming the problem.
local qs = require("quicksilver")   -- registers the qs.exc factory the errors come from
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind
local core = require("quicksilver.core")

describe("core.toposort", function()
  it("orders a chain given backwards", function()
    local order, levels = core.toposort(4, {3, 4, 2, 3, 1, 2})
    assert.same({1, 2, 3, 4}, order)
    assert.same({1, 2, 3, 4}, levels)
  end)

  it("gives a diamond's levels as longest paths from a root", function()
    -- 1 -> {2, 3} -> 4, and 1 -> 5 -> 6 -> 4
    local order, levels = core.toposort(6, {1, 2, 1, 3, 2, 4, 3, 4, 1, 5, 5, 6, 6, 4})
    assert.same({1, 2, 3, 5, 6, 4}, order)
    assert.same({1, 2, 2, 4, 2, 3}, levels)
  end)

  it("is stable: of the ready nodes the smallest goes first", function()
    assert.same({1, 2, 3, 4, 5}, (core.toposort(5, {})))
    local order, levels = core.toposort(6, {6, 1, 4, 2, 6, 1})
    assert.same({3, 4, 2, 5, 6, 1}, order)
    assert.same({2, 2, 1, 1, 1, 1}, levels)
    -- the edges' order does not matter
    assert.same(order, (core.toposort(6, {6, 1, 6, 1, 4, 2})))
  end)

  it("ignores self-edges", function()
    local order, levels = core.toposort(3, {1, 1, 2, 2, 2, 1, 3, 3})
    assert.same({2, 1, 3}, order)
    assert.same({2, 1, 1}, levels)
  end)

  it("handles no nodes", function()
    local order, levels = core.toposort(0, {})
    assert.same({}, order)
    assert.same({}, levels)
  end)

  it("returns nil and the nodes in or behind a cycle, sorted", function()
    -- 6 -> 1 -> 2 <-> 3 -> 4, 5 alone
    local order, cycle = core.toposort(6, {1, 2, 2, 3, 3, 2, 3, 4, 6, 1})
    assert.is_nil(order)
    assert.same({2, 3, 4}, cycle)
    order, cycle = core.toposort(2, {1, 2, 2, 1})
    assert.is_nil(order)
    assert.same({1, 2}, cycle)
  end)

  it("takes integral floats as node numbers", function()
    assert.same({2, 1}, (core.toposort(2.0, {2.0, 1})))
  end)

  it("sorts 200,000 nodes and 400,000 edges", function()
    local n, edges, seed = 200000, {}, 7
    local function rand()
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed % n + 1
    end
    for i = 1, 400000 do
      local a, b = rand(), rand()
      if a > b then a, b = b, a end
      edges[2 * i - 1], edges[2 * i] = a, b
    end
    local order, levels = core.toposort(n, edges)
    assert.equal(n, #order)
    local pos = {}
    for i, v in ipairs(order) do pos[v] = i end
    for i = 1, #edges, 2 do
      local a, b = edges[i], edges[i + 1]
      if a ~= b then
        assert(pos[a] < pos[b], "edge out of order")
        assert(levels[b] > levels[a], "level not above a predecessor's")
      end
    end
  end)

  describe("bad input", function()
    local function msg(fn, ...)
      return raises(qs.exc.ArgumentError, fn, ...).message
    end

    it("a node count that is not a non-negative integer", function()
      assert.matches("toposort: the node count must be a non%-negative integer, got %-1",
        msg(core.toposort, -1, {}))
      assert.matches("got 2%.5", msg(core.toposort, 2.5, {}))
      assert.matches("got a string", msg(core.toposort, "3", {}))
      assert.matches("got nil", msg(core.toposort))
    end)

    it("edges that are not a table", function()
      assert.matches("toposort: edges must be a table, got string", msg(core.toposort, 2, "1,2"))
      assert.matches("got nil", msg(core.toposort, 2))
    end)

    it("an odd number of values", function()
      assert.matches("toposort: edges must be pairs, but the list has 3 values",
        msg(core.toposort, 3, {1, 2, 3}))
    end)

    it("a node out of range", function()
      assert.equal("toposort: edge 3 names node 7, but there are 5 nodes",
        msg(core.toposort, 5, {1, 2, 2, 3, 3, 7}))
      assert.equal("toposort: edge 1 names node 0, but there are 5 nodes",
        msg(core.toposort, 5, {0, 1}))
      assert.matches("edge 1 names node %-2, but there are 0 nodes", msg(core.toposort, 0, {-2, 1}))
    end)

    it("a node that is not an integer", function()
      assert.equal("toposort: edge 2 names 1.5, not a node number",
        msg(core.toposort, 3, {1, 2, 1.5, 3}))
      assert.equal("toposort: edge 1 names a string, not a node number",
        msg(core.toposort, 3, {1, "2"}))
      assert.equal("toposort: edge 1 names a table, not a node number",
        msg(core.toposort, 3, {{}, 2}))
      assert.matches("edge 1 names %-?nan, not a node number", msg(core.toposort, 3, {0 / 0, 2}))
      assert.matches("edge 1 names inf, not a node number", msg(core.toposort, 3, {math.huge, 2}))
    end)
  end)
end)

describe("core.changed_keys", function()
  local t = {}

  it("lists the keys whose values differ, in the keys' order", function()
    local dict = {a = 1, b = "x", c = t, d = true, e = 5}
    local committed = {a = 1, b = "y", c = t, d = false, e = 5}
    assert.same({"d", "b"}, core.changed_keys(dict, committed, {"a", "d", "c", "b", "e"}))
  end)

  it("returns a new empty table when nothing changed", function()
    local r1 = core.changed_keys({a = 1}, {a = 1}, {"a"})
    local r2 = core.changed_keys({a = 1}, {a = 1}, {"a"})
    assert.same({}, r1)
    assert.are_not.equal(r1, r2)
    assert.same({}, core.changed_keys({}, {}, {}))
  end)

  it("a value against nil differs; nil against nil does not", function()
    assert.same({"a", "b"}, core.changed_keys({a = 1}, {b = false}, {"a", "b", "c"}))
  end)

  it("compares numbers by value: 1 equals 1.0", function()
    assert.same({}, core.changed_keys({n = 1}, {n = 1.0}, {"n"}))
    assert.same({"n"}, core.changed_keys({n = 1}, {n = 1.5}, {"n"}))
    assert.same({"n"}, core.changed_keys({n = 1}, {n = "1"}, {"n"}))
  end)

  it("compares strings by value and tables by identity", function()
    local s1, s2 = "ab", ("a"):rep(1) .. "b"
    assert.same({}, core.changed_keys({s = s1}, {s = s2}, {"s"}))
    assert.same({"t"}, core.changed_keys({t = {1}}, {t = {1}}, {"t"}))
    assert.same({}, core.changed_keys({t = t}, {t = t}, {"t"}))
  end)

  it("reads raw: __index and __eq are not consulted", function()
    local eq = {__eq = function() return true end}
    local a, b = setmetatable({}, eq), setmetatable({}, eq)
    local dict = setmetatable({}, {__index = function() return 1 end})
    assert.same({"x"}, core.changed_keys({x = a}, {x = b}, {"x"}))
    assert.same({"y"}, core.changed_keys(dict, {y = 1}, {"y"}))
  end)

  it("raises ArgumentError for arguments that are not tables", function()
    local function msg(...)
      return raises(qs.exc.ArgumentError, core.changed_keys, ...).message
    end
    assert.equal("changed_keys: dict must be a table, got nil", msg(nil, {}, {}))
    assert.equal("changed_keys: committed must be a table, got string", msg({}, "x", {}))
    assert.equal("changed_keys: keys must be a table, got number", msg({}, {}, 1))
    assert.equal("changed_keys: keys[2] must be a string, got number", msg({}, {}, {"a", 2}))
  end)
end)

describe("core.changed_collections", function()
  local session = {}
  local mapper = {_coll_rels = {{"items", true}, {"one", false}}}
  local x, y = {}, {}
  -- (a collection's list lives in the state's colls, not in its value
  -- table: orm/attributes.lua; written here in dict and moved there)
  local function state(dict, snap, loaded, owner)
    local colls = {items = dict.items}
    dict.items = nil
    return {session = owner or session, mapper = mapper, dict = dict, colls = colls, snap = snap,
      loaded = loaded or {items = true, one = true}}
  end
  local function never() error("rels_of must not be called") end

  it("returns the states whose loaded lists or one-to-one places differ from their snapshots", function()
    local same = state({items = {x, y}, one = x}, {items = {x, y}, one = {x}})
    local grown = state({items = {x, y}}, {items = {x}, one = {}})
    local swapped = state({items = {y, x}}, {items = {x, y}, one = {}})
    local moved = state({items = {}, one = y}, {items = {}, one = {x}})
    local unloaded = state({items = {y}}, {items = {}, one = {}}, {})
    local tracked = {[same] = true, [grown] = true, [swapped] = true, [moved] = true, [unloaded] = true}
    local out = core.changed_collections(tracked, session, never)
    local set = {}
    for _, st in ipairs(out) do set[st] = true end
    assert.equal(3, #out)
    assert.is_true(set[grown] and set[swapped] and set[moved])
  end)

  it("a loaded collection without a snapshot counts as changed; an empty one equals nil", function()
    local nosnap = state({items = {}}, {one = {}})
    local empty = state({}, {items = {}, one = {}})
    local out = core.changed_collections({[nosnap] = true, [empty] = true}, session, never)
    assert.same({nosnap}, out)
  end)

  it("drops states of other sessions from the set and asks rels_of for unknown mappers", function()
    local other = state({items = {x}}, {items = {}, one = {}}, nil, {})
    local m2 = {}
    local fresh = {session = session, mapper = m2, dict = {}, colls = {kids = {x}}, snap = {kids = {}}, loaded = {kids = true}}
    local asked
    local tracked = {[other] = true, [fresh] = true}
    local out = core.changed_collections(tracked, session, function(m)
      asked = m
      return {{"kids", true}}
    end)
    assert.same({fresh}, out)
    assert.equal(m2, asked)
    assert.is_nil(tracked[other])
    assert.is_true(tracked[fresh])
  end)

  it("raises ArgumentError for a tracked set that is not a table", function()
    assert.equal("changed_collections: tracked must be a table, got nil",
      raises(qs.exc.ArgumentError, core.changed_collections, nil, session, never).message)
  end)
end)

describe("core.keyset_runs", function()
  it("gives where each run of parameter sets with the same keys begins", function()
    local rows = {{a = 1, b = 2}, {b = 3, a = 4}, {a = 5}, {a = 6}, {a = 7, b = false}, {a = 8, b = nil}}
    assert.same({1, 3, 5, 6}, core.keyset_runs(rows, #rows))
    assert.same({1}, core.keyset_runs({{}, {}}, 2))
    assert.same({}, core.keyset_runs({}, 0))
  end)

  it("names the first entry that is not a table", function()
    local starts, bad = core.keyset_runs({{a = 1}, "x", 3}, 3)
    assert.is_nil(starts)
    assert.equal(2, bad)
  end)
end)

describe("core.row_dicts", function()
  local keymap = {id = 1, name = 2, qty = 3, [1] = "id", [2] = "name", [3] = "qty"}

  it("fills two tables with the values at base + position, NULLs left out", function()
    local row = core.row(keymap, {7, "seven", nil}, 3)
    local dict, committed = core.row_dicts(row, 0, {"pk", "label", "count"}, {1, 2, 3})
    assert.same({pk = 7, label = "seven"}, dict)
    assert.same({pk = 7, label = "seven"}, committed)
    assert.are_not.equal(dict, committed)
    local d2 = core.row_dicts(row, 1, {"label"}, {1})
    assert.same({label = "seven"}, d2)
  end)

  it("raises ArgumentError for a position outside the row or a row that is not one", function()
    local row = core.row(keymap, {1, "x", 2}, 3)
    assert.equal("row_dicts: column 4 is outside the row's 3",
      raises(qs.exc.ArgumentError, core.row_dicts, row, 2, {"a"}, {2}).message)
    assert.has_error(function() core.row_dicts({}, 0, {}, {}) end)
  end)
end)

describe("core.load_objects", function()
  it("raises ArgumentError for an incomplete spec", function()
    assert.equal("load_objects: incomplete spec",
      raises(qs.exc.ArgumentError, core.load_objects, {}, 1, 0, {}, {}, {}, {}).message)
  end)

  it("stops at the first entry that is not a Row", function()
    local spec = {pk = 1, keys = {"id"}, positions = {1}, mapper = {},
      state_mt = {}, instance_mt = {}, state_key = {}}
    assert.equal(1, core.load_objects({"not a row"}, 1, 0, spec, {}, {}, {}))
    local keymap = {id = 1, [1] = "id"}
    local imap, out = {}, {}
    local rows = {core.row(keymap, {5}, 1), core.row(keymap, {0 / 0}, 1), core.row(keymap, {6}, 1)}
    assert.equal(2, core.load_objects(rows, 1, 0, spec, imap, {}, out))   -- NaN is keyed in Lua
    assert.is_table(imap[5])
    assert.equal(4, core.load_objects(rows, 3, 0, spec, imap, {}, out))
    assert.is_true(rawequal(out[1], imap[5]) and rawequal(out[3], imap[6]))
    assert.equal(5, rawget(out[1], spec.state_key).dict.id)
    -- up to a last index: one row
    local imap2, out2 = {}, {}
    assert.equal(2, core.load_objects(rows, 1, 0, spec, imap2, {}, out2, 1))
    assert.is_table(out2[1])
    assert.is_nil(out2[3])
  end)
end)

describe("core.pick and core.copy_list", function()
  it("copy the listed keys (nils left out) and a sequence into new tables", function()
    local t = {a = 1, b = "x", c = false}
    local p = core.pick(t, {"a", "c", "missing"})
    assert.same({a = 1, c = false}, p)
    assert.are_not.equal(t, p)
    local e1, e2 = {}, {}
    local list = {e1, e2}
    local c = core.copy_list(list)
    assert.is_true(rawequal(c[1], e1) and rawequal(c[2], e2) and #c == 2)
    assert.are_not.equal(list, c)
    assert.same({}, core.copy_list({}))
  end)

  it("raise ArgumentError for arguments that are not tables", function()
    assert.equal("pick: keys must be a table, got nil", raises(qs.exc.ArgumentError, core.pick, {}).message)
    assert.equal("copy_list: list must be a table, got string",
      raises(qs.exc.ArgumentError, core.copy_list, "x").message)
  end)
end)
