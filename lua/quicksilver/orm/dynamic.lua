--- orm/dynamic.lua: `lazy = "dynamic"` (SQLAlchemy's AppenderQuery, kept
--- for code ported from 1.x): `obj.rel` is a legacy Query over the
--- collection's rows (filter, filter_by, order_by, limit, offset, all,
--- first, one, one_or_none, count ...) that also takes writes (append,
--- extend, remove; add/add_all as write_only's). The writes are queued as
--- write_only's are (orm/writeonly.lua); every query autoflushes them
--- first, so it sees them.
local exc = require("quicksilver.exc")
local writeonly = require("quicksilver.orm.writeonly")
local query_mod = require("quicksilver.orm.query")
local elements = require("quicksilver.sql.elements")

local M = {}

local format, tostring, ipairs, unpack = string.format, tostring, ipairs, table.unpack or unpack
local data_of = writeonly.data_of
local WO = writeonly.WriteOnlyCollection

---@class quicksilver.orm.AppenderQuery
local methods = {}
M.methods = methods

for _, name in ipairs({"add", "add_all", "remove", "select"}) do methods[name] = WO[name] end
methods.append = WO.add
methods.extend = WO.add_all

-- The parent's session (a parent in none cannot run a query).
local function session_of(d)
  local s = d.st.session
  if s == nil then
    exc.raise(exc.DetachedInstanceError, format("Parent instance %s is not bound to a Session; the " ..
      "dynamic collection %s cannot run a query", tostring(d.st.obj), d.rel:describe()), nil, 4)
  end
  return s
end

--- The legacy Query over the collection (autoflushed first, so a pending
--- parent has its key and queued members are written).
function methods.query(self)
  local d = data_of[self]
  local s = session_of(d)
  s:_autoflush()
  local q = query_mod.new(s, d.rel.target.class)
  local conds = writeonly.criteria(d.rel, d.st)
  if conds == nil then return q:where(elements.false_()) end
  q = q:where(unpack(conds))
  if d.rel.order_by then q = q:order_by(unpack(d.rel.order_by)) end
  return q
end

-- Query methods: each on the collection's Query.
for _, name in ipairs({"filter", "where", "filter_by", "order_by", "limit", "offset", "distinct",
    "join", "outerjoin", "options", "slice", "all", "first", "one", "one_or_none", "scalar", "iter",
    "count", "get", "statement", "subquery", "with_for_update", "execution_options"}) do
  methods[name] = function(self, ...)
    local d = data_of[self]
    if d == nil then exc.raise(exc.ArgumentError, "expected a dynamic collection (call it with ':')", nil, 2) end
    -- a parent in no session: what was appended (SQLAlchemy iterates the
    -- pending members then)
    if d.st.session == nil and (name == "all" or name == "count" or name == "first") then
      local adds = writeonly.pending(d.st, d.rel)
      if name == "count" then return #adds end
      if name == "first" then return adds[1] end
      local out = {}
      for i = 1, #adds do out[i] = adds[i] end
      return out
    end
    local q = methods.query(self)
    return q[name](q, ...)
  end
end

writeonly.set_dynamic_methods(methods)

return M
