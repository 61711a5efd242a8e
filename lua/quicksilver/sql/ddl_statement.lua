--- sql/ddl_statement.lua: qs.DDL(sql), SQLAlchemy's DDL(): a statement of
--- SQL text run as DDL, directly (`conn:execute(ddl)`) or as a listener of
--- a Table's or MetaData's before_create / after_create / before_drop /
--- after_drop events (`qs.event.listen(t, "after_create", ddl)`), where it
--- runs on the connection creating the table. `%(table)s`, `%(schema)s` and
--- `%(fullname)s` stand for the target table's name, schema and qualified
--- name, quoted by the dialect (schema_translate_map applied); `%%` is a
--- literal `%`; `%(name)s` also takes the names of the `context` option.
--- The text is sent as written, never scanned for binds.
local core = require("quicksilver.core")
local compiler = require("quicksilver.sql.compiler")
local ddl = require("quicksilver.sql.ddl")
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")

local M = {}

local type, setmetatable, tostring, pairs = type, setmetatable, tostring, pairs
local format = string.format

local TABLE_TOKENS = {table = true, schema = true, fullname = true}

---@class quicksilver.DDL: quicksilver.DDLElement
---@field statement string the SQL text, with its %(...)s tokens
---@field target table|nil the Table or MetaData it renders against
local DDL = util.class("DDL", ddl.DDLElement)
DDL._is_ddl_text = true
M.DDL = DDL

-- Checks the text's % tokens (as Python's % formatting reads them): %% or
-- %(name)s only, each name a table token or one of context's.
local function check_tokens(sql, context, level)
  local i = 1
  while true do
    local at = sql:find("%", i, true)
    if not at then return end
    local nxt = sql:sub(at + 1, at + 1)
    if nxt == "%" then
      i = at + 2
    else
      local name, stop = sql:match("^%(([%w_]+)%)s()", at + 1)
      if not name then
        exc.raise(exc.ArgumentError, format("DDL: a '%%' at position %d must be '%%%%' (a literal %%) or " ..
          "%%(name)s, in: %s", at, util.repr(sql, 80)), nil, level + 1)
      end
      if not TABLE_TOKENS[name] and (context == nil or context[name] == nil) then
        exc.raise(exc.ArgumentError, format("DDL: %%(%s)s is neither table, schema nor fullname, nor a name " ..
          "of the context option", name), nil, level + 1)
      end
      i = stop
    end
  end
end

local DDL_OPTIONS = util.set({"context"})

--- qs.DDL(sql, {context = {name = "text"}}): a DDL statement of SQL text.
---@param sql string
---@param opts? {context?: table<string, string>}
---@return quicksilver.DDL
function M.new(sql, opts)
  if type(sql) ~= "string" then
    exc.raise(exc.ArgumentError, "DDL: the statement must be a string of SQL, got " .. type(sql), nil, 2)
  end
  opts = util.check_options("DDL", opts, DDL_OPTIONS, 2)
  local context = opts.context
  if context ~= nil then
    if type(context) ~= "table" then
      exc.raise(exc.ArgumentError, "DDL: context must be a table of names to text", nil, 2)
    end
    for k, v in pairs(context) do
      if type(k) ~= "string" or (type(v) ~= "string" and type(v) ~= "number") then
        exc.raise(exc.ArgumentError, "DDL: context must map names to strings, got " .. util.repr(k, 30), nil, 2)
      end
    end
  end
  check_tokens(sql, context, 2)
  return setmetatable({statement = sql, context = context and util.copy(context) or nil}, DDL)
end

local EXECUTE_IF_OPTIONS = util.set({"dialect", "callable_", "state"})

