--- dialects/postgresql_range.lua: the Lua value of PostgreSQL's range types
--- (SQLAlchemy 2.0's Range): `qs.postgresql.Range(lower, upper, {bounds =
--- "[)"})`, `Range(nil, nil, {empty = true})`; its text both ways ("[1,10)", "empty", "(,5]",
--- quoted bounds for timestamps). A missing bound (nil) is unbounded.
local exc = require("quicksilver.exc")

local M = {}

local type, tostring, format, setmetatable = type, tostring, string.format, setmetatable

---@class quicksilver.Range
---@field lower any|nil the lower bound (nil: unbounded)
---@field upper any|nil the upper bound (nil: unbounded)
---@field bounds string "[)", "(]", "[]" or "()": which bounds the range includes
---@field empty boolean the empty range
local Range = {}
Range.__index = Range
Range.__name = "Range"
M.Range = Range

local BOUNDS = {["[)"] = true, ["(]"] = true, ["[]"] = true, ["()"] = true}

--- Range(lower, upper, {bounds = "[)" | "(]" | "[]" | "()", empty = true}).
---@return quicksilver.Range
function M.new(lower, upper, opts)
  local bounds = "[)"
  if opts ~= nil then
    if type(opts) ~= "table" then
      exc.raise(exc.ArgumentError, "Range: the third argument is an options table ({bounds = \"[)\"})", nil, 2)
    end
    for k in pairs(opts) do
      if k ~= "bounds" and k ~= "empty" then
        exc.raise(exc.ArgumentError, "Range: unknown option '" .. tostring(k) .. "'", nil, 2)
      end
    end
    if opts.empty then return M.empty() end
    bounds = opts.bounds or bounds
  end
  if not BOUNDS[bounds] then
    exc.raise(exc.ArgumentError, "Range: bounds must be \"[)\", \"(]\", \"[]\" or \"()\", got " .. tostring(bounds), nil, 2)
  end
  return setmetatable({lower = lower, upper = upper, bounds = bounds, empty = false}, Range)
end

--- The empty range.
function M.empty()
  return setmetatable({bounds = "[)", empty = true}, Range)
end

local function is_integral(v) return v == math.floor(v) and v > -2 ^ 53 and v < 2 ^ 53 end

-- One bound as range text: numbers exactly, strings quoted when they hold
-- what the range syntax reads (spaces, commas, brackets, quotes, backslashes).
local function bound_text(v, what)
  if v == nil then return "" end
  local t = type(v)
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then
      exc.raise(exc.ArgumentError, "Range: a " .. what .. " bound must be a finite number (nil: unbounded)", nil, 5)
    end
    if is_integral(v) then return format("%d", v) end
    return format("%.17g", v)
  end
  if t == "string" then
    if v == "" or v:find("[%s,%(%)%[%]\"\\]") then return '"' .. v:gsub("[\"\\]", "\\%0") .. '"' end
    return v
  end
  exc.raise(exc.ArgumentError, "Range: a " .. what .. " bound must be a number or a string, got " .. t, nil, 5)
end

--- The range's PostgreSQL text.
function Range:text()
  if self.empty then return "empty" end
  return self.bounds:sub(1, 1) .. bound_text(self.lower, "lower") .. "," .. bound_text(self.upper, "upper") ..
    self.bounds:sub(2, 2)
end
Range.__tostring = Range.text

--- Two ranges are equal when their bounds and values are.
Range.__eq = function(a, b)
  if a.empty or b.empty then return a.empty == b.empty end
  return a.lower == b.lower and a.upper == b.upper and a.bounds == b.bounds
end

--- A bind converter: a Range (or its text as a string) to the text.
function M.bind(v)
  if getmetatable(v) == Range then return v:text() end
  if type(v) == "string" then return v end
  error(exc.ArgumentError("a range value must be a qs.postgresql.Range or its text, got " .. type(v)), 0)
end

-- One bound read back: quoted text unescaped; "" is unbounded.
local function read_bound(s, i, stop)
  if s:sub(i, i) == '"' then
    local out, j = {}, i + 1
    while j <= #s do
      local ch = s:sub(j, j)
      if ch == "\\" then out[#out + 1] = s:sub(j + 1, j + 1); j = j + 2
      elseif ch == '"' then
        if s:sub(j + 1, j + 1) == '"' then out[#out + 1] = '"'; j = j + 2 else return table.concat(out), j + 1 end
      else out[#out + 1] = ch; j = j + 1 end
    end
    return table.concat(out), j
  end
  local j = s:find(stop, i, true) or #s
  local raw = s:sub(i, j - 1)
  if raw == "" then return nil, j end
  return raw, j
end

--- A result converter for a range whose bounds convert with conv (or stay text).
---@param conv fun(s: string): any|nil
---@return fun(text: any): any
function M.reader(conv)
  return function(v)
    if type(v) ~= "string" then return v end
    if v == "empty" then return M.empty() end
    local open = v:sub(1, 1)
    local lower, i = read_bound(v, 2, ",")
    local upper, j = read_bound(v, i + 1, v:sub(-1))
    local close = v:sub(j, j)
    if conv then
      if lower ~= nil then lower = conv(lower) end
      if upper ~= nil then upper = conv(upper) end
    end
    return setmetatable({lower = lower, upper = upper, bounds = open .. close, empty = false}, Range)
  end
end

return M
