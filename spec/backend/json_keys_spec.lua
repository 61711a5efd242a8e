-- JSON keys that hold path syntax (issue 21, item 9): '"', '\', '.', '[',
-- ']', quotes and control characters are data, and col:get(k) / col:path
-- read back the value under exactly that key on every backend (SQLite before
-- 3.45 cannot address a key holding both '"' and '.' or '[': it refuses).
local qs = require("quicksilver")
local core = require("quicksilver.core")
local helpers = require("spec.helpers")

describe("JSON keys holding path syntax on " .. helpers.backend, function()
  local engine, docs

  before_each(function()
    engine = helpers.backend_engine()
    local md = qs.MetaData()
    docs = qs.Table("json_keys", md, qs.Column("id", qs.Integer, {primary_key = true, autoincrement = false}),
      qs.Column("data", qs.JSON))
    md:create_all(engine)
  end)

  after_each(function()
    engine:dispose()
    helpers.cleanup()
  end)

  it("reads back the value under each key, by get and by path", function()
    local keys = {'a"b', 'a\\', 'a.b', 'a\nb', 'a"\\"', '"', "'; --", "a]b", "a[0]", 'x"[0]', 'a\\"', "é\t"}
    local old_sqlite = helpers.backend == "sqlite" and core.sqlite_version_number < 3045000
    local doc = {a = "plain"}
    for i, k in ipairs(keys) do doc[k] = {v = i, s = "s" .. i} end
    engine:begin(function(c) c:execute(qs.insert(docs), {id = 1, data = doc}) end)
    engine:connect(function(c)
      local function get(e) return c:execute(qs.select(e):where(docs.c.id:eq(1))):scalar() end
      for i, k in ipairs(keys) do
        local unreachable = old_sqlite and k:find('"', 1, true) and k:find("[%.%[]")
        if unreachable then
          local err = helpers.assert_raises_kind(qs.exc.ProgrammingError, function() return get(docs.c.data:get(k)) end)
          assert.truthy(tostring(err):find("cannot address a JSON key", 1, true), tostring(err))
        else
          assert.equal(i, get(docs.c.data:path({k, "v"}):as_integer()), k)
          assert.equal("s" .. i, get(docs.c.data:path({k, "s"}):as_string()), k)
          assert.same({v = i, s = "s" .. i}, get(docs.c.data:get(k)), k)
        end
      end
      assert.equal("plain", get(docs.c.data:get("a"):as_string()))
    end)
  end)
end)
