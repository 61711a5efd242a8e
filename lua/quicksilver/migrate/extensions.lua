--- migrate/extensions.lua: operations registered by name (Alembic's
--- Operations.register_operation) and comparators (Alembic's
--- comparators.dispatch_for) that add them to autogenerate's revisions.
---
--- migrate.op.register("create_view", {build = function(op, name, sql) ... end,
---   render = function(args) return "lua source of the arguments" end,
---   reverse = function(args) return "drop_view", {args[1]} end})
--- makes op.create_view(...) callable in revisions (online and --sql: build
--- works through op, so offline it prints) and lets autogenerate write it.
local exc = require("quicksilver.exc")
local util = require("quicksilver.util")

local M = {}

local format, concat = string.format, table.concat

--- The registered operations by name: {build, render, reverse}.
M.operations = {}
--- The registered comparators, in registration order.
M.comparators = {}

local SPEC_KEYS = util.set({"build", "render", "reverse"})

--- Registers an operation; builtin names the operations module refuses
--- before calling this. A second registration of a name replaces the first
--- (a reloaded env.lua registers again).
---@param name string
---@param spec {build: function, render?: function, reverse?: function}
function M.register_operation(name, spec, builtin)
  if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then
    exc.raise(exc.ArgumentError, "migrate.op.register: the name must be an identifier, got " .. tostring(name),
      nil, 3)
  end
  if builtin[name] then
    exc.raise(exc.ArgumentError, format("migrate.op.register: op.%s is a builtin operation", name), nil, 3)
  end
  util.check_options("migrate.op.register(" .. name .. ")", spec, SPEC_KEYS, 3)
  if type(spec) ~= "table" or type(spec.build) ~= "function" then
    exc.raise(exc.ArgumentError, format("migrate.op.register(%s): build must be a function", name), nil, 3)
  end
  for _, k in ipairs({"render", "reverse"}) do
    if spec[k] ~= nil and type(spec[k]) ~= "function" then
      exc.raise(exc.ArgumentError, format("migrate.op.register(%s): %s must be a function", name, k), nil, 3)
    end
  end
  M.operations[name] = {build = spec.build, render = spec.render, reverse = spec.reverse}
end

--- Removes a registered operation (tests; a plugin unloaded).
function M.unregister_operation(name) M.operations[name] = nil end

--- Registers a comparator fn(ctx, ops): ctx = {connection, inspector,
--- metadata, dialect}; it appends {kind = "<registered op>", args = {...}}
--- entries to ops (the upgrade's), which autogenerate writes after the
--- builtin differences.
---@param fn function
function M.register_comparator(fn)
  if type(fn) ~= "function" then
    exc.raise(exc.ArgumentError, "migrate.comparators.register: expected a function", nil, 3)
  end
  M.comparators[#M.comparators + 1] = fn
end

--- Removes a comparator registered before.
function M.unregister_comparator(fn)
  for i = #M.comparators, 1, -1 do
    if M.comparators[i] == fn then table.remove(M.comparators, i) end
  end
end

-- A plain value as Lua source (strings, numbers, booleans, nil and tables
-- of them): the default rendering of a registered operation's arguments.
local function value(v, seen)
  local t = type(v)
  if t == "string" then return format("%q", v) end
  if t == "number" then
    if v == math.floor(v) and v > -2 ^ 53 and v < 2 ^ 53 then return format("%d", v) end
    return format("%.17g", v)
  end
  if t == "boolean" or t == "nil" then return tostring(v) end
  if t == "table" and not getmetatable(v) and not seen[v] then
    seen[v] = true
    local parts, n = {}, 0
    for i, x in ipairs(v) do parts[i] = value(x, seen); n = i end
    local keys = {}
    for k in pairs(v) do
      if not (type(k) == "number" and k >= 1 and k <= n and k == math.floor(k)) then keys[#keys + 1] = k end
    end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(keys) do
      local key = (type(k) == "string" and k:match("^[%a_][%w_]*$")) and k or ("[" .. value(k, seen) .. "]")
      parts[#parts + 1] = key .. " = " .. value(v[k], seen)
    end
    seen[v] = nil
    return "{" .. concat(parts, ", ") .. "}"
  end
  exc.raise(exc.ArgumentError, "autogenerate: a registered operation's argument " .. tostring(v) ..
    " cannot be written as Lua source; give the operation a render function", nil, 5)
end

-- A registered operation, or an error naming the kind.
local function known(kind)
  local spec = M.operations[kind]
  if not spec then
    exc.raise(exc.ArgumentError, "autogenerate: no operation named " .. tostring(kind) ..
      " (register it with migrate.op.register)", nil, 5)
  end
  return spec
end

--- The line calling a registered operation for an entry {kind, args}.
function M.render(d)
  local spec = known(d.kind)
  local args = d.args or {}
  local src
  if spec.render then
    src = spec.render(args)
    if type(src) ~= "string" then
      exc.raise(exc.ArgumentError, format("migrate.op.register(%s): render must return Lua source", d.kind), nil, 4)
    end
  else
    local parts = {}
    for i = 1, (args.n or #args) do parts[i] = value(args[i], {}) end
    src = concat(parts, ", ")
  end
  return format("    op.%s(%s)", d.kind, src)
end

--- The entry undoing d in the downgrade, or nil (the downgrade says so).
function M.reverse(d)
  local spec = known(d.kind)
  if not spec.reverse then return nil end
  local kind, args = spec.reverse(d.args or {})
  known(kind)
  return {kind = kind, args = args or {}}
end

--- Whether kind is a registered operation.
function M.is_operation(kind) return M.operations[kind] ~= nil end

--- Runs the comparators; returns the entries they added.
function M.compare(ctx)
  local out = {}
  for _, fn in ipairs(M.comparators) do
    local before = #out
    fn(ctx, out)
    for i = before + 1, #out do
      local d = out[i]
      if type(d) ~= "table" then
        exc.raise(exc.ArgumentError, "autogenerate: a comparator added " .. tostring(d) ..
          " instead of {kind = ..., args = {...}}", nil, 3)
      end
      known(d.kind)
    end
  end
  return out
end

return M
