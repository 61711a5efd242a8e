--- sql/datetime_values.lua: the Lua values Date, DateTime and Time bind.
---
--- The values are ISO-8601 strings or os.date("*t")-style tables. Strings are
--- checked here because SQLite stores any text in a DATE column (a misspelt
--- date would come back as it was written, and compare wrongly) and
--- PostgreSQL drops a UTC offset given to a TIMESTAMP WITHOUT TIME ZONE:
--- both silently. Tables are formatted field by field, never through
--- os.time, which moves a local time inside a daylight-saving gap (02:30 on
--- the day clocks go forward) by an hour.
local exc = require("quicksilver.exc")

local M = {}

local format, type, byte = string.format, type, string.byte
local floor = math.floor

local DAYS = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

local function leap(y) return (y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0 end

local function bad(what, v, why, fix)
  fix = fix or format("give an ISO-8601 string (%s) or an os.date('*t') table",
    what == "Date" and "'2024-02-29'" or what == "Time" and "'13:45:10'" or "'2024-02-29 13:45:10'")
  error(exc.ArgumentError(format("%s value %s %s: %s", what,
    type(v) == "string" and ("'" .. v .. "'") or "(a table)", why, fix)), 0)
end

-- Whole numbers within [lo, hi] (a table's fields or a string's digits).
local function field(x, lo, hi)
  x = tonumber(x)
  return x ~= nil and x == floor(x) and x >= lo and x <= hi
end

local function check_date(what, v, y, m, d)
  if not (field(y, 1, 9999) and field(m, 1, 12)) then bad(what, v, "is not a date") end
  local last = DAYS[tonumber(m)] + ((tonumber(m) == 2 and leap(tonumber(y))) and 1 or 0)
  if not field(d, 1, last) then bad(what, v, "is not a date") end
end

local function check_time(what, v, h, mi, s)
  -- 24:00:00 is midnight at the end of a day (PostgreSQL takes it)
  if not (field(h, 0, 24) and field(mi, 0, 59) and field(s or 0, 0, 59))
      or (tonumber(h) == 24 and (tonumber(mi) ~= 0 or tonumber(s or 0) ~= 0)) then
    bad(what, v, "is not a time of day")
  end
end

-- The part after the seconds: a fraction, then a UTC offset.
local function split_rest(rest)
  local frac, zone = rest:match("^(%.?%d*)(.*)$")
  if frac == "." then return nil end
  return frac, zone
end

local function valid_zone(zone)
  return zone == "" or zone == "Z" or zone:match("^[+-]%d%d$") or zone:match("^[+-]%d%d:?%d%d$")
end

-- Checks a time-of-day string "HH:MM[:SS[.ffffff]]" followed by rest; returns the offset text.
local function time_part(what, v, s)
  local h, mi, rest = s:match("^(%d%d):(%d%d)(.*)$")
  if not h then bad(what, v, "is not in ISO-8601 form") end
  local sec = rest:match("^:(%d%d)")
  if sec then rest = rest:sub(4) end
  local frac, zone = split_rest(rest)
  if not frac or (frac ~= "" and not sec) or not valid_zone(zone) then
    bad(what, v, "is not in ISO-8601 form")
  end
  check_time(what, v, h, mi, sec)
  return zone
end

-- The common forms, checked first and cheaply (a bind converter runs for
-- every value of every row): "YYYY-MM-DD", "YYYY-MM-DD HH:MM:SS",
-- "HH:MM:SS", read with one string.byte call and plain arithmetic, no
-- pattern and no helper calls (each would cost as much as the check).
-- Byte 48 is "0": x * 10 + y - 528 is the number the digits x, y write;
-- a value that fails here goes the general way, which says what is wrong.
local function last_day(m, y1, y2, y3, y4)
  return DAYS[m] + ((m == 2 and leap((y1 * 10 + y2 - 528) * 100 + y3 * 10 + y4 - 528)) and 1 or 0)
end

local QUICK = {
  Date = function(v)
    if #v ~= 10 then return false end
    local y1, y2, y3, y4, s1, m1, m2, s2, d1, d2 = byte(v, 1, 10)
    if s1 ~= 45 or s2 ~= 45 or y1 < 48 or y1 > 57 or y2 < 48 or y2 > 57 or y3 < 48 or y3 > 57
        or y4 < 48 or y4 > 57 or m1 < 48 or m1 > 49 or m2 < 48 or m2 > 57 or d1 < 48 or d1 > 51
        or d2 < 48 or d2 > 57 or y1 + y2 + y3 + y4 == 192 then   -- 192: "0000"
      return false
    end
    local m, d = m1 * 10 + m2 - 528, d1 * 10 + d2 - 528
    return m >= 1 and m <= 12 and d >= 1 and (d <= 28 or d <= last_day(m, y1, y2, y3, y4))
  end,
  DateTime = function(v)
    if #v ~= 19 then return false end
    local y1, y2, y3, y4, s1, m1, m2, s2, d1, d2, sp, h1, h2, c1, i1, i2, c2, e1, e2 = byte(v, 1, 19)
    if s1 ~= 45 or s2 ~= 45 or sp ~= 32 or c1 ~= 58 or c2 ~= 58 or y1 < 48 or y1 > 57 or y2 < 48
        or y2 > 57 or y3 < 48 or y3 > 57 or y4 < 48 or y4 > 57 or m1 < 48 or m1 > 49 or m2 < 48
        or m2 > 57 or d1 < 48 or d1 > 51 or d2 < 48 or d2 > 57 or h1 < 48 or h1 > 50 or h2 < 48
        or h2 > 57 or i1 < 48 or i1 > 53 or i2 < 48 or i2 > 57 or e1 < 48 or e1 > 53 or e2 < 48
        or e2 > 57 or h1 * 10 + h2 > 551 or y1 + y2 + y3 + y4 == 192 then   -- 551: "23"; 192: "0000"
      return false
    end
    local m, d = m1 * 10 + m2 - 528, d1 * 10 + d2 - 528
    return m >= 1 and m <= 12 and d >= 1 and (d <= 28 or d <= last_day(m, y1, y2, y3, y4))
  end,
  Time = function(v)
    if #v ~= 8 then return false end
    local h1, h2, c1, i1, i2, c2, e1, e2 = byte(v, 1, 8)
    return c1 == 58 and c2 == 58 and h1 >= 48 and h1 <= 50 and h2 >= 48 and h2 <= 57
      and i1 >= 48 and i1 <= 53 and i2 >= 48 and i2 <= 57 and e1 >= 48 and e1 <= 53 and e2 >= 48
      and e2 <= 57 and h1 * 10 + h2 <= 551
  end,
}

--- The bind converter of a Date, DateTime or Time column.
---@param what '"Date"'|'"DateTime"'|'"Time"'
---@param timezone boolean|nil a DateTime({timezone = true}): an offset is kept
---@return fun(v: any): string
function M.binder(what, timezone)
  local quick = QUICK[what]
  return function(v)
    if type(v) == "string" then
      if quick(v) then return v end
      local zone = ""
      if what == "Time" then
        zone = time_part(what, v, v)
      else
        local y, m, d, rest = v:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
        if not y then bad(what, v, "is not in ISO-8601 form") end
        check_date(what, v, y, m, d)
        if what == "Date" then
          if rest ~= "" then bad(what, v, "has more than a date") end
        elseif rest ~= "" then
          local sep = rest:sub(1, 1)
          if sep ~= " " and sep ~= "T" then bad(what, v, "is not in ISO-8601 form") end
          zone = time_part(what, v, rest:sub(2))
        end
      end
      if zone ~= "" and not timezone then
        bad(what, v, "has a UTC offset, which a " .. what .. " without a time zone would drop",
          what == "Time" and "give the time without an offset" or
          "declare qs.DateTime({timezone = true}) to keep it, or give the time without an offset")
      end
      return v
    end
    if type(v) == "table" and (v.year or (v.hour and what == "Time")) then
      local date
      if what ~= "Time" then
        check_date(what, v, v.year, v.month or 1, v.day or 1)
        date = format("%04d-%02d-%02d", v.year, v.month or 1, v.day or 1)
        if what == "Date" then return date end
      end
      check_time(what, v, v.hour or 0, v.min or 0, v.sec or 0)
      local t = format("%02d:%02d:%02d", v.hour or 0, v.min or 0, v.sec or 0)
      return date and (date .. " " .. t) or t
    end
    error(exc.ArgumentError(format("%s value must be an ISO-8601 string or an os.date('*t') table, got %s",
      what, type(v))), 0)
  end
end

return M
