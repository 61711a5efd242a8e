--- sql/expanding.lua: expanding bind parameters at execution (SQLAlchemy's
--- "post-compile" parameters).
---
--- An IN list (`col:in_({1, 2, 3})`, `qs.bindparam("ids", {expanding = true})`,
--- a list bound to `text("... IN :ids")`, `qs.tuple_(a, b):in_({...})`) is
--- compiled once, with one placeholder; the C compiler marks where each
--- placeholder stands in the SQL (byte offsets, c/compiler/expand.c), and an
--- execution writes the list's placeholders there: "(?, ?, ?)", "($2, $3,
--- $4)" with the later ones renumbered, "((?, ?), (?, ?))" for tuples, the
--- dialect's empty set for an empty list. The SQL is never scanned (quoted
--- names and literals may hold anything). One compiled form serves every
--- length; the expansion is kept per template and lengths.
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")

local M = {}

local type, getmetatable, tostring, concat, format = type, getmetatable, tostring, table.concat, string.format
local NONE = core.type_checks.none
local JSON_CHECK = core.type_checks.json

local MARK_IN, MARK_TEXT_IN = 1, 2

-- A Lua list (a table without a metatable: qs.null, json_array and other
-- marked values are single values).
local function is_list(v)
  return type(v) == "table" and getmetatable(v) == nil
end
M.is_list = is_list

local function list_len(v)
  local n = v.n
  if type(n) == "number" then return n end
  return #v
end

--- The template of a compiled statement with marks (c.expand): what every
--- expansion starts from.
function M.template(c)
  local marks = c.expand
  local keys = c.keys
  local tpl = {sql = c.sql, keys = keys, checks = c.checks, procs = c.procs, marks = marks,
    numbered = marks.numbered, cache = {}, ncache = 0, nkeys = 0, keyset = {}, expanding = {}, width = {}, members = {}}
  for i = 1, #keys do tpl.keyset[keys[i]] = true end
  for i = 1, #marks do
    local m = marks[i]
    if m.kind ~= 0 then
      tpl.expanding[m.pos] = m.kind
      tpl.width[m.pos] = m.width or 0
      if m.types then tpl.members[m.pos] = m.types end
      m.key = keys[m.pos]
    end
  end
  -- the expanding positions in order (a position marked twice listed once)
  local xpos = {}
  for p = 1, #keys do if tpl.expanding[p] then xpos[#xpos + 1] = p end end
  tpl.xpos = xpos
  return tpl
end

local function placeholder(tpl, n)
  if tpl.numbered then return "$" .. n end
  return "?"
end

-- The SQL, keys, checks and converters for counts[pos] values at each
-- expanding position (-1: not expanded, a text bind given no list; false:
-- no value, shown as SQLAlchemy shows it: __[POSTCOMPILE_key]).
local built = 0   -- expansions built (stats(): a spec counts them)

