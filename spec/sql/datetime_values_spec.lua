-- Date, DateTime and Time binds (sql/datetime_values.lua): a string that is
-- no ISO-8601 date or time, or an impossible date, was stored as written by
-- SQLite (and a UTC offset given to a DateTime without a time zone was
-- dropped by PostgreSQL): both are refused before anything is sent. A table
-- is formatted field by field, so a local time inside a daylight-saving gap
-- stays as given.
local qs = require("quicksilver")
local helpers = require("spec.helpers")

describe("Date, DateTime and Time bind values", function()
  local engine, t
  setup(function()
    engine = qs.create_engine("sqlite://")
    local md = qs.MetaData()
    t = qs.Table("dtv", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("d", qs.Date), qs.Column("dt", qs.DateTime), qs.Column("tm", qs.Time),
      qs.Column("tz", qs.DateTime({timezone = true})))
    md:create_all(engine)
  end)
  teardown(function() engine:dispose() end)

  local function store(values)
    return engine:begin(function(conn)
      local id = conn:execute(qs.insert(t), values).inserted_primary_key[1]
      return conn:execute(qs.select(t.c.d, t.c.dt, t.c.tm, t.c.tz):where(t.c.id:eq(id))):one()
    end)
  end
  local function refused(values, message)
    local err = helpers.assert_raises_kind(qs.exc.ArgumentError, store, values)
    assert.matches(message, tostring(err), 1, true)
  end

  it("keeps the ISO-8601 forms as written", function()
    local r = store({d = "2024-02-29", dt = "2024-02-29 13:45:10.123456", tm = "23:59:58.5",
      tz = "2024-02-29T13:45:10+02:00"})
    assert.equal("2024-02-29", r.d)
    assert.equal("2024-02-29 13:45:10.123456", r.dt)
    assert.equal("23:59:58.5", r.tm)
    assert.equal("2024-02-29T13:45:10+02:00", r.tz)
    r = store({dt = "2024-02-29", tm = "07:30", tz = "2024-02-29 13:45:10Z"})
    assert.equal("2024-02-29", r.dt)
    assert.equal("07:30", r.tm)
  end)

  it("refuses text that is no date or time, naming the value", function()
    refused({d = "not a date"}, "Date value 'not a date' is not in ISO-8601 form: give an ISO-8601 string ('2024-02-29')")
    refused({d = "2024-13-01"}, "Date value '2024-13-01' is not a date")
    refused({d = "2023-02-29"}, "Date value '2023-02-29' is not a date")
    refused({d = "2024-02-29 10:00:00"}, "Date value '2024-02-29 10:00:00' has more than a date")
    refused({dt = "yesterday"}, "DateTime value 'yesterday' is not in ISO-8601 form")
    refused({dt = "2024-02-29 25:00:00"}, "DateTime value '2024-02-29 25:00:00' is not a time of day")
    refused({tm = "noon"}, "Time value 'noon' is not in ISO-8601 form")
    refused({tm = "12:60"}, "Time value '12:60' is not a time of day")
  end)

  it("refuses a UTC offset where the column would drop it", function()
    refused({dt = "2024-02-29 13:45:10+02:00"}, "DateTime value '2024-02-29 13:45:10+02:00' has a UTC offset, " ..
      "which a DateTime without a time zone would drop: declare qs.DateTime({timezone = true}) to keep it")
    refused({tm = "13:45:10Z"}, "Time value '13:45:10Z' has a UTC offset")
  end)

  it("formats tables field by field, without moving a time inside a daylight-saving gap", function()
    -- 02:30 on the day clocks go forward does not exist in many local zones:
    -- os.time would have moved it to 03:30 there
    local r = store({d = {year = 2024, month = 3, day = 31},
      dt = {year = 2024, month = 3, day = 31, hour = 2, min = 30, sec = 0}, tm = {hour = 2, min = 30}})
    assert.equal("2024-03-31", r.d)
    assert.equal("2024-03-31 02:30:00", r.dt)
    assert.equal("02:30:00", r.tm)
    refused({d = {year = 2024, month = 2, day = 30}}, "Date value (a table) is not a date")
    refused({dt = {year = 2024, month = 1, day = 1, hour = 24, min = 1}}, "is not a time of day")
    refused({dt = {month = 1, day = 1}}, "DateTime value must be an ISO-8601 string or an os.date('*t') table, got table")
  end)

  it("decides the common forms as the full check does, at every boundary", function()
    local dt, d, tm = qs.DateTime._bind, qs.Date._bind, qs.Time._bind
    -- every day of a common and a leap year, from os.date in UTC
    local t0 = os.time({year = 2023, month = 1, day = 1, hour = 12})
    for i = 0, 730 do
      local day = os.date("!%Y-%m-%d", t0 + i * 86400)
      assert.equal(day, d(day))
      assert.equal(day .. " 23:59:59", dt(day .. " 23:59:59"))
    end
    for _, v in ipairs({"2023-02-29", "2024-02-30", "2024-04-31", "2024-00-10", "2024-13-01", "2024-01-00",
        "2024-01-32", "0000-01-01", "2024/01/01", "2024-1-01"}) do
      assert.is_false(pcall(d, v), v)
      assert.is_false(pcall(dt, v .. " 10:00:00"), v)
    end
    for _, v in ipairs({"24:00:01", "25:00:00", "23:60:00", "23:59:60", "2a:00:00", "23-59-59"}) do
      assert.is_false(pcall(tm, v), v)
      assert.is_false(pcall(dt, "2024-01-01 " .. v), v)
    end
    assert.equal("24:00:00", tm("24:00:00"))
    assert.equal("00:00:00", tm("00:00:00"))
    assert.equal("2024-01-01 24:00:00", dt("2024-01-01 24:00:00"))
    assert.equal("2000-02-29", d("2000-02-29"))
    assert.is_false(pcall(d, "1900-02-29"))
  end)

  it("still refuses other Lua values as before", function()
    refused({d = 20240229}, "Date value must be an ISO-8601 string or an os.date('*t') table, got number")
  end)
end)
