--- sql/sequence.lua: values the database generates. qs.Sequence (a
--- standalone or column sequence: next_value(), CREATE/DROP SEQUENCE), the
--- column options `identity` and `computed` checked into the forms
--- sql/ddl.lua hands the compiler, and the named enum types of a table
--- (PostgreSQL's CREATE TYPE ... AS ENUM; the statements are in sql/ddl.lua).
local core = require("quicksilver.core")
local elements = require("quicksilver.sql.elements")
local exc = require("quicksilver.exc")
local types = require("quicksilver.sql.types")
local util = require("quicksilver.util")

local M = {}

local K = core.kinds
local format, setmetatable, type, tostring = string.format, setmetatable, type, tostring

-- A whole number option (start, increment, ...) or nil; else ArgumentError
-- naming the construct and the option.
local function whole(v, what, opt, level)
  if v == nil then return nil end
  if type(v) ~= "number" or v ~= math.floor(v) or v ~= v or v == math.huge or v == -math.huge then
    exc.raise(exc.ArgumentError, format("%s: %s must be a whole number, got %s", what, opt,
      util.repr(v, 30)), nil, level + 1)
  end
  return v
end

-- Capabilities by dialect name (core.dialect_caps), asked once each.
local caps_of = {}
local function caps(dialect)
  local c = caps_of[dialect]
  if not c then
    c = core.dialect_caps(dialect)
    caps_of[dialect] = c
  end
  return c
end
M.caps = caps

---------------------------------------------------------------------------------------------
-- Sequence
---------------------------------------------------------------------------------------------

---@class quicksilver.Sequence
local Sequence = util.class("Sequence")
Sequence._is_sequence = true
M.Sequence = Sequence

-- optional: only where the database has no other way to number rows, i.e.
-- never here (PostgreSQL and MariaDB have SERIAL / AUTO_INCREMENT, SQLite
-- has no sequences), as SQLAlchemy 2.0 treats it.
local SEQUENCE_OPTIONS = util.set({"start", "increment", "minvalue", "maxvalue", "cycle", "optional",
  "schema", "metadata"})

--- qs.Sequence(name, {start, increment, minvalue, maxvalue, cycle,
--- optional, schema, metadata}).
---@param name string
---@param opts? table
---@return quicksilver.Sequence
function M.sequence(name, opts)
  if type(name) ~= "string" or name == "" then
    exc.raise(exc.ArgumentError, "Sequence: the name must be a non-empty string", nil, 2)
  end
  local what = "Sequence '" .. name .. "'"
  opts = util.check_options(what, opts, SEQUENCE_OPTIONS, 2)
  if opts.schema ~= nil and type(opts.schema) ~= "string" then
    exc.raise(exc.ArgumentError, what .. ": schema must be a string", nil, 2)
  end
  local seq = setmetatable({name = name, schema = opts.schema,
    start = whole(opts.start, what, "start", 2), increment = whole(opts.increment, what, "increment", 2),
    minvalue = whole(opts.minvalue, what, "minvalue", 2), maxvalue = whole(opts.maxvalue, what, "maxvalue", 2),
    cycle = opts.cycle and true or nil, optional = opts.optional and true or false}, Sequence)
  if seq.increment == 0 then exc.raise(exc.ArgumentError, what .. ": increment must not be 0", nil, 2) end
  if opts.metadata ~= nil then
    if type(opts.metadata) ~= "table" or type(opts.metadata.tables) ~= "table" then
      exc.raise(exc.ArgumentError, what .. ": metadata must be a qs.MetaData", nil, 2)
    end
    M.add_to_metadata(opts.metadata, seq)
  end
  return seq
end

Sequence.__tostring = function(self) return "Sequence('" .. tostring(self.name) .. "')" end

--- The metadata's sequences (create_all makes them, drop_all drops them).
function M.add_to_metadata(md, seq)
  local list = rawget(md, "sequences")
  if not list then list = {}; rawset(md, "sequences", list) end
  for _, s in ipairs(list) do
    if s == seq then return end
  end
  list[#list + 1] = seq
  seq.metadata = md
end

---@class quicksilver.NextValue: quicksilver.ColumnElement
local NextValue = elements.column_class("NextValue")
NextValue._k = K.NEXT_VALUE
function NextValue:_from_objects() return {} end
M.NextValue = NextValue

--- The sequence's next value as an expression: nextval('s') on
--- PostgreSQL, NEXT VALUE FOR s on MariaDB; a CompileError where the
--- database has no sequences.
---@return quicksilver.ColumnElement
function Sequence:next_value()
  return setmetatable({name = self.name, schema = self.schema, type = types.Integer(), sequence = self},
    NextValue)
end

--- What the engine runs for conn:execute(seq) / conn:scalar(seq): SELECT
--- of the next value.
function Sequence:_executable_form()
  local selectable = require("quicksilver.sql.selectable")
  return selectable.select(self:next_value())
end

--- Whether the sequence gives values on the dialect (by name): the
--- database has sequences and the sequence is not optional.
---@param dialect string
---@return boolean
function Sequence:applies(dialect)
  return caps(dialect).sequences and not self.optional or false
end

---------------------------------------------------------------------------------------------
-- Column options: identity, computed, sequence
---------------------------------------------------------------------------------------------

local IDENTITY_OPTIONS = util.set({"start", "increment", "always"})
local COMPUTED_OPTIONS = util.set({"sqltext", "persisted"})

--- The column options identity / computed / sequence, checked: returns
--- identity ({start, increment, always}), computed ({sqltext = node,
--- persisted}) and sequence. `what` names the column for messages.
function M.column_options(what, opts, level)
  level = level + 1
  local identity, computed, seq = opts.identity, opts.computed, opts.sequence
  if identity ~= nil and identity ~= false then
    if identity == true then identity = {} end
    if type(identity) ~= "table" then
      exc.raise(exc.ArgumentError, what .. ": identity must be true or {start, increment, always}", nil, level)
    end
    util.check_options(what .. " identity", identity, IDENTITY_OPTIONS, level)
    identity = {start = whole(identity.start, what .. " identity", "start", level),
      increment = whole(identity.increment, what .. " identity", "increment", level),
      always = identity.always and true or false}
  else
    identity = nil
  end
  if computed ~= nil then
    if type(computed) == "string" then computed = {sqltext = computed} end
    if type(computed) ~= "table" or computed._is_clause then
      exc.raise(exc.ArgumentError, what .. ": computed must be {sqltext = ..., persisted = ...}", nil, level)
    end
    util.check_options(what .. " computed", computed, COMPUTED_OPTIONS, level)
    local sqltext = computed.sqltext
    if type(sqltext) == "string" then sqltext = elements.text(sqltext)
    elseif not elements.is_element(sqltext) then
      exc.raise(exc.ArgumentError, what .. ": computed.sqltext must be SQL text or an expression", nil, level)
    end
    if computed.persisted ~= nil and type(computed.persisted) ~= "boolean" then
      exc.raise(exc.ArgumentError, what .. ": computed.persisted must be a boolean", nil, level)
    end
    computed = {sqltext = sqltext, persisted = computed.persisted}
  end
  if seq ~= nil and not (type(seq) == "table" and seq._is_sequence) then
    exc.raise(exc.ArgumentError, what .. ": sequence must be a qs.Sequence", nil, level)
  end
  if computed and (identity or seq) then
    exc.raise(exc.ArgumentError, what .. ": a computed column cannot also have an identity or a sequence",
      nil, level)
  end
  if identity and seq then
    exc.raise(exc.ArgumentError, what .. ": a column has an identity or a sequence, not both", nil, level)
  end
  return identity, computed, seq
end

---------------------------------------------------------------------------------------------
-- Named enum types (PostgreSQL)
---------------------------------------------------------------------------------------------

--- The named enum types of table t's columns (qs.Enum with a name and
--- native_enum not false), each once, in column order.
function M.enum_types(t)
  local out, seen = {}, {}
  for _, c in ipairs(t.columns) do
    local ty = c.type
    local ref = ty and ty.enum_type
    if ref and not seen[ref.name] then
      seen[ref.name] = true
      out[#out + 1] = ty
    end
  end
  return out
end

return M
