--- ext/horizontal_shard_merge.lua: one statement's results from several
--- shards made into one Result (quicksilver.ext.horizontal_shard).
---
--- Each shard runs the statement as written, except LIMIT n OFFSET m, which
--- each shard runs as LIMIT n + m (no OFFSET): the first n + m rows of the
--- merged order are among the first n + m of some shard. The rows are then:
--- - with ORDER BY on selected columns (a column of the select, or a column
---   of a selected entity): merged in that order, a k-way merge of the
---   already-sorted shard results (ties: the earlier shard first). NULLs
---   sort where the shards' database puts them (PostgreSQL: as the largest
---   value; SQLite, MySQL/MariaDB: as the smallest), or as NULLS FIRST /
---   NULLS LAST say; strings compare bytewise (the C collation);
--- - without ORDER BY: shard after shard, in the order the shards were named;
--- then OFFSET m and LIMIT n are applied to the merged rows.
--- An ORDER BY the rows do not carry (a column not selected, an
--- expression) cannot be merged: InvalidRequestError.
--- INSERT/UPDATE/DELETE without RETURNING: one Result whose rowcount is the
--- shards' sum.
local exc = require("quicksilver.exc")
local core = require("quicksilver.core")
local Result = require("quicksilver.engine.result").Result

local M = {}

local type, ipairs, tostring, pcall, format, rawget =
  type, ipairs, tostring, pcall, string.format, rawget
local K, OPS = core.kinds, core.ops

-- The number a LIMIT/OFFSET carries (a bound integer), nil when none, false
-- when it is an expression whose value is not known here.
local function count_of(v)
  if v == nil then return nil end
  local n = type(v) == "table" and rawget(v, "value")
  if type(n) == "number" then return n end
  return false
end

--- The statement each shard runs and the window the merge applies after:
--- stmt itself (limit, offset nil) unless it has an OFFSET, which moves
--- into the LIMIT.
---@param stmt table
---@return table stmt, integer|nil limit, integer|nil offset
function M.per_shard(stmt)
  if stmt._dml or (stmt._k ~= K.SELECT and stmt._k ~= K.COMPOUND) then return stmt, nil, nil end
  local limit, offset = count_of(rawget(stmt, "_limit")), count_of(rawget(stmt, "_offset"))
  if limit == false or offset == false then
    exc.raise(exc.InvalidRequestError, "horizontal_shard: a statement run on several shards needs LIMIT " ..
      "and OFFSET as numbers (the merge applies them); run it on one shard with set_shard()", nil, 4)
  end
  if offset and offset > 0 then
    stmt = stmt:offset(nil)
    if limit then stmt = stmt:limit(limit + offset) end
    return stmt, limit, offset
  end
  return stmt, limit, nil
end

-- The ORDER BY item as (expression, descending, nulls: "first"/"last"/nil).
local function unwrap(item)
  local desc, nulls = false, nil
  local e = item
  while type(e) == "table" and e._k == K.UNARY and e.element ~= nil do
    local op = e.op
    if op == OPS.DESC then desc = true
    elseif op == OPS.ASC then desc = false
    elseif op == OPS.NULLS_FIRST then nulls = nulls or "first"
    elseif op == OPS.NULLS_LAST then nulls = nulls or "last"
    else break end
    e = e.element
  end
  return e, desc, nulls
end

-- The attribute name a column of entity ent (the k-th of its columns) is
-- read from on its objects.
local function entity_attr(ent, col, k)
  local m = ent.entity
  m = type(m) == "table" and (rawget(m, "_mapper") or m) or nil
  local ca = m and m.col_attr
  if not ca then return nil end
  local a = ca[col]
  if a == nil and m.select_columns then a = ca[m.select_columns[k]] end
  return a
end

-- How a row gives the value of ORDER BY expression e: (row position,
-- attribute of the object there or nil), or nil when the rows do not carry it.
local function locate(stmt, e, keys)
  local cols = stmt.columns
  if cols then
    local ents = stmt._entities
    for j, c in ipairs(cols) do
      if c == e or (type(c) == "table" and c._k == K.LABEL and c.element == e) then
        -- the row position of column j: an entity's columns are one object
        local pos, skipped = j, 0
        for _, ent in ipairs(ents or {}) do
          local last = ent.first + ent.count - 1
          if j >= ent.first and j <= last then
            return ent.first - skipped, entity_attr(ent, c, j - ent.first + 1)
          end
          if ent.first < j then skipped = skipped + ent.count - 1 end
        end
        return pos - skipped, nil
      end
    end
  end
  -- a column named like one of the result's columns (a compound select's
  -- ORDER BY names them)
  local name = type(e) == "table" and (rawget(e, "name") or rawget(e, "key"))
  if type(name) == "string" and not stmt._entities then
    for i, k in ipairs(keys) do if k == name then return i, nil end end
  end
  return nil
