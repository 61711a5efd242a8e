--- orm/from_statement.lua: `qs.select(User):from_statement(stmt)` run by
--- the Session (SQLAlchemy's FromStatement): stmt (a qs.text() or any
--- select) runs as it is and its rows become objects of the entity, the
--- columns matched to the mapped columns by name; mapped columns the rows
--- lack stay unloaded (loaded on access), the primary key must be there.
local exc = require("quicksilver.exc")
local mapper_mod = require("quicksilver.orm.mapper")
local loading = require("quicksilver.orm.loading")
local strategies = require("quicksilver.orm.strategies")
local Result = require("quicksilver.engine.result").Result

local M = {}

local rawget, ipairs, type, getmetatable, format, lower = rawget, ipairs, type, getmetatable, string.format,
  string.lower

-- The mapped columns of m (and of its hierarchy) the result's keys name,
-- and where each is: colkeys matched exactly, else without case (servers
-- fold unquoted names).
local function columns_in(m, colkeys)
  local exact, folded = {}, {}
  for i, k in ipairs(colkeys) do
    if type(k) == "string" then
      if exact[k] == nil then exact[k] = i end
      local f = lower(k)
      if folded[f] == nil then folded[f] = i end
    end
  end
  local cols, at = {}, {}
  for _, c in ipairs(m.select_columns) do
    local i = exact[c.name] or exact[c.key] or folded[lower(c.name)]
    if i then
      cols[#cols + 1] = c
      at[#at + 1] = i
    end
  end
  for _, c in ipairs(m.base_mapper.pk_cols) do
    local found = false
    for _, x in ipairs(cols) do if x == c then found = true end end
    if not found then
      exc.raise(exc.InvalidRequestError, format("from_statement: the statement's rows have no column '%s' " ..
        "(the primary key of %s)", c.name, m.class_name), nil, 5)
    end
  end
  return cols, at
end

--- The rows of select fs (made by Select:from_statement) as objects:
--- select_objects' results (nil Result, rows, keys, row_of, repeats).
function M.load(session, conn, fs, params, eopts)
  local ents = fs._entities
  local inner = fs._from_statement
  if ents[2] ~= nil then
    exc.raise(exc.InvalidRequestError, "from_statement: the select must name one entity (a mapped class)", nil, 4)
  end
  local ent = ents[1].entity
  if rawget(ent, "_alias") then
    exc.raise(exc.InvalidRequestError, "from_statement: give the mapped class, not an aliased class", nil, 4)
  end
  local m = rawget(ent, "_mapper") or ent
  local raw, colkeys = conn:_execute(inner, params, eopts, true)
  if getmetatable(raw) == Result then
    colkeys = raw:keys()
    raw = raw:all()
  end
  local cols, at = columns_in(m, colkeys)
  local plan = mapper_mod.new_plan(m.base_mapper, cols)
  local n = #at
  local rows = {}
  for r = 1, #raw do
    local row, out = raw[r], {}
    for j = 1, n do out[j] = row[at[j]] end
    rows[r] = out
  end
  local objs, keys, row_of = loading.rows(session, rows, {{entity = ent, first = 1, count = n, plan = plan}},
    nil, n)
  strategies.apply(session, fs, objs, keys, true)
  return nil, objs, keys, row_of, false
end

return M