local function build(tpl, counts)
  built = built + 1
  local keys, checks, procs = tpl.keys, tpl.checks, tpl.procs
  local xkeys, xchecks, xprocs, newpos, names = {}, {}, {}, {}, {}
  local np = 0
  for p = 1, #keys do
    local n = counts[p]
    local key = keys[p]
    newpos[p] = np + 1
    if n == nil or n == -1 then
      np = np + 1
      xkeys[np], xchecks[np], xprocs[np] = key, checks[p], procs[p]
    elseif n then
      local w = tpl.width[p]
      -- key_1, key_2 (tuples key_1_1, key_1_2), as SQLAlchemy names them;
      -- "#" where such a name is already one of the statement's keys
      local sep = "_"
      if tpl.keyset[key .. "_1"] or tpl.keyset[key .. "_1_1"] then sep = "#" end
      local list = {}
      for i = 1, n do
        if w == 0 then
          np = np + 1
          xkeys[np], xchecks[np], xprocs[np] = key .. sep .. i, checks[p], procs[p]
          list[i] = np
        else
          local types = tpl.members[p]
          for j = 1, w do
            np = np + 1
            local t = types[j]
            xkeys[np] = key .. sep .. i .. sep .. j
            xchecks[np] = t and t._check or NONE
            if t then xprocs[np] = t._bind end
          end
        end
      end
      names[p] = {first = newpos[p], n = n, w = w}
    end
  end
  -- the SQL: the pieces between marks as they are, each mark rewritten
  local sql, parts, at = tpl.sql, {}, 1
  for i = 1, #tpl.marks do
    local m = tpl.marks[i]
    parts[#parts + 1] = sql:sub(at, m.s - 1)
    local cast = sql:sub(m.p + 1, m.e)
    local n = counts[m.pos]
    local first = newpos[m.pos]
    if m.kind == MARK_TEXT_IN and n == -1 then
      -- one value after IN (not a list): "IN (?)", the parentheses SQL needs
      parts[#parts + 1] = "(" .. placeholder(tpl, first) .. cast .. ")"
    elseif m.kind == 0 or n == nil or n == -1 then
      parts[#parts + 1] = placeholder(tpl, first) .. cast
    elseif n == false then
      parts[#parts + 1] = "(__[POSTCOMPILE_" .. m.key .. "])"
    elseif n == 0 then
      parts[#parts + 1] = m.empty
    else
      local w, out = m.width or 0, {}
      if w == 0 then
        for k = 1, n do out[k] = placeholder(tpl, first + k - 1) .. cast end
      else
        local casts = m.casts
        for k = 1, n do
          local row = {}
          for j = 1, w do row[j] = placeholder(tpl, first + (k - 1) * w + j - 1) .. casts[j] end
          out[k] = "(" .. concat(row, ", ") .. ")"
        end
      end
      parts[#parts + 1] = "(" .. (m.prefix or "") .. concat(out, ", ") .. ")"
    end
    at = m.e + 1
  end
  parts[#parts + 1] = sql:sub(at)
  return {sql = concat(parts), keys = xkeys, checks = xchecks, procs = xprocs, names = names}
end

-- Per template, the expansions by their counts: kept up to 256 lengths or
-- 100,000 placeholders in all, then the cache starts again. With one list
-- (the common case) its count is the key, else the counts joined.
local CACHE_ENTRIES, CACHE_PLACEHOLDERS = 256, 100000
local function expansion(tpl, counts)
  local xpos = tpl.xpos
  local sig
  if #xpos == 1 then
    sig = counts[xpos[1]]
    if sig == false then sig = "false" end
  else
    local parts = {}
    for i = 1, #xpos do parts[i] = tostring(counts[xpos[i]]) end
    sig = concat(parts, ",")
  end
  local x = tpl.cache[sig]
  if x then return x end
  x = build(tpl, counts)
  local size = #x.keys
  if tpl.ncache >= CACHE_ENTRIES or tpl.nkeys + size > CACHE_PLACEHOLDERS then
    tpl.cache, tpl.ncache, tpl.nkeys = {}, 0, 0
  end
  tpl.cache[sig] = x
  tpl.ncache = tpl.ncache + 1
  tpl.nkeys = tpl.nkeys + size
  return x
end

local function bad(msg, ...)
  exc.raise(exc.ArgumentError, format(msg, ...), nil, 4)
end

-- Whether a text() bind at position p takes a table as one value (a JSON
-- or other converted type): then a list there is no IN list.
local function takes_tables(tpl, p)
  return tpl.checks[p] == JSON_CHECK or tpl.procs[p] ~= nil
end

-- The count at each expanding position for the values a[key] (else
-- b[key]) give; strict: a missing list is an error (execution), else shown
-- as a marker.
local function counts_for(tpl, a, b, strict)
  local counts = {}
  local xpos, keys, expanding = tpl.xpos, tpl.keys, tpl.expanding
  for i = 1, #xpos do
    local p = xpos[i]
    local key = keys[p]
    local v = a[key]
    if v == nil and b then v = b[key] end
    if expanding[p] == MARK_IN then
      if v == nil then
        if strict then
          bad("bind parameter '%s' is expanding (an IN list) and has no value: give it a list, e.g. {%s = {1, 2}}",
            key, key)
        end
        counts[p] = false
      elseif not is_list(v) then
        bad("bind parameter '%s' is expanding (an IN list): expected a Lua list, got %s", key, type(v))
      else
        local n = list_len(v)
        local w = tpl.width[p]
        if w > 0 then
          for j = 1, n do
            local row = v[j]
            if not is_list(row) then
              bad("tuple IN parameter '%s': element %d is %s, not a list of %d values", key, j, type(row), w)
            end
            local rn = list_len(row)
            if rn ~= w then
              bad("tuple IN parameter '%s': element %d has %d values, the tuple has %d", key, j, rn, w)
            end
          end
        end
        counts[p] = n
      end
    elseif is_list(v) and not takes_tables(tpl, p) then
      counts[p] = list_len(v)
    else
      counts[p] = -1
    end
  end
  return counts
end

-- The values of an expansion by their new keys, from a[key] (else b[key]);
-- a list stays under its own key too (what a later execution reads).
local function fill(tpl, x, a, b)
  local out = {}
  local keys, names = tpl.keys, x.names
  local xkeys = x.keys
  for p = 1, #keys do
    local key = keys[p]
    local v = a[key]
    if v == nil and b then v = b[key] end
    if v ~= nil then out[key] = v end
    local nm = names[p]
    if nm then
      local first, w = nm.first, nm.w
      if w == 0 then
        for i = 1, nm.n do out[xkeys[first + i - 1]] = v[i] end
      else
        for i = 1, nm.n do
          local row = v[i]
          local base = first + (i - 1) * w - 1
          for j = 1, w do out[xkeys[base + j]] = row[j] end
        end
      end
    end
  end
  return out
end

--- Sets c's SQL, keys, checks, converters and positional params for the
--- values it holds (`values`, by key): what tostring, :compile() and an
--- execution without other values for its lists use.
function M.apply_held(c, tpl, values)
  local counts = counts_for(tpl, values, nil, false)
  local x = expansion(tpl, counts)
  local vals = fill(tpl, x, values, nil)
  local missing = false
  local xpos = tpl.xpos
  for i = 1, #xpos do
    if counts[xpos[i]] == false then missing = tpl.keys[xpos[i]] end
  end
  local xkeys = x.keys
  local n = #xkeys
  local params = {n = n}
  for i = 1, n do params[i] = vals[xkeys[i]] end
  -- c is fresh (no __newindex): plain assignments
  c.sql, c.keys, c.checks, c.procs = x.sql, xkeys, x.checks, x.procs
  c.values, c.named_params, c.params = vals, vals, params
  c._missing = missing
  c._base_values = values   -- the statement's own, before expansion
end

--- For one execution of compiled c with params (a set of values by key, or
--- a list of sets when many): the SQL, the parameters and the compiled form
--- to send. Lists given in params expand here; executemany refuses them
--- (every set would need SQL of its own), as SQLAlchemy does.
function M.for_execution(c, tpl, params, many)
  local xpos, keys, expanding = tpl.xpos, tpl.keys, tpl.expanding
  if many then
    for i = 1, #xpos do
      local p = xpos[i]
      local key, kind = keys[p], expanding[p]
      for j = 1, (params.n or #params) do
        local v = params[j][key]
        if v ~= nil and (kind == MARK_IN or (is_list(v) and not takes_tables(tpl, p))) then
          exc.raise(exc.InvalidRequestError, format("bind parameter '%s' is expanding (an IN list): "
            .. "expanding parameters cannot be used with executemany (parameter set %d gives it)", key, j),
            nil, 4)
        end
      end
    end
    if c._missing then
      exc.raise(exc.InvalidRequestError, format("bind parameter '%s' is expanding (an IN list): "
        .. "expanding parameters cannot be used with executemany", c._missing), nil, 4)
    end
    return c.sql, params, c
  end
  local given = false
  if params then
    for i = 1, #xpos do
      local p = xpos[i]
      local v = params[keys[p]]
      if v ~= nil and (expanding[p] == MARK_IN or is_list(v)) then given = true; break end
    end
  end
  if not given then
    local missing = c._missing
    if missing then
      bad("bind parameter '%s' is expanding (an IN list) and has no value: give it a list, e.g. {%s = {1, 2}}",
        missing, missing)
    end
    return c.sql, params, c
  end
  local held = c.values
  local counts = counts_for(tpl, params, held, true)
  local x = expansion(tpl, counts)
  local vals = fill(tpl, x, params, held)
  local run = setmetatable({sql = x.sql, keys = x.keys, checks = x.checks, procs = x.procs, values = vals,
    _run_of = c}, {__index = c})
  return x.sql, vals, run
end

--- Refuses a list bound to a text() parameter that does not follow IN
--- (only `IN :name` expands), unless its type takes tables (JSON, ARRAY).
function M.check_text_lists(c, params)
  local tpl = c._tpl
  for k, v in pairs(params) do
    if is_list(v) then
      local ok = false
      if tpl then
        for p = 1, #tpl.keys do
          if tpl.keys[p] == k and (tpl.expanding[p] or takes_tables(tpl, p)) then ok = true; break end
        end
      else
        local keys = c.keys
        for p = 1, #keys do
          if keys[p] == k and (c.checks[p] == JSON_CHECK or c.procs[p] ~= nil) then ok = true; break end
        end
      end
      if not ok then
        exc.raise(exc.ArgumentError, format("text(): bind parameter '%s' was given a list, but only a "
          .. "parameter written after IN (\"x IN :%s\") takes a list (or one typed JSON/ARRAY by "
          .. ":bindparams())", tostring(k), tostring(k)), nil, 4)
      end
    end
  end
end

--- How many expansions were built (each kept per template and lengths).
---@return {built: integer}
function M.stats() return {built = built} end

return M