end

-- Compares two non-NULL values: -1, 0 or 1.
local function compare(a, b)
  if a == b then return 0 end
  local ta, tb = type(a), type(b)
  if ta == tb and (ta == "number" or ta == "string") then return a < b and -1 or 1 end
  if ta == "boolean" and tb == "boolean" then return a and 1 or -1 end
  -- values of other types (decimals, dates): their own order when they have one
  local ok, lt = pcall(function() return a < b end)
  if ok then
    if lt then return -1 end
    local ok2, gt = pcall(function() return b < a end)
    if ok2 then return gt and 1 or 0 end
  end
  local sa, sb = tostring(a), tostring(b)
  if sa == sb then return 0 end
  return sa < sb and -1 or 1
end

-- The sort keys of stmt's ORDER BY: {pos, attr, desc, nulls_first}.
local function sort_keys(stmt, keys, nulls_high)
  local out = {}
  for i, item in ipairs(stmt._order_by or {}) do
    local e, desc, nulls = unwrap(item)
    local pos, attr = locate(stmt, e, keys)
    if not pos then
      exc.raise(exc.InvalidRequestError, format("horizontal_shard: cannot merge the shards' rows in order: " ..
        "ORDER BY item %d is not a selected column (select it, order the merged rows in Lua, or run the " ..
        "statement on one shard with set_shard())", i), nil, 5)
    end
    -- whether NULLs come first in the rows' order: as NULLS FIRST/LAST
    -- says, else where the database sorts them (the largest value: first
    -- when descending; the smallest: first when ascending)
    local first
    if nulls ~= nil then first = nulls == "first" else first = nulls_high == desc end
    out[i] = {pos = pos, attr = attr, desc = desc, nulls_first = first}
  end
  return out
end

local function value_of(row, key)
  local v = row[key.pos]
  if key.attr ~= nil and v ~= nil then v = v[key.attr] end
  return v
end

-- -1 when row a comes before row b in the keys' order, 1 after, 0 tied.
local function order(a, b, skeys)
  for _, key in ipairs(skeys) do
    local va, vb = value_of(a, key), value_of(b, key)
    local c
    if va == nil or vb == nil then
      if va == nil and vb == nil then c = 0
      elseif va == nil then c = key.nulls_first and -1 or 1
      else c = key.nulls_first and 1 or -1 end
    else
      c = compare(va, vb)
      if key.desc then c = -c end
    end
    if c ~= 0 then return c end
  end
  return 0
end

--- The merged Result of stmt's results from several shards (in the order
--- the shards were named). dialect: the shards' (its nulls_sort_high says
--- where NULLs sort); limit, offset: from per_shard.
---@param stmt table
---@param results table list of Results
---@param dialect table|nil
---@param limit integer|nil
---@param offset integer|nil
---@return table Result
function M.merge(stmt, results, dialect, limit, offset)
  local first = results[1]
  if not first or not first.returns_rows then
    local count = 0
    for _, r in ipairs(results) do
      if type(r.rowcount) == "number" and r.rowcount > 0 then count = count + r.rowcount end
    end
    return Result.new({rowcount = count, returns_rows = false})
  end
  local keys = first:keys()
  local lists, unique = {}, false
  for i, r in ipairs(results) do
    -- joined eager loads of collections repeat an object's rows: each
    -- shard's made unique (an object lives on one shard only)
    if rawget(r, "_require_unique") then r = r:unique(); unique = true end
    lists[i] = r:all()
  end
  local rows, n = {}, 0
  local ordered = rawget(stmt, "_order_by") and stmt._order_by[1] and not stmt._dml
  if ordered and #lists > 1 then
    local skeys = sort_keys(stmt, keys, dialect ~= nil and dialect.nulls_sort_high == true)
    local pos = {}
    for i = 1, #lists do pos[i] = 1 end
    while true do
      local best, brow
      for i, list in ipairs(lists) do
        local row = list[pos[i]]
        if row ~= nil and (brow == nil or order(row, brow, skeys) < 0) then best, brow = i, row end
      end
      if not best then break end
      pos[best] = pos[best] + 1
      n = n + 1
      rows[n] = brow
    end
  else
    for _, list in ipairs(lists) do
      for j = 1, list.n or #list do n = n + 1; rows[n] = list[j] end
    end
  end
  if offset or limit then
    local from = (offset or 0) + 1
    local to = limit and math.min(n, from + limit - 1) or n
    local cut = {}
    for i = from, to do cut[#cut + 1] = rows[i] end
    rows, n = cut, #cut
  end
  rows.n = n
  return Result.new({keys = keys, rows = rows, returns_rows = true, require_unique = unique or nil})
end

return M
