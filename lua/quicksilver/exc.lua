--- exc.lua: the qs.exc hierarchy (SQLAlchemy's exc.py and orm/exc.py).
---
--- Every error quicksilver raises is an object made here: a table with
--- `name`, `message`, `statement`, `params`, `orig` ({code, sqlstate, message,
--- constraint} from the driver), `connection_invalidated`, a readable tostring
--- and `err:is_a(cls)`. Classes are callable: `exc.ArgumentError("msg")`.
local util = require("quicksilver.util")

local M = {}

local setmetatable, type, error, rawget = setmetatable, type, error, rawget

-- Instances share one metatable; the class is a field, so is_a walks parents.
local Error = {}
Error.__index = Error

Error.__tostring = function(self)
  local s = self.name .. ": " .. tostring(self.message)
  if self.statement then s = s .. "\n[SQL: " .. tostring(self.statement) .. "]" end
  if self.params ~= nil then s = s .. "\n[parameters: " .. util.repr(self.params) .. "]" end
  return s
end

--- True when this error is of class cls (a class or its name) or a subclass.
---@param cls table|string
---@return boolean
function Error:is_a(cls)
  local want = type(cls) == "table" and cls.name or cls
  local c = self.class
  while c do
    if c.name == want then return true end
    c = c.parent
  end
  return false
end

M.Error = Error

local classes = {}

local ClassMeta = {}
ClassMeta.__index = ClassMeta
ClassMeta.__call = function(cls, message, fields)
  local e = {class = cls, name = cls.name, message = message or cls.name,
    connection_invalidated = false}
  if fields then
    for k, v in pairs(fields) do e[k] = v end
    e.connection_invalidated = fields.connection_invalidated and true or false
  end
  return setmetatable(e, Error)
end
ClassMeta.__tostring = function(cls) return "qs.exc." .. cls.name end

--- True when cls is this class or one of its subclasses.
function ClassMeta:is_subclass_of(other)
  local c = self
  while c do
    if c == other then return true end
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

local Base = define("SQLAlchemyError", nil)
local ArgumentError = define("ArgumentError", Base)
local InvalidRequestError = define("InvalidRequestError", Base)
define("TimeoutError", Base)
local CompileError = define("CompileError", Base)
local DBAPIError = define("DBAPIError", Base)
define("StaleDataError", Base)
define("DetachedInstanceError", Base)
define("CircularDependencyError", Base)
define("NoInspectionAvailable", InvalidRequestError)
define("DisconnectionError", Base)
define("FlushError", Base)
define("UnsupportedCompilationError", CompileError)
local NoReferenceError = define("NoReferenceError", InvalidRequestError)
define("NoReferencedTableError", NoReferenceError)
define("NoReferencedColumnError", NoReferenceError)
define("NoSuchTableError", InvalidRequestError)
define("NoSuchColumnError", InvalidRequestError)
define("UnboundExecutionError", InvalidRequestError)
define("UnmappedClassError", InvalidRequestError)
define("NoForeignKeysError", ArgumentError)
define("AmbiguousForeignKeysError", ArgumentError)
define("ObjectNotExecutableError", ArgumentError)
define("NoResultFound", InvalidRequestError)
define("MultipleResultsFound", InvalidRequestError)
define("ResourceClosedError", InvalidRequestError)
define("PendingRollbackError", InvalidRequestError)
define("ObjectDeletedError", InvalidRequestError)
define("UnmappedInstanceError", InvalidRequestError)
define("InterfaceError", DBAPIError)
local DatabaseError = define("DatabaseError", DBAPIError)
define("IntegrityError", DatabaseError)
define("OperationalError", DatabaseError)
define("ProgrammingError", DatabaseError)
define("DataError", DatabaseError)
define("InternalError", DatabaseError)
define("NotSupportedError", DatabaseError)

--- Constructs an error of the class named class_name (used by the C binding,
--- which knows classes by name).
---@param class_name string
---@param message string
---@param fields? table
function M.new(class_name, message, fields)
  local cls = classes[class_name]
  if not cls then error("quicksilver: unknown error class '" .. tostring(class_name) .. "'", 2) end
  return cls(message, fields)
end

--- Raises a new error of cls.
---@param cls table
---@param message string
---@param fields? table
---@param level? integer
function M.raise(cls, message, fields, level)
  error(cls(message, fields), level or 2)
end

--- True for quicksilver error objects.
function M.is_error(x)
  return type(x) == "table" and getmetatable(x) == Error
end

--- Foreign errors (strings, other tables) pass through unchanged, so that
--- `begin(fn)` re-raises exactly what fn raised; quicksilver errors too.
function M.wrap(x)
  return x
end

--- The class named name, or nil.
function M.class(name)
  return rawget(classes, name)
end

return M
