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

local format, type, tostring = string.format, type, tostring
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

--- The bind converter of a Date, DateTime or Time column.
---@param what '"Date"'|'"DateTime"'|'"Time"'
---@param timezone boolean|nil a DateTime({timezone = true}): an offset is kept
---@return fun(v: any): string
function M.binder(what, timezone)
  return function(v)
    if type(v) == "string" then
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
