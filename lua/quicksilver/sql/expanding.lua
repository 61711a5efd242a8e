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
    numbered = marks.numbered, cache = {}, ncache = 0, keyset = {}, expanding = {}, width = {}, members = {}}
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
  return tpl
end

local function placeholder(tpl, n)
  if tpl.numbered then return "$" .. n end
  return "?"
end

-- The SQL, keys, checks and converters for counts[pos] values at each
-- expanding position (-1: not expanded, a text bind given no list; false:
-- no value, shown as SQLAlchemy shows it: __[POSTCOMPILE_key]).
local function build(tpl, counts)
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

-- Per template, the expansions by their counts (a few lengths recur: kept
-- up to 32, then the cache starts again).
local function expansion(tpl, counts)
  local sig = {}
  for p in pairs(tpl.expanding) do
    sig[#sig + 1] = p .. ":" .. tostring(counts[p])
  end
  table.sort(sig)
  local s = concat(sig, ",")
  local x = tpl.cache[s]
  if x then return x end
  x = build(tpl, counts)
  if tpl.ncache >= 32 then tpl.cache, tpl.ncache = {}, 0 end
  tpl.cache[s] = x
  tpl.ncache = tpl.ncache + 1
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

-- The count at each expanding position for the values value(key) gives;
-- strict: a missing list is an error (execution), else shown as a marker.
local function counts_for(tpl, value, strict)
  local counts = {}
  for p, kind in pairs(tpl.expanding) do
    local key = tpl.keys[p]
    local v = value(key)
    if kind == MARK_IN then
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
          for i = 1, n do
            local row = v[i]
            if not is_list(row) then
              bad("tuple IN parameter '%s': element %d is %s, not a list of %d values", key, i, type(row), w)
            end
            local rn = list_len(row)
            if rn ~= w then
              bad("tuple IN parameter '%s': element %d has %d values, the tuple has %d", key, i, rn, w)
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

-- The values of an expansion by their new keys, from value(key).
local function fill(tpl, x, value, out)
  out = out or {}
  local keys = tpl.keys
  for p = 1, #keys do
    local key = keys[p]
    local nm = x.names[p]
    local v = value(key)
    if nm then
      local xkeys, first, w = x.keys, nm.first, nm.w
      if w == 0 then
        for i = 1, nm.n do out[xkeys[first + i - 1]] = v[i] end
      else
        for i = 1, nm.n do
          local row = v[i]
          for j = 1, w do out[xkeys[first + (i - 1) * w + j - 1]] = row[j] end
        end
      end
    elseif v ~= nil then
      out[key] = v
    end
  end
  return out
end

--- Sets c's SQL, keys, checks, converters and positional params for the
--- values it holds (`values`, by key): what tostring, :compile() and an
--- execution without other values for its lists use.
function M.apply_held(c, tpl, values)
  local function value(k) return values[k] end
  local counts = counts_for(tpl, value, false)
  local x = expansion(tpl, counts)
  local vals = fill(tpl, x, value, {})
  for k, v in pairs(values) do if vals[k] == nil then vals[k] = v end end
  local missing
  for p, n in pairs(counts) do if n == false then missing = tpl.keys[p] end end
  rawset(c, "sql", x.sql)
  rawset(c, "keys", x.keys)
  rawset(c, "checks", x.checks)
  rawset(c, "procs", x.procs)
  rawset(c, "values", vals)
  rawset(c, "named_params", vals)
  local params = {n = #x.keys}
  for i = 1, #x.keys do params[i] = vals[x.keys[i]] end
  rawset(c, "params", params)
  rawset(c, "_missing", missing or false)
  rawset(c, "_base_values", values)   -- the statement's own, before expansion
end

--- For one execution of compiled c with params (a set of values by key, or
--- a list of sets when many): the SQL, the parameters and the compiled form
--- to send. Lists given in params expand here; executemany refuses them
--- (every set would need SQL of its own), as SQLAlchemy does.
function M.for_execution(c, tpl, params, many)
  if many then
    for p in pairs(tpl.expanding) do
      local key = tpl.keys[p]
      local kind = tpl.expanding[p]
      for i = 1, (params.n or #params) do
        local v = params[i][key]
        if v ~= nil and (kind == MARK_IN or (is_list(v) and not takes_tables(tpl, p))) then
          exc.raise(exc.InvalidRequestError, format("bind parameter '%s' is expanding (an IN list): "
            .. "expanding parameters cannot be used with executemany (parameter set %d gives it)", key, i),
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
    for p, kind in pairs(tpl.expanding) do
      local v = params[tpl.keys[p]]
      if v ~= nil and (kind == MARK_IN or is_list(v)) then given = true; break end
    end
  end
  if not given then
    if c._missing then
      bad("bind parameter '%s' is expanding (an IN list) and has no value: give it a list, e.g. {%s = {1, 2}}",
        c._missing, c._missing)
    end
    return c.sql, params, c
  end
  local held = c.values
  local function value(k)
    local v = params[k]
    if v == nil then v = held[k] end
    return v
  end
  local counts = counts_for(tpl, value, true)
  local x = expansion(tpl, counts)
  local vals = fill(tpl, x, value, {})
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

return M
