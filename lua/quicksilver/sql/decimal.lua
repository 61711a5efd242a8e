--- sql/decimal.lua: the exact decimal value Numeric columns give back (Python's
--- Decimal, as SQLAlchemy returns it).
---
--- A decimal is a userdata holding its text with this module's metatable
--- (c/binding/ldecimal.c): C makes one per Numeric value fetched (one
--- allocation, nothing parsed), so reading rows stays cheap; `tostring(d)` is
--- that text exactly as the database sent it ("10.40"). The value is parsed
--- on first use (arithmetic, comparison) into a sign, a coefficient (a string
--- of digits) and a scale (digits after the point), kept in a weak-keyed
--- table. Arithmetic works on the coefficients as
--- base 10^7 limbs, so any number of digits stays exact (NUMERIC(38, 10) and
--- beyond); the limb products stay below 2^53, exact in a double, so Lua 5.1
--- and LuaJIT compute the same digits as 5.4.
---
--- Rules the Lua runtimes impose (docs/CORE_TYPES.md, "Numbers and exact
--- decimals"): `==` compares two decimals by value, but a decimal is never
--- `==` a number or a string (Lua calls __eq only for two tables): use
--- `d:eq(x)`. `<`, `<=` with a number work on Lua 5.2+; Lua 5.1 and LuaJIT
--- refuse mixed comparisons: use `d:lt(x)`, `d:le(x)` or a decimal. As table
--- keys decimals count by identity.
local core = require("quicksilver.core")
local exc = require("quicksilver.exc")

local M = {}

-- C makes and reads decimals: a userdata holding the text.
local new_decimal, text = core.decimal_new, core.decimal_text

local type, tostring, tonumber, setmetatable, getmetatable =
  type, tostring, tonumber, setmetatable, getmetatable
local format, rep, sub, match, byte = string.format, string.rep, string.sub, string.match, string.byte
local concat, floor, mtype = table.concat, math.floor, math.type

local BASE, BASE_DIGITS = 10000000, 7
-- Exponents beyond this are refused: "1e999999999" would be a string of a
-- billion zeros.
local MAX_EXPONENT = 4096
-- `a / b` rounds to this many digits after the point (more when an operand
-- has more), then drops the trailing zeros past the operands' own scale.
M.DIVISION_SCALE = 20

---@class quicksilver.Decimal
local Decimal = {}
Decimal.__index = Decimal
Decimal.__name = "quicksilver.Decimal"
M.Decimal = Decimal

local function argerror(msg, level)
  exc.raise(exc.ArgumentError, msg, nil, (level or 2) + 1)
end

--- Parses text into (negative, coefficient digits, scale) or nil when it is
--- not a decimal number. The coefficient has no leading zeros ("0" for 0).
local function parse(s)
  local sign, int, frac, e = match(s, "^([+-]?)(%d*)%.?(%d*)([eE]?[+-]?%d*)$")
  if not sign or (int == "" and frac == "") then return nil end
  if frac ~= "" and not match(s, "%.") then return nil end
  local scale = #frac
  if e ~= "" then
    local x = match(e, "^[eE]([+-]?%d+)$")
    x = x and tonumber(x)
    if not x or x > MAX_EXPONENT or x < -MAX_EXPONENT then return nil end
    scale = scale - x
  end
  local coef = match(int .. frac, "^0*(%d-)$")
  if coef == "" then coef = "0" end
  if scale < 0 then
    if coef ~= "0" then coef = coef .. rep("0", -scale) end
    scale = 0
  end
  return sign == "-" and coef ~= "0", coef, scale
end

-- The canonical text of a value (computed results).
local function render(neg, coef, scale)
  local s = coef
  if scale > 0 then
    if #s <= scale then s = rep("0", scale - #s + 1) .. s end
    s = sub(s, 1, #s - scale) .. "." .. sub(s, #s - scale + 1)
  end
  if neg and coef ~= "0" then s = "-" .. s end
  return s
end

-- The parsed parts of decimals, {negative, coefficient, scale}, by decimal
-- (weak keys: the parts do not refer to their decimal).
local parsed = setmetatable({}, {__mode = "k"})

local function make(neg, coef, scale)
  if coef == "0" then neg = false end
  local d = new_decimal(render(neg, coef, scale))
  parsed[d] = {neg, coef, scale}
  return d
end

-- The parsed parts of decimal d (parsed once).
local function parts(d)
  local p = parsed[d]
  if p then return p[1], p[2], p[3] end
  local neg, c, scale = parse(text(d))
  if not neg and not c then argerror("not a finite decimal number: " .. text(d), 3) end
  parsed[d] = {neg, c, scale}
  return neg, c, scale
end

-- The shortest text that reads back as float x ("%.17g" shows 0.1 as
-- 0.10000000000000001; this gives "0.1").
local function float_text(x)
  for p = 15, 17 do
    local s = format("%." .. p .. "g", x)
    if tonumber(s) == x then return s end
  end
  return format("%.17g", x)
end

--- The text of a Lua number as a decimal: integers exactly, floats as the
--- shortest text that reads back as the same float; nil for inf and nan.
function M.number_text(x)
  if x ~= x or x == math.huge or x == -math.huge then return nil end
  if mtype and mtype(x) == "integer" then return format("%d", x) end
  if x == floor(x) and x > -2 ^ 53 and x < 2 ^ 53 then return format("%.0f", x) end
  return float_text(x)
end

--- Whether v is a decimal value.
---@return boolean
function M.is_decimal(v)
  return getmetatable(v) == Decimal
end

--- A decimal from text ("1.25", "-3", "1e-3"), a Lua number or a decimal.
--- Text keeps its spelling (`tostring` gives it back); a string that is not
--- a decimal number is refused with an ArgumentError.
---@param v string|number|quicksilver.Decimal
---@return quicksilver.Decimal
function M.new(v, level)
  local t = type(v)
  if t == "string" then
    local neg, coef, scale = parse(v)
    if not coef then argerror(format("not a decimal number: %q", v), level) end
    local d = new_decimal(v)
    parsed[d] = {neg, coef, scale}
    return d
  elseif t == "number" then
    local s = M.number_text(v)
    if not s then argerror("a decimal cannot hold " .. tostring(v), level) end
    local neg, coef, scale = parse(s)
    local d = new_decimal(s)
    parsed[d] = {neg, coef, scale}
    return d
  elseif getmetatable(v) == Decimal then
    return v
  end
  argerror("a decimal is made from a string, a number or a decimal, got " .. t, level)
end

--- A decimal of a database's text, kept as it is and parsed on first use
--- (what C makes per fetched value).
---@param s string
---@return quicksilver.Decimal
function M.from_text(s)
  return new_decimal(s)
end

-- Any operand as a decimal (arithmetic and comparison take numbers and
-- decimal strings too).
local function as_decimal(v)
  if getmetatable(v) == Decimal then return v end
  return M.new(v, 3)
end

-- Limbs ------------------------------------------------------------------------------------
-- A non-negative integer as a list of base 10^7 limbs, least significant first.

local function to_limbs(digits)
  local l, n = {}, 0
  for i = #digits, 1, -BASE_DIGITS do
    local j = i - BASE_DIGITS + 1
    if j < 1 then j = 1 end
    n = n + 1
    l[n] = tonumber(sub(digits, j, i))
  end
  return l
end

local function from_limbs(l)
  local n = #l
  while n > 1 and l[n] == 0 do n = n - 1 end
  local out = {format("%d", l[n])}
  for i = n - 1, 1, -1 do out[#out + 1] = format("%07d", l[i]) end
  return concat(out)
end

local function limbs_add(a, b)
  local r, carry = {}, 0
  local n = #a > #b and #a or #b
  for i = 1, n do
    local x = (a[i] or 0) + (b[i] or 0) + carry
    if x >= BASE then r[i], carry = x - BASE, 1 else r[i], carry = x, 0 end
  end
  if carry > 0 then r[n + 1] = carry end
  return r
end

-- a - b for a >= b.
local function limbs_sub(a, b)
  local r, borrow = {}, 0
  for i = 1, #a do
    local x = a[i] - (b[i] or 0) - borrow
    if x < 0 then r[i], borrow = x + BASE, 1 else r[i], borrow = x, 0 end
  end
  return r
end

local function limbs_mul(a, b)
  local r = {}
  for i = 1, #a + #b do r[i] = 0 end
  for i = 1, #a do
    local ai, carry = a[i], 0
    if ai ~= 0 then
      for j = 1, #b do
        -- at most 10^7 + (10^7-1)^2 + 10^7: exact in a double
        local x = r[i + j - 1] + ai * b[j] + carry
        local low = x % BASE
        r[i + j - 1], carry = low, (x - low) / BASE
      end
      local k = i + #b
      while carry > 0 do
        local x = r[k] + carry
        local low = x % BASE
        r[k], carry = low, (x - low) / BASE
        k = k + 1
      end
    end
  end
  return r
end

-- Compares digit strings without leading zeros.
local function cmp_digits(a, b)
  if #a ~= #b then return #a < #b and -1 or 1 end
  if a == b then return 0 end
  return a < b and -1 or 1
end

-- Integer division of digit strings: quotient digits and whether the
-- remainder is at least half the divisor (for rounding). Long division one
-- decimal digit at a time; each quotient digit by repeated subtraction.
local function divide_digits(a, b)
  local bl = to_limbs(b)
  local q, rem = {}, "0"
  for i = 1, #a do
    rem = rem == "0" and sub(a, i, i) or rem .. sub(a, i, i)
    rem = match(rem, "^0*(%d-)$"); if rem == "" then rem = "0" end
    local d = 0
    while cmp_digits(rem, b) >= 0 do
      rem = from_limbs(limbs_sub(to_limbs(rem), bl))
      d = d + 1
    end
    q[i] = d
  end
  local quotient = match(concat(q), "^0*(%d-)$")
  if quotient == "" then quotient = "0" end
  local twice = from_limbs(limbs_add(to_limbs(rem), to_limbs(rem)))
  return quotient, cmp_digits(twice, b) >= 0 and twice ~= "0"
end

-- Values -----------------------------------------------------------------------------------

-- Coefficients brought to the same scale.
local function aligned(ca, sa, cb, sb)
  if sa < sb and ca ~= "0" then ca = ca .. rep("0", sb - sa) end
  if sb < sa and cb ~= "0" then cb = cb .. rep("0", sa - sb) end
  return ca, cb, sa > sb and sa or sb
end

-- -1, 0 or 1 for decimals a and b.
local function compare(a, b)
  local na, ca, sa = parts(a)
  local nb, cb, sb = parts(b)
  if na ~= nb then return na and -1 or 1 end
  local x, y = aligned(ca, sa, cb, sb)
  local c = cmp_digits(x, y)
  return na and -c or c
end

local function add(a, b, negate_b)
  local na, ca, sa = parts(a)
  local nb, cb, sb = parts(b)
  if negate_b then nb = not nb and cb ~= "0" end
  local x, y, scale = aligned(ca, sa, cb, sb)
  if na == nb then return make(na, from_limbs(limbs_add(to_limbs(x), to_limbs(y))), scale) end
  local c = cmp_digits(x, y)
  if c == 0 then return make(false, "0", scale) end
  if c > 0 then return make(na, from_limbs(limbs_sub(to_limbs(x), to_limbs(y))), scale) end
  return make(nb, from_limbs(limbs_sub(to_limbs(y), to_limbs(x))), scale)
end

-- The coefficient divided by 10^drop, rounded half away from zero.
local function round_coef(coef, drop)
  if drop <= 0 then return coef end
  if drop >= #coef then
    if drop == #coef and byte(coef, 1) >= 53 then return "1" end   -- "5".."9"
    return "0"
  end
  local keep = sub(coef, 1, #coef - drop)
  if byte(coef, #coef - drop + 1) >= 53 then keep = from_limbs(limbs_add(to_limbs(keep), {1})) end
  return keep
end

--- d rounded to scale digits after the point (half away from zero, as SQL's
--- ROUND); a scale larger than d's pads with zeros.
---@param scale integer
---@return quicksilver.Decimal
function Decimal:round(scale)
  if type(scale) ~= "number" or scale ~= floor(scale) or scale < 0 or scale > MAX_EXPONENT then
    argerror("round(scale): scale must be a whole number from 0", 2)
  end
  local neg, coef, s = parts(self)
  if scale >= s then
    if coef ~= "0" then coef = coef .. rep("0", scale - s) end
    return make(neg, coef, scale)
  end
  return make(neg, round_coef(coef, s - scale), scale)
end

--- a / b rounded to scale digits after the point (half away from zero).
--- Without scale: DIVISION_SCALE digits (or an operand's scale when larger),
--- trailing zeros past the larger operand scale dropped (10 / 4 is 2.5,
--- 10.40 / 2 is 5.20, 2 / 3 is 0.66666666666666666667).
---@param other quicksilver.Decimal|number|string
---@param scale? integer
---@return quicksilver.Decimal
function Decimal:div(other, scale)
  local a, b = as_decimal(self), as_decimal(other)
  local na, ca, sa = parts(a)
  local nb, cb, sb = parts(b)
  if cb == "0" then argerror("decimal division by zero", 2) end
  local strip = scale == nil
  if strip then
    scale = M.DIVISION_SCALE
    if sa > scale then scale = sa end
    if sb > scale then scale = sb end
  elseif type(scale) ~= "number" or scale ~= floor(scale) or scale < 0 or scale > MAX_EXPONENT then
    argerror("div(other, scale): scale must be a whole number from 0", 2)
  end
  -- a/b = (ca / 10^sa) / (cb / 10^sb); quotient coefficient at `scale`:
  -- ca * 10^(scale + sb - sa) / cb
  local shift = scale + sb - sa
  local num = ca
  local den = cb
  if shift >= 0 then
    if num ~= "0" then num = num .. rep("0", shift) end
  else
    den = den .. rep("0", -shift)
  end
  local q, up = divide_digits(num, den)
  if up then q = from_limbs(limbs_add(to_limbs(q), {1})) end
  local neg = na ~= nb
  if strip then
    local keep = sa > sb and sa or sb
    while scale > keep and #q > 1 and sub(q, -1) == "0" do q, scale = sub(q, 1, -2), scale - 1 end
    if q == "0" then scale = keep end
  end
  return make(neg, q, scale)
end

---@return quicksilver.Decimal
function Decimal:add(other) return add(as_decimal(self), as_decimal(other)) end
---@return quicksilver.Decimal
function Decimal:sub(other) return add(as_decimal(self), as_decimal(other), true) end
---@return quicksilver.Decimal
function Decimal:mul(other)
  local a, b = as_decimal(self), as_decimal(other)
  local na, ca, sa = parts(a)
  local nb, cb, sb = parts(b)
  return make(na ~= nb, from_limbs(limbs_mul(to_limbs(ca), to_limbs(cb))), sa + sb)
end
---@return quicksilver.Decimal
function Decimal:neg()
  local neg, coef, scale = parts(self)
  return make(not neg, coef, scale)
end
---@return quicksilver.Decimal
function Decimal:abs()
  local _, coef, scale = parts(self)
  return make(false, coef, scale)
end

-- Comparison with a number that may be inf or nan: the sign of (d - x), or
-- nil for nan.
local function compare_any(a, b)
  if type(b) == "number" and not M.number_text(b) then
    if b ~= b then return nil end
    return b > 0 and -1 or 1
  end
  if type(a) == "number" and not M.number_text(a) then
    if a ~= a then return nil end
    return a > 0 and 1 or -1
  end
  return compare(as_decimal(a), as_decimal(b))
end

--- -1, 0 or 1: self against a decimal, a number or a decimal string (nil
--- when other is nan).
---@return integer|nil
function Decimal:compare(other) return compare_any(self, other) end
--- Equality by value with a decimal, a number or a decimal string (on every
--- Lua: `==` never compares a decimal with a number).
---@return boolean
function Decimal:eq(other) return compare_any(self, other) == 0 end
---@return boolean
function Decimal:lt(other) return compare_any(self, other) == -1 end
---@return boolean
function Decimal:le(other)
  local c = compare_any(self, other)
  return c == -1 or c == 0
end

--- Whether the value is zero.
---@return boolean
function Decimal:is_zero()
  local _, coef = parts(self)
  return coef == "0"
end

--- Digits after the point, as written ("10.40": 2).
---@return integer
function Decimal:scale()
  local _, _, s = parts(self)
  return s
end

--- The text: exactly the database's for a fetched value, as written for
--- qs.Decimal("..."), canonical for a computed one.
---@return string
function Decimal:tostring() return text(self) end

--- The nearest Lua float.
---@return number
function Decimal:tonumber()
  local x = tonumber(text(self))
  if x == nil then return 0 / 0 end   -- a server's NaN
  return x + 0.0
end

Decimal.__tostring = text
Decimal.__concat = function(a, b)
  if getmetatable(a) == Decimal then a = text(a) end
  if getmetatable(b) == Decimal then b = text(b) end
  return a .. b
end
Decimal.__add = function(a, b) return add(as_decimal(a), as_decimal(b)) end
Decimal.__sub = function(a, b) return add(as_decimal(a), as_decimal(b), true) end
Decimal.__mul = function(a, b) return Decimal.mul(a, b) end
Decimal.__div = function(a, b) return Decimal.div(a, b) end
Decimal.__unm = function(a) return a:neg() end
-- __eq runs only for two tables with this metamethod: equal by value. A
-- value that is not a number (a server's NaN) equals only the same text.
Decimal.__eq = function(a, b)
  if text(a) == text(b) then return true end
  local ok, c = pcall(compare, a, b)
  return ok and c == 0
end
Decimal.__lt = function(a, b) return compare_any(a, b) == -1 end
Decimal.__le = function(a, b)
  local c = compare_any(a, b)
  return c == -1 or c == 0
end

-- C makes fetched values with this metatable and binds their text.
core.set_decimal(Decimal)

return M
