-- echo = "debug" logs, after each statement and its parameters, the
-- result's column names and every row as it is fetched (SQLAlchemy's
-- "Col (...)" and "Row (...)" lines), on every path rows come through: a
-- buffered Result, a streamed one, the ORM's reads that make objects
-- without a Result (including a session.get); echo = true logs no rows.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")

local function engine_with(echo)
  local lines = {}
  local engine = qs.create_engine("sqlite://", {echo = echo, logger = function(l) lines[#lines + 1] = l end})
  return engine, lines
end

local function rows_of(lines)
  local out = {}
  for _, l in ipairs(lines) do
    local r = l:match("^%[quicksilver%.engine%] (Row .*)$") or l:match("^%[quicksilver%.engine%] (Col .*)$")
    if r then out[#out + 1] = r end
  end
  return out
end

describe("echo = \"debug\"", function()
  it("keeps the value: engine.echo is \"debug\" (true stays true)", function()
    assert.equal("debug", (engine_with("debug")).echo)
    assert.is_true((engine_with(true)).echo)
    assert.is_false((engine_with(nil)).echo)
  end)

  it("logs a buffered result's columns and rows after its statement; echo = true does not", function()
    for _, mode in ipairs({true, "debug"}) do
      local engine, lines = engine_with(mode)
      engine:connect(function(c)
        c:execute(qs.text("SELECT 1 AS id, 'x' AS name UNION ALL SELECT 2, NULL")):all()
      end)
      if mode == "debug" then
        assert.same({'Col ("id", "name")', 'Row (1, "x")', 'Row (2, NULL)'}, rows_of(lines))
        local sel, col
        for i, l in ipairs(lines) do
          if l:find("SELECT 1 AS id", 1, true) then sel = i end
          if l:find("Col (", 1, true) then col = i end
        end
        assert.is_true(sel < col)
      else
        assert.same({}, rows_of(lines))
      end
      engine:dispose()
    end
  end)

  it("logs a streamed result's rows as each chunk is fetched", function()
    local engine, lines = engine_with("debug")
    engine:connect(function(c)
      c:execute(qs.text("CREATE TABLE n (i INTEGER)"))
      c:execute(qs.text("INSERT INTO n VALUES (1), (2), (3)"))
      for k = #lines, 1, -1 do lines[k] = nil end
      local r = c:execute(qs.text("SELECT i FROM n ORDER BY i"), nil, {yield_per = 2})
      assert.same({'Col ("i")'}, rows_of(lines))   -- no row fetched yet
      r:fetchone()
      assert.same({'Col ("i")', "Row (1)", "Row (2)"}, rows_of(lines))
      r:all()
      assert.same({'Col ("i")', "Row (1)", "Row (2)", "Row (3)"}, rows_of(lines))
    end)
    engine:dispose()
  end)

  it("logs the rows of the ORM's reads (objects made without a Result), RETURNING and get()", function()
    local engine, lines = engine_with("debug")
    local Base = orm.declarative_base()
    local A = Base:model("A", {__tablename = "a", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(20))})
    Base.metadata:create_all(engine)
    local s = orm.Session(engine)
    s:add_all({A({name = "x"}), A({name = "y"})})
    s:commit()
    local logged = rows_of(lines)
    assert.same({'Col ("id")', "Row (1)", "Row (2)"}, {logged[#logged - 2], logged[#logged - 1], logged[#logged]})
    for k = #lines, 1, -1 do lines[k] = nil end
    assert.equal(2, #s:scalars(qs.select(A):order_by(A.id)):all())
    assert.same({'Col ("id", "name")', 'Row (1, "x")', 'Row (2, "y")'}, rows_of(lines))
    s:close()
    for k = #lines, 1, -1 do lines[k] = nil end
    assert.equal("y", s:get(A, 2).name)
    assert.same({'Col ("id", "name")', 'Row (2, "y")'}, rows_of(lines))
    s:close()
    engine:dispose()
  end)
end)
