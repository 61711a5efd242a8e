--- sql/elements.lua: the SQL expression elements (SQLAlchemy's sql/elements.py).
--- Elements are immutable Lua tables tagged with `_kind`; the C compiler walks
--- them (docs/ARCHITECTURE.md, "How statements cross into C").
local util = require("quicksilver.util")
local exc = require("quicksilver.exc")

local M = {}

local setmetatable, type = setmetatable, type

---@class quicksilver.ClauseElement
local ClauseElement = util.class("ClauseElement")
ClauseElement._is_clause = true
M.ClauseElement = ClauseElement

--- SQL NULL. In Lua tables (values, params, lists) write `qs.null`, since nil
--- cannot sit in a table; NULL read from the database is nil.
local Null = util.class("Null", ClauseElement)
Null._kind = "null"
Null.__tostring = function() return "NULL" end
M.Null = Null
M.null = setmetatable({}, Null)

---@class quicksilver.TextClause: quicksilver.ClauseElement
---@field text string the SQL as written, with :name binds
local TextClause = util.class("TextClause", ClauseElement)
TextClause._kind = "text"
TextClause._executable = true
TextClause.__tostring = function(self) return self.text end
M.TextClause = TextClause

--- Textual SQL with named binds (`:name`); `\:` is a literal colon.
---@param sql string
---@return quicksilver.TextClause
function M.text(sql)
  if type(sql) ~= "string" then
    exc.raise(exc.ArgumentError, "text: SQL must be a string, got " .. type(sql))
  end
  return setmetatable({text = sql}, TextClause)
end

--- A new TextClause with values bound to some of its names (used when the
--- execute parameters do not give them).
---@param values table<string, any>
---@return quicksilver.TextClause
function TextClause:bindparams(values)
  if type(values) ~= "table" then
    exc.raise(exc.ArgumentError, "TextClause:bindparams: expected a table of name = value")
  end
  return setmetatable({text = self.text, _defaults = util.merge(self._defaults, values)},
    TextClause)
end

--- Compiles for a dialect: `.sql`, `.params` (bound values by name), `.keys`.
---@param opts? {dialect?: string}
function TextClause:compile(opts)
  local compiler = require("quicksilver.sql.compiler")
  return compiler.compile(self, opts and opts.dialect or "sqlite")
end

return M
