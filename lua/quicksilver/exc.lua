--- exc.lua: the qs.exc hierarchy (SQLAlchemy's exc.py and orm/exc.py).
---
--- Every error quicksilver raises is an object made here: a table with
--- `name`, `message`, `statement`, `params`, `orig` ({code, sqlstate, message,
--- constraint} from the driver), `connection_invalidated`, a readable
--- tostring and `err:is_a(cls)`. Classes are callable:
--- `exc.ArgumentError("msg", {fields})`. The objects are raised as they are
--- (`error(obj)`), so `pcall` hands back the object itself.
local M = {}

local setmetatable, getmetatable, type, error, rawget, next, pcall, tostring =
  setmetatable, getmetatable, type, error, rawget, next, pcall, tostring
local format, concat, sort = string.format, table.concat, table.sort
local getinfo, debug_traceback = debug.getinfo, debug.traceback

-- How much of the parameters tostring shows: executemany failures can carry
-- thousands of rows, and the point is a readable message, not a dump.
local PARAMS_LIMIT = 300
local MAX_DEPTH = 3

-- tostring that never raises and always yields a string: a __tostring that
-- errors (or returns a non-string) must not hide the error being reported.
local function safe_tostring(v)
  local ok, s = pcall(tostring, v)
  if ok and type(s) == "string" then return s end
  return "<" .. type(v) .. ">"
end

-- Renders v into st (a buffer with a running length), stopping as soon as the
-- budget is spent so a huge parameter list costs no more than a small one.
-- Raw access only (rawget/next): __index, __pairs and __len of foreign
-- objects may raise, and nothing here may.
local function render(v, st, depth)
  if st.len > st.limit then return end
  local t = type(v)
  local s
  if t == "string" then
    -- cut before quoting: %q of a megabyte string is wasted work
    if #v > st.limit then v = v:sub(1, st.limit + 1) end
    s = format("%q", v)
  elseif t == "table" then
    local mt = getmetatable(v)
    if type(mt) == "table" and rawget(mt, "__tostring") then
      s = safe_tostring(v)
    elseif st.seen[v] then
      s = "<cycle>"
    elseif depth >= MAX_DEPTH then
      s = "{...}"
    else
      st.seen[v] = true
      local n = st.n + 1
      st.n, st[n], st.len = n, "{", st.len + 1
      local i, first = 1, true
      while rawget(v, i) ~= nil and st.len <= st.limit do
        if not first then st.n = st.n + 1; st[st.n] = ", "; st.len = st.len + 2 end
        first = false
        render(rawget(v, i), st, depth + 1)
        i = i + 1
      end
      local array_end = i
      -- the other keys, sorted so the rendering is stable; never more than
      -- the budget could show anyway
      local keys, nk = {}, 0
      local k = nil
      if st.len <= st.limit then k = next(v) end
      while k ~= nil and nk <= st.limit do
        if not (type(k) == "number" and k >= 1 and k < array_end and k % 1 == 0) then
          nk = nk + 1
          keys[nk] = k
        end
        k = next(v, k)
      end
      sort(keys, function(a, b)
        local ta, tb = type(a), type(b)
        if ta ~= tb then return ta < tb end
        if ta == "string" or ta == "number" then return a < b end
        return safe_tostring(a) < safe_tostring(b)
      end)
      for j = 1, nk do
        if st.len > st.limit then break end
        if not first then st.n = st.n + 1; st[st.n] = ", "; st.len = st.len + 2 end
        first = false
        local key = keys[j]
        local ks
        if type(key) == "string" and key:match("^[%a_][%w_]*$") then
          ks = key .. " = "
        else
          local sub = {n = 0, len = 0, limit = st.limit, seen = st.seen}
          render(key, sub, depth + 1)
          ks = "[" .. concat(sub, "", 1, sub.n) .. "] = "
        end
        st.n = st.n + 1; st[st.n] = ks; st.len = st.len + #ks
        render(rawget(v, key), st, depth + 1)
      end
      st.seen[v] = nil
      s = "}"
    end
  else
    -- numbers, booleans, nil, functions, userdata (a __tostring may raise), threads
    s = safe_tostring(v)
  end
  st.n = st.n + 1
  st[st.n] = s
  st.len = st.len + #s
end

--- A compact, bounded, never-raising rendering of a value (the parameters of
--- an error): strings quoted with %q, tables shown to a few levels, cycles as
--- `<cycle>`, anything longer than limit cut and ended with "...".
---@param v any
---@param limit? integer default 300
---@return string
function M.render_value(v, limit)
  local st = {n = 0, len = 0, limit = limit or PARAMS_LIMIT, seen = {}}
  local ok = pcall(render, v, st, 0)
  if not ok then return "<unprintable " .. type(v) .. ">" end
  local s = concat(st, "", 1, st.n)
  if #s > st.limit then s = s:sub(1, st.limit) .. "..." end
  return s
end

-- How an error shows its parameters (SQLAlchemy's _repr_params): a string
-- value longer than VALUE_CHARS shows its two ends and how much is left
-- out; an executemany shows its first SETS_HEAD and last SETS_TAIL
-- parameter sets and how many there were; one set shows at most
-- SET_CHARS characters.
local VALUE_CHARS, SETS_HEAD, SETS_TAIL, SET_CHARS = 300, 8, 2, 1000

-- A copy of a set with long strings cut in the middle (SQLAlchemy's
-- "... (N characters truncated) ..."); a positional set (field n) becomes a
-- plain list, its NULL holes shown as nil.
local function shorten_set(p)
  if type(p) ~= "table" or getmetatable(p) ~= nil then return p end
  local out, n = {}, rawget(p, "n")
  local function cut(v)
    if type(v) == "string" and #v > VALUE_CHARS then
      local half = VALUE_CHARS / 2
      return setmetatable({}, {__tostring = function()
        return format("%q", v:sub(1, half)):sub(1, -2) .. " ... (" .. (#v - VALUE_CHARS) ..
          " characters truncated) ... " .. format("%q", v:sub(-half)):sub(2)
      end})
    end
    return v
  end
  if type(n) == "number" then
    for i = 1, n do
      local v = rawget(p, i)
      out[i] = v == nil and setmetatable({}, {__tostring = function() return "nil" end}) or cut(v)
    end
    return out
  end
  for k, v in next, p do out[k] = cut(v) end
  return out
end

--- The parameters of an error as SQLAlchemy shows them: long values and
--- long executemany lists truncated, never raising.
---@param p any the parameters (a set, or a list of sets when many)
---@param many? boolean
---@return string
function M.render_params(p, many)
  local ok, s = pcall(function()
    if many and type(p) == "table" and getmetatable(p) == nil then
      local n = rawget(p, "n") or #p
      local parts = {}
      if n <= SETS_HEAD + SETS_TAIL then
        for i = 1, n do parts[#parts + 1] = M.render_value(shorten_set(rawget(p, i)), SET_CHARS) end
      else
        for i = 1, SETS_HEAD do parts[#parts + 1] = M.render_value(shorten_set(rawget(p, i)), SET_CHARS) end
        parts[#parts + 1] = format("... displaying %d of %d total bound parameter sets ...",
          SETS_HEAD + SETS_TAIL, n)
        for i = n - SETS_TAIL + 1, n do parts[#parts + 1] = M.render_value(shorten_set(rawget(p, i)), SET_CHARS) end
      end
      return "{" .. concat(parts, ", ") .. "}"
    end
    return M.render_value(shorten_set(p), SET_CHARS)
  end)
  if ok then return s end
  return "<unprintable " .. type(p) .. ">"
end

---@class quicksilver.Error
---@field name string the class name, e.g. "IntegrityError"
---@field message string
---@field statement string|nil the SQL being run
---@field params any the parameters sent with it
---@field orig table|nil {code, sqlstate, message, constraint} from the driver
---@field connection_invalidated boolean
---@field retryable boolean true when running the whole transaction again may succeed (TransactionRollbackError): what the retry helper (`engine:begin(fn, {retries = n})`) reruns
---@field class quicksilver.ErrorClass
---@field where string|nil "file:line" of the user's code whose call raised it (the first stack level outside quicksilver; shown when the error goes uncaught, and by qs.traceback); nil for errors the user's code constructs itself

-- Where the error came from. Lua adds no position to a table error, and
-- Lua 5.4's standalone interpreter prints only tostring(err) for one (no
-- traceback), so each error raised from inside quicksilver records the first
-- stack level outside the library's own files: the user's line. Paid only
-- when an error is made, never on the normal path.
local OWN_PREFIX = (getinfo(1, "S").source or ""):match("^(@.*[/\\])exc%.lua$")
local MAX_WALK = 64

-- True for quicksilver's own code: its modules (the directory exc.lua was
-- loaded from) and the command line script, whose errors would otherwise
-- all point at the script's pcall.
local function internal(src)
  if OWN_PREFIX then
    if src:sub(1, #OWN_PREFIX) == OWN_PREFIX then return true end
  elseif src:find("quicksilver[/\\]") then
    return true
  end
  return src:find("[/\\]bin[/\\]quicksilver$") ~= nil or src == "@bin/quicksilver"
end

-- What a function is, by the function itself (weak keys: closures come and
-- go): false for quicksilver's own and for C functions, else the short_src
-- of its chunk. getinfo "S" builds short_src, so it runs once per function.
local kinds = setmetatable({}, {__mode = "k"})

-- How many stack levels have been read to place errors (for specs: the cost
-- of raising is this many getinfo calls, one per level between the raise and
-- the user's code).
M._stack_reads = 0

-- The position of the error being made: __call runs this as level 2, so level
-- 3 is what called the constructor. When that is the user's own code, nil
-- (they made the error themselves and know where); otherwise the first level
-- up that is not quicksilver's, as "short_src:line"; nil when there is none
-- (a coroutine the library runs, a C host). One getinfo "f" per level (the
-- function says what the level is), one "l" for the line found.
local function user_position()
  for l = 3, 2 + MAX_WALK do
    local info = getinfo(l, "f")
    M._stack_reads = M._stack_reads + 1
    if info == nil then return nil end
    local fn = info.func
    local src = kinds[fn]
    if src == nil then
      local s = getinfo(fn, "S")
      src = s.what ~= "C" and not internal(s.source) and s.short_src or false
      kinds[fn] = src
    end
    if src then
      if l == 3 then return nil end
      local line = getinfo(l, "l").currentline
      if line and line > 0 then return src .. ":" .. line end
      return src
    end
  end
  return nil
end

-- Instances share one metatable; the class is a field, so is_a walks parents.
local Error = {}
Error.__index = Error
M.Error = Error
-- false unless the class (or the fields given) says so: read by the retry helper
Error.retryable = false

-- The text of an error; with_where: ending the message with the position
-- of the user's code that led to it.
local function error_text(self, with_where)
  local msg = self.message
  msg = type(msg) == "string" and msg or safe_tostring(msg)
  local s = msg ~= "" and (self.name .. ": " .. msg) or self.name
  local where = with_where and rawget(self, "where")
  if type(where) == "string" then s = s .. " (at " .. where .. ")" end
  if self.statement ~= nil then s = s .. "\n[SQL: " .. safe_tostring(self.statement) .. "]" end
  if self.params ~= nil then
    s = s .. "\n[parameters: " .. M.render_params(self.params, rawget(self, "executemany")) .. "]"
  end
  return s
end

-- Lua code asking for the text (tostring, print, string.format; `..` goes
-- through __concat) gets it as it has always read. Any other C caller is a
-- host reporting an error that nothing caught: the standalone interpreter's
-- message handler (Lua 5.4's prints this text and no traceback; LuaJIT's
-- adds one), a C program's own. That report also says where the error came
-- from, so a bare `lua5.4 app.lua` names the user's line.
local PLAIN_CALLERS = {[tostring] = true, [print] = true, [string.format] = true}

Error.__tostring = function(self)
  local caller = getinfo(2, "Sf")
  local reported = caller ~= nil and caller.what == "C" and not PLAIN_CALLERS[caller.func]
  return error_text(self, reported)
end

-- So that `"failed: " .. err` reads like a string instead of raising.
Error.__concat = function(a, b)
  if getmetatable(a) == Error then a = error_text(a, false) end
  if getmetatable(b) == Error then b = error_text(b, false) end
  return a .. b
end

---@class quicksilver.ErrorClass
---@field name string
---@field parent quicksilver.ErrorClass|nil
local ClassMeta = {}
ClassMeta.__index = ClassMeta

local classes = {}

-- The class cls (a class table or a class name) stands for; a typo such as
-- exc.IntegrityEror (nil) is a bug, so it raises rather than answer false.
local function resolve(cls, what)
  if type(cls) == "string" then
    local c = classes[cls]
    if c then return c end
  elseif getmetatable(cls) == ClassMeta then
    return cls
  end
  error(M.ArgumentError(format("%s: expected a qs.exc class or class name, got %s",
    what, type(cls) == "string" and ("'" .. cls .. "'") or type(cls))), 3)
end

--- True when this error is of class cls (a class or its name) or a subclass.
---@param cls quicksilver.ErrorClass|string
---@return boolean
function Error:is_a(cls)
  local want = resolve(cls, "is_a")
  local c = self.class
  while c do
    if c == want then return true end
    c = c.parent
  end
  return false
end

-- Keys a fields table may not overwrite: they say what the error is.
local RESERVED = {class = true, name = true, message = true, is_a = true}

ClassMeta.__call = function(cls, message, fields)
  if message == nil then message = ""
  elseif type(message) ~= "string" then message = safe_tostring(message) end
  local where
  if fields ~= nil then
    if type(fields) ~= "table" then
      error(M.ArgumentError("qs.exc." .. cls.name .. ": fields must be a table, got " .. type(fields)), 2)
    end
    where = fields.where
  end
  -- raised from quicksilver's code: the user's line that led there (found
  -- before the table is made, which then has its size at once)
  if where == nil then where = user_position() end
  local e = {class = cls, name = cls.name, message = message, connection_invalidated = false,
    retryable = rawget(cls, "retryable") or nil, where = where}
  if fields ~= nil then
    for k, v in next, fields do
      if not RESERVED[k] then e[k] = v end
    end
    e.connection_invalidated = fields.connection_invalidated and true or false
  end
  return setmetatable(e, Error)
end

ClassMeta.__tostring = function(cls) return "qs.exc." .. cls.name end

--- True when this class is other (a class or its name) or one of its subclasses.
---@param other quicksilver.ErrorClass|string
---@return boolean
function ClassMeta:is_subclass_of(other)
  local want = resolve(other, "is_subclass_of")
  local c = self
  while c do
    if c == want then return true end
    c = c.parent
  end
  return false
end

local function define(name, parent)
  local cls = setmetatable({name = name, parent = parent}, ClassMeta)
  classes[name] = cls
  M[name] = cls
  return cls
end

-- The tree follows SQLAlchemy 2.0 (exc.py, orm/exc.py); the intermediate
-- classes it has (StatementError, DatabaseError, UnmappedError) are kept so
-- code ported from Python can catch what it caught there.
local Base = define("SQLAlchemyError", nil)
local ArgumentError = define("ArgumentError", Base)
local InvalidRequestError = define("InvalidRequestError", Base)
define("TimeoutError", Base)                      -- the pool ran out of connections in time
local CompileError = define("CompileError", Base)
local StatementError = define("StatementError", Base)
local DBAPIError = define("DBAPIError", StatementError)
define("StaleDataError", Base)                    -- .instance names the object
define("DetachedInstanceError", Base)
define("CircularDependencyError", Base)
define("DisconnectionError", Base)
define("FlushError", Base)
define("IdentifierError", Base)

define("UnsupportedCompilationError", CompileError)

define("NoForeignKeysError", ArgumentError)
define("AmbiguousForeignKeysError", ArgumentError)
define("ObjectNotExecutableError", ArgumentError)
define("NoSuchModuleError", ArgumentError)

define("NoInspectionAvailable", InvalidRequestError)
local NoReferenceError = define("NoReferenceError", InvalidRequestError)
define("NoReferencedTableError", NoReferenceError)
define("NoReferencedColumnError", NoReferenceError)
define("NoSuchTableError", InvalidRequestError)
define("NoSuchColumnError", InvalidRequestError)
define("UnboundExecutionError", InvalidRequestError)
define("NoResultFound", InvalidRequestError)
define("MultipleResultsFound", InvalidRequestError)
define("ResourceClosedError", InvalidRequestError)
define("PendingRollbackError", InvalidRequestError)
define("ObjectDeletedError", InvalidRequestError)
define("IllegalStateChangeError", InvalidRequestError)
define("UnmappedColumnError", InvalidRequestError)
define("NPlusOneError", InvalidRequestError)   -- orm.Session warn_lazy = "raise"
local UnmappedError = define("UnmappedError", InvalidRequestError)
define("UnmappedInstanceError", UnmappedError)
define("UnmappedClassError", UnmappedError)

define("InterfaceError", DBAPIError)
local DatabaseError = define("DatabaseError", DBAPIError)
define("IntegrityError", DatabaseError)
local OperationalError = define("OperationalError", DatabaseError)
define("ProgrammingError", DatabaseError)
define("DataError", DatabaseError)
define("InternalError", DatabaseError)
define("NotSupportedError", DatabaseError)

-- SQLAlchemy has none: it passes these on as the driver's OperationalError.
-- The name is psycopg2's (and Rails') for the same thing: the server rolled
-- the whole transaction back over a conflict with a concurrent one, and
-- running it again may succeed: SQLSTATE 40001 (PostgreSQL serialization
-- failure; MySQL/MariaDB deadlock 1213, also a Galera certification
-- failure) and 40P01 (PostgreSQL deadlock). The C core picks these out by
-- SQLSTATE (qs_error_retryable). An OperationalError still, so that existing
-- is_a checks hold; err.retryable is true.
define("TransactionRollbackError", OperationalError).retryable = true

--- Constructs an error of the class named class_name (the C binding knows
--- classes by name). An unknown name is a bug in the caller, so it raises a
--- plain Lua error instead of guessing a class.
---@param class_name string
---@param message? string
---@param fields? table
---@return quicksilver.Error
function M.new(class_name, message, fields)
  local cls = type(class_name) == "string" and classes[class_name]
  if not cls then
    error("quicksilver.exc.new: unknown error class '" .. safe_tostring(class_name) .. "'", 2)
  end
  return cls(message, fields)
end

--- Constructs an error of cls (a class or its name) and raises it. Lua adds
--- no position to table errors, so level only matters for symmetry with
--- error(); it defaults to 2 all the same.
---@param cls quicksilver.ErrorClass|string
---@param message string
---@param fields? table
---@param level? integer
function M.raise(cls, message, fields, level)
  error(resolve(cls, "raise")(message, fields), level or 2)
end

--- True for quicksilver error objects; with cls, only for those of that class
--- (or a subclass). Safe on any value, for pcall handlers.
---@param x any
---@param cls? quicksilver.ErrorClass|string
---@return boolean
function M.is_error(x, cls)
  if type(x) ~= "table" or getmetatable(x) ~= Error then return false end
  if cls == nil then return true end
  return x:is_a(cls)
end

--- Foreign errors (strings, other tables) pass through unchanged, and so do
--- quicksilver errors: `begin(fn)` must re-raise exactly what fn raised, so
--- that a caller's pcall sees its own error value, not a wrapper around it.
---@param x any
---@return any
function M.wrap(x)
  return x
end

--- A message handler for xpcall (Lua's debug.traceback, for any error
--- value): the error as text (a quicksilver error through its tostring,
--- position included) followed by the stack traceback where it was raised.
--- `xpcall(main, qs.traceback)`. level (default 1) is as debug.traceback's,
--- counted from the caller of this function.
---@param err any
---@param level? integer
---@return string
function M.traceback(err, level)
  local msg = err
  if getmetatable(msg) == Error then
    local ok, s = pcall(error_text, msg, true)
    msg = ok and s or "<" .. tostring(rawget(msg, "name")) .. ">"
  elseif type(msg) ~= "string" then
    msg = msg == nil and "nil" or safe_tostring(msg)
  end
  -- not a tail call: LuaJIT would drop this frame and the level count with it
  local text = debug_traceback(msg, (level or 1) + 1)
  return text
end

--- The class named name, or nil.
---@param name string
---@return quicksilver.ErrorClass|nil
function M.class(name)
  return rawget(classes, name)
end

return M