--- A copy that runs only where opts allow, when it runs as an event
--- listener (SQLAlchemy's execute_if): dialect (a dialect name or a list of
--- them: the connection's dialect or its URL's backend name), callable_
--- (fn(ddl, target, conn, kw) returning whether to run; kw holds the event's
--- options and `state`), state (handed to callable_).
---@param opts {dialect?: string|string[], callable_?: function, state?: any}
---@return quicksilver.DDL
function DDL:execute_if(opts)
  opts = util.check_options("DDL:execute_if", opts, EXECUTE_IF_OPTIONS, 2)
  local d = opts.dialect
  local names
  if type(d) == "string" then
    names = {[d] = true}
  elseif type(d) == "table" then
    names = {}
    for _, n in ipairs(d) do
      if type(n) ~= "string" then
        exc.raise(exc.ArgumentError, "DDL:execute_if: dialect must be a name or a list of names", nil, 2)
      end
      names[n] = true
    end
  elseif d ~= nil then
    exc.raise(exc.ArgumentError, "DDL:execute_if: dialect must be a name or a list of names", nil, 2)
  end
  if opts.callable_ ~= nil and type(opts.callable_) ~= "function" then
    exc.raise(exc.ArgumentError, "DDL:execute_if: callable_ must be a function", nil, 2)
  end
  local c = setmetatable(util.copy(self), DDL)
  c._dialects, c._callable, c._state = names, opts.callable_, opts.state
  return c
end

--- A copy rendered against target (a Table: its names fill the table tokens).
---@param target table
---@return quicksilver.DDL
function DDL:against(target)
  local c = setmetatable(util.copy(self), DDL)
  c.target = target
  return c
end

--- Whether this DDL runs for the event on target through conn (execute_if).
---@return boolean
function DDL:_should_execute(target, conn, kw)
  local names = self._dialects
  if names then
    local d = conn.dialect
    local url = conn.engine and conn.engine.url
    local backend = url and url.get_backend_name and url:get_backend_name()
    if not (names[d.name] or (backend and names[backend])) then return false end
  end
  if self._callable then
    local k = util.copy(kw)
    k.state = self._state
    return self._callable(self, target, conn, k) and true or false
  end
  return true
end

-- As an event listener: (target, connection, kw), the DDL events' arguments.
DDL.__call = function(self, target, conn, kw)
  if self:_should_execute(target, conn, kw or {}) then
    conn:execute(self:against(target))
  end
end

--- The SQL for the dialect key (a dialect name, or one carrying a
--- schema_translate_map: sql/compiler.lua).
---@param key string
---@return string
function DDL:_sql(key)
  local dialect = compiler.split_dialect_key(key)
  local t = self.target
  local context = self.context
  local function token(name)
    if context and context[name] ~= nil then   -- the caller's text first, as SQLAlchemy's setdefault
      return tostring(context[name])
    end
    if type(t) ~= "table" or type(t.name) ~= "string" then
      exc.raise(exc.CompileError, format("DDL: %%(%s)s needs a Table to render against (listen on a " ..
        "Table's events, or ddl:against(table))", name), nil, 6)
    end
    local schema = compiler.translate_schema(key, t.schema)
    local qt = core.ident(dialect, t.name)
    local qs_ = schema and core.ident(dialect, schema) or ""
    if name == "table" then return qt end
    if name == "schema" then return qs_ end
    return schema and (qs_ .. "." .. qt) or qt
  end
  return (self.statement:gsub("%%(%%?)(%(?[%w_]*%)?s?)", function(pct, rest)
    if pct == "%" then return "%" .. rest end
    local name = rest:match("^%(([%w_]+)%)s$")
    return token(name)
  end))
end

--- The SQL for a dialect (a name, default "sqlite"): `.sql`.
---@param opts? {dialect?: string, schema_translate_map?: table}
---@return {sql: string}
function DDL:compile(opts)
  util.check_options("compile", opts, util.set({"dialect", "schema_translate_map"}), 2)
  local key = opts and opts.dialect or "sqlite"
  if opts and opts.schema_translate_map ~= nil then key = compiler.dialect_key(key, opts.schema_translate_map) end
  local sql = self:_sql(key)
  return setmetatable({sql = sql, dialect = compiler.split_dialect_key(key), params = {n = 0}, keys = {}},
    {__tostring = function(c) return c.sql end})
end

DDL.__tostring = function(self)
  local ok, c = pcall(self.compile, self)
  return ok and c.sql or ("<DDL: " .. self.statement .. ">")
end

return M
