--- sql/json_access.lua: JSON element access on JSON columns: col:get(key),
--- col:path({...}) and their as_string/as_integer/as_float/as_boolean forms,
--- one JSON_GET node carrying the path in every form a database reads
--- (SQL/JSON for MySQL and SQLite, a text[] for PostgreSQL's #>). Installed
--- by elements.lua on ColumnElement (no require of elements: no cycle).
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")
local types = require("quicksilver.sql.types")

local M = {}

local K = core.kinds
local setmetatable, type, ipairs, tostring = setmetatable, type, ipairs, tostring
local mtype = math.type

--- Adds the JSON access methods to ColumnElement; `E` is the elements module
--- (its column_class, from_objects and, once defined, BindParameter: read
--- when a path is built, since elements.lua defines it after this runs).
---@param E table
---@param ColumnElement table
function M.install(E, ColumnElement)
  local from_objects = E.from_objects

  local JsonGet = E.column_class("JsonGet")
  JsonGet._k = K.JSON_GET
  function JsonGet:_from_objects() return from_objects(self.left) end

  local function check_json(self, what)
    if not (self.type and self.type._affinity == "json") then
      exc.raise(exc.ArgumentError, what .. ": only JSON columns have JSON element access", nil, 4)
    end
  end

  -- $."key" / $[i] steps of an SQL/JSON path; keys are quoted (a key is data).
  -- A quoted key is a JSON string (its escapes as the JSON encoder writes them),
  -- which MySQL and SQLite from 3.45 decode before comparing. SQLite before 3.45
  -- compares a key with the document's text as written, escapes and all, and
  -- ends a quoted key at the first '"' whatever precedes it: there a key holding
  -- '"' is written unquoted (`$.a\"b`, read up to a '.' or '['), the form the
  -- compiler takes for SQLite from `sqlite_key` (json_get: set for every key
  -- holding '"', the same as `key` from 3.45). SQLite runs in this
  -- process, so the library that will read the path is known here.
  local json_encode = core.json_encode
  local SQLITE_DECODES_KEYS = (core.sqlite_version_number or 0) >= 3045000

  local function json_path(steps, old_sqlite)
    local out = {"$"}
    for i, s in ipairs(steps) do
      if type(s) == "number" then
        if mtype and mtype(s) ~= "integer" or s < 0 then
          exc.raise(exc.ArgumentError, "JSON path: index " .. i .. " must be a non-negative integer", nil, 5)
        end
        out[#out + 1] = "[" .. string.format("%d", s) .. "]"
      elseif type(s) == "string" then
        local quoted = json_encode(s)
        local text = quoted:sub(2, -2)
        if old_sqlite and s:find('"', 1, true) then
          if text:find("[%.%[]") then
            -- no form reads it there; a quoted one would address another key
            -- ($."a\".b" is key a\ then b"): a path SQLite refuses, saying why
            return "$ <- SQLite before 3.45 cannot address a JSON key holding '\"' and '.' or '['"
          end
          out[#out + 1] = "." .. text
        else
          out[#out + 1] = "." .. quoted
        end
      else
        exc.raise(exc.ArgumentError, "JSON path: step " .. i .. " must be a string or an integer", nil, 5)
      end
    end
    return table.concat(out)
  end

  -- Whether a step is a key holding '"' (the case SQLite before 3.45 reads
  -- only in its unquoted form).
  local function has_quote(steps)
    for _, s in ipairs(steps) do
      if type(s) == "string" and s:find('"', 1, true) then return true end
    end
    return false
  end

  -- PostgreSQL text[] literal for #>: {"a","2"}
  local function pg_path(steps)
    local out = {}
    for i, s in ipairs(steps) do
      out[i] = '"' .. tostring(s):gsub('[\\"]', "\\%0") .. '"'
    end
    return "{" .. table.concat(out, ",") .. "}"
  end

  local function json_get(self, mode, steps, as, t)
    local BindParameter = E.BindParameter
    local first = steps[1]
    local pg = mode == "get" and BindParameter.anon("param", first, types.for_value(first))
      or BindParameter.anon("param", pg_path(steps), types.String)
    local sqlite_key = has_quote(steps) and
      BindParameter.anon("param", json_path(steps, not SQLITE_DECODES_KEYS), types.String) or nil
    return setmetatable({left = self, mode = mode, as = as, steps = steps,
      key = BindParameter.anon("param", json_path(steps), types.String), pg_key = pg,
      sqlite_key = sqlite_key, type = t}, JsonGet)
  end

  --- The JSON element at key (a string) or index (an integer, 0-based as in SQL/JSON).
  function ColumnElement:get(key)
    check_json(self, "get")
    return json_get(self, "get", {key}, nil, self.type)
  end

  --- The JSON element at a path of keys and indexes: col:path({"a", 2}).
  function ColumnElement:path(steps)
    check_json(self, "path")
    if type(steps) ~= "table" or #steps == 0 then
      exc.raise(exc.ArgumentError, "path: expected a non-empty list of keys and indexes", nil, 2)
    end
    return json_get(self, "path", steps, nil, self.type)
  end

  local function json_as(as, t)
    return function(self)
      if self._k ~= K.JSON_GET then
        exc.raise(exc.ArgumentError, "as_" .. as .. ": call it on col:get() or col:path()", nil, 2)
      end
      return json_get(self.left, self.mode, self.steps, as, t)
    end
  end
  ColumnElement.as_string = json_as("string", types.String)
  ColumnElement.as_integer = json_as("integer", types.Integer)
  ColumnElement.as_float = json_as("float", types.Float)
  ColumnElement.as_boolean = json_as("boolean", types.Boolean)
end

return M
