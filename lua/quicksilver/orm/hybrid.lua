--- orm/hybrid.lua: hybrid attributes (SQLAlchemy's ext/hybrid.py). One
--- getter serves instances (Lua values) and the class (SQL expressions:
--- arithmetic and `..` on columns build SQL through metamethods); an
--- `expression` function replaces it on the class where Lua cannot express
--- the SQL (comparisons, conditionals).
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")

local M = {}

local format = string.format
local PROPERTY_OPTIONS = util.set({"setter", "expression"})
local METHOD_OPTIONS = util.set({"expression"})

---@class quicksilver.orm.HybridProperty
local HybridProperty = {}
HybridProperty.__index = HybridProperty
HybridProperty._is_hybrid = true

--- orm.hybrid_property(getter, {setter = fn(self, value), expression = fn(cls)})
---@param getter fun(self: table): any
---@param opts? table
---@return quicksilver.orm.HybridProperty
function M.hybrid_property(getter, opts)
  if type(getter) ~= "function" then
    exc.raise(exc.ArgumentError, "hybrid_property: the getter must be a function", nil, 2)
  end
  -- no deleter: attributes are not deleted here, so it is refused, not kept unused
  opts = util.check_options("hybrid_property", opts, PROPERTY_OPTIONS, 2)
  return setmetatable({fget = getter, fset = opts.setter, fexpr = opts.expression}, HybridProperty)
end

function HybridProperty:instance_get(obj) return self.fget(obj) end

function HybridProperty:instance_set(obj, value)
  if not self.fset then
    exc.raise(exc.ArgumentError, format("hybrid property '%s' has no setter", tostring(self.key)), nil, 3)
  end
  self.fset(obj, value)
end

function HybridProperty:class_get(cls)
  return (self.fexpr or self.fget)(cls)
end

--- A copy with another setter (the decorator style of SQLAlchemy).
function HybridProperty:setter(fn)
  return setmetatable({fget = self.fget, fset = fn, fexpr = self.fexpr}, HybridProperty)
end

function HybridProperty:expression(fn)
  return setmetatable({fget = self.fget, fset = self.fset, fexpr = fn}, HybridProperty)
end

---@class quicksilver.orm.HybridMethod
local HybridMethod = {}
HybridMethod.__index = HybridMethod
HybridMethod._is_hybrid = true

--- orm.hybrid_method(fn, {expression = fn(cls, ...)}): `obj:m(x)` runs fn on
--- the instance, `Model:m(x)` builds SQL.
function M.hybrid_method(fn, opts)
  if type(fn) ~= "function" then
    exc.raise(exc.ArgumentError, "hybrid_method: expected a function", nil, 2)
  end
  opts = util.check_options("hybrid_method", opts, METHOD_OPTIONS, 2)
  return setmetatable({fn = fn, fexpr = opts.expression}, HybridMethod)
end

function HybridMethod:instance_get() return self.fn end

function HybridMethod:instance_set()
  exc.raise(exc.ArgumentError, format("hybrid method '%s' cannot be assigned", tostring(self.key)), nil, 3)
end

function HybridMethod:class_get() return self.fexpr or self.fn end

function HybridMethod:expression(fn)
  return setmetatable({fn = self.fn, fexpr = fn}, HybridMethod)
end

return M
