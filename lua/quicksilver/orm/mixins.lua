--- orm/mixins.lua: mixins and abstract bases for declarative models
--- (SQLAlchemy's mixin classes, `__abstract__` and `declared_attr`).
---
--- A mixin is a plain table of spec entries (mapped_columns, relationships,
--- column_properties, composites, hybrids, validators, methods, and
--- __tablename / __table_args / __mapper_args / __tostring / __init),
--- given to `Base:model(name, spec, {mixins = {...}})` or in the spec's
--- `__mixins`. An abstract base, `Base:model(name, {__abstract = true,
--- ...})`, is a class with no table whose entries pass to the models made
--- from it (`Abstract:model(name, spec)`). Before a model is mapped, its
--- spec is merged with those of its mixins and abstract bases into one
--- spec; the rest of declarative mapping (decl.lua) sees only that.
---
--- A mapped entry (a column, relationship, column_property, composite or
--- declared_attr) of the same name in two places is an ArgumentError naming
--- both; for anything else the model's own entry wins, then the mixins in
--- the order listed, then the abstract bases from the nearest.
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")

local M = {}

local type, pairs, ipairs, rawget, rawset, getmetatable, setmetatable, format, tostring =
  type, pairs, ipairs, rawget, rawset, getmetatable, setmetatable, string.format, tostring

---@class quicksilver.orm.DeclaredAttr
local DeclaredAttr = {_is_declared_attr = true}
DeclaredAttr.__index = DeclaredAttr

--- orm.declared_attr(fn): an entry of a mixin or abstract base computed for
--- each model that uses it: fn(cls) returns the mapped_column, relationship,
--- column_property or value for that class (cls.__name and cls.__tablename
--- are set when it runs), e.g. a ForeignKey naming the class's table.
---@param fn fun(cls: table): any
---@return quicksilver.orm.DeclaredAttr
function M.declared_attr(fn)
  if type(fn) ~= "function" then
    exc.raise(exc.ArgumentError, "declared_attr: expected a function(cls)", nil, 2)
  end
  return setmetatable({fn = fn}, DeclaredAttr)
end

local function is_declared_attr(v)
  return type(v) == "table" and getmetatable(v) == DeclaredAttr
end

local function mt_flag(v, flag)
  local mt = type(v) == "table" and getmetatable(v)
  return mt and rawget(mt, flag) or false
end

-- Entries that become mapped properties: a name may hold only one of them.
local function is_mapped(v)
  if type(v) ~= "table" then return false end
  return is_declared_attr(v) or mt_flag(v, "_is_mapped_column") or rawget(v, "_is_relationship_spec") or
    mt_flag(v, "_is_column_property") or mt_flag(v, "_is_composite") or false
end

-- The spec keys a mixin may hold beside attributes (its __name labels it
-- in errors; __abstract is the mark of an abstract base's spec).
local MIXIN_KEYS = util.set({"__tablename", "__table_args", "__mapper_args", "__tostring", "__init",
  "__mixins", "__name", "__abstract"})
-- keys merged as "first wins" but never copied into the model's spec
local NOT_COPIED = {__mixins = true, __name = true, __abstract = true}

local OPTIONS = util.set({"mixins"})

-- A mapped_column copied for one model: a Column (and its ForeignKeys)
-- belongs to one table, so each model gets its own.
local function copy_mapped_column(mc)
  local args = {n = mc.args.n}
  for i = 1, mc.args.n do
    local a = mc.args[i]
    if type(a) == "table" and a._is_foreign_key then a = a:copy() end
    args[i] = a
  end
  return setmetatable({name = mc.name, args = args, order = mc.order}, getmetatable(mc))
end

local function label(mixin, i)
  local n = type(mixin) == "table" and rawget(mixin, "__name")
  if type(n) == "string" then return "mixin " .. n end
  return "mixin #" .. i
end

-- The sources of a model's spec after its own: its mixins (each a table,
-- its own __mixins after it), then its abstract bases' merged specs.
local function collect(sources, list, what, depth)
  if list == nil then return end
  if type(list) ~= "table" then
    exc.raise(exc.ArgumentError, format("%s: mixins must be a list of tables", what), nil, depth)
  end
  for i, mx in ipairs(list) do
    if type(mx) ~= "table" or getmetatable(mx) ~= nil then
      exc.raise(exc.ArgumentError, format("%s: mixin #%d is not a plain table of spec entries", what, i), nil, depth)
    end
    local name = label(mx, i)
    for k in pairs(mx) do
      if type(k) ~= "string" then
        exc.raise(exc.ArgumentError, format("%s: %s: spec keys must be attribute names", what, name), nil, depth)
      end
      if k:sub(1, 2) == "__" and not MIXIN_KEYS[k] then
        exc.raise(exc.ArgumentError, format("%s: %s: unknown spec key '%s'", what, name, k), nil, depth)
      end
    end
    sources[#sources + 1] = {name = name, spec = mx}
    collect(sources, rawget(mx, "__mixins"), what, depth + 1)
  end
end

-- Merges the sources into one spec: mapped entries once (a clash is an
-- error naming both places), anything else from the first source that has
-- it.
local function merge(what, sources)
  local out, from = {}, {}
  for _, src in ipairs(sources) do
    for k, v in pairs(src.spec) do
      if not NOT_COPIED[k] then
        local prev = from[k]
        if prev == nil then
          out[k], from[k] = v, src.name
        elseif is_mapped(v) and is_mapped(out[k]) then
          exc.raise(exc.ArgumentError, format("%s: '%s' is mapped by both %s and %s", what, k, prev,
            src.name), nil, 5)
        elseif is_mapped(v) or is_mapped(out[k]) then
          exc.raise(exc.ArgumentError, format("%s: '%s' is mapped by one of %s and %s and a plain value " ..
            "in the other", what, k, prev, src.name), nil, 5)
        end
      end
    end
  end
  return out
end

-- The abstract bases from parent up (nearest first) and the first class
-- above them that is not abstract.
local function abstract_chain(parent)
  local chain = {}
  while type(parent) == "table" and rawget(parent, "__abstract_spec") do
    chain[#chain + 1] = parent
    parent = rawget(parent, "__parent__")
  end
  return chain, parent
end

--- Whether model(parent, name, spec, opts) has anything for this module:
--- the cheap test that keeps mixin-free models on their old path.
function M.applies(parent, spec, opts)
  return opts ~= nil or rawget(spec, "__mixins") ~= nil or rawget(parent, "__abstract_spec") ~= nil
end

-- The merged spec (declared_attrs not yet called) of a model or abstract
-- base: own spec, then mixins, then abstract bases.
local function merged_spec(parent, name, spec, opts, what)
  opts = util.check_options(what, opts, OPTIONS, 5)
  local sources = {{name = "the model's own spec", spec = spec}}
  collect(sources, opts.mixins, what, 6)
  collect(sources, rawget(spec, "__mixins"), what, 6)
  local chain, top = abstract_chain(parent)
  if #chain > 0 and rawget(top, "__mapper__") then
    exc.raise(exc.ArgumentError, format("%s: an abstract base under the mapped class %s is not supported " ..
      "(make the abstract base a subclass of Base)", what, tostring(rawget(top, "__name"))), nil, 5)
  end
  -- the mixin tables taken (with_loader_criteria(Mixin, fn) finds its models by them)
  local used = {}
  for i = 2, #sources do used[sources[i].spec] = true end
  for _, a in ipairs(chain) do
    sources[#sources + 1] = {name = "abstract base " .. tostring(rawget(a, "__name")), spec = rawget(a, "__abstract_spec")}
    local inherited = rawget(a, "__mixins__")
    if inherited then for mx in pairs(inherited) do used[mx] = true end end
  end
  return merge(what, sources), used
end

--- An abstract base: a class with no table or mapper whose merged spec the
--- models made from it take (`Abstract:model(name, spec)`).
function M.abstract_class(class_meta, parent, name, spec, opts)
  local what = "model " .. name
  if rawget(parent, "__mapper__") then
    exc.raise(exc.ArgumentError, format("%s: an abstract base under the mapped class %s is not supported " ..
      "(make the abstract base a subclass of Base)", what, tostring(rawget(parent, "__name"))), nil, 4)
  end
  local merged, used = merged_spec(parent, name, spec, opts, what)
  return setmetatable({__name = name, __parent__ = parent, __abstract_spec = merged, __mixins__ = used}, class_meta)
end

-- Calls one declared_attr for cls (what it returns stands for the entry).
local function call_declared(what, cls, k, v)
  local ok, res = pcall(v.fn, cls)
  if not ok then error(res, 0) end
  if is_declared_attr(res) or res == nil then
    exc.raise(exc.ArgumentError, format("%s: declared_attr '%s' returned %s", what, k, tostring(res)), nil, 5)
  end
  if type(res) == "table" and mt_flag(res, "_is_mapped_column") then res = copy_mapped_column(res) end
  return res
end

--- The spec model() maps: the model's own merged with its mixins and
--- abstract bases, mapped_columns copied and declared_attrs called for cls
--- (__tablename first, which the others may read).
function M.resolve(cls, parent, name, spec, opts)
  local what = "model " .. name
  local merged, used = merged_spec(parent, name, spec, opts, what)
  if next(used) ~= nil then rawset(cls, "__mixins__", used) end
  if is_declared_attr(merged.__tablename) then
    merged.__tablename = call_declared(what, cls, "__tablename", merged.__tablename)
  end
  rawset(cls, "__tablename", merged.__tablename)
  for k, v in pairs(merged) do
    if is_declared_attr(v) then
      merged[k] = call_declared(what, cls, k, v)
    elseif type(v) == "table" and mt_flag(v, "_is_mapped_column") and spec[k] ~= v then
      merged[k] = copy_mapped_column(v)
    end
  end
  return merged
end

return M
