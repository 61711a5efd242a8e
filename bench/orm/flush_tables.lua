-- flush_tables.lua: one flush of rows over five related tables (a chain of
-- foreign keys: region <- country <- city <- street <- house), then one
-- flush changing every row, on a new SQLite file. The flush's plan (table
-- order, row batches: c/orm/plan.c) runs over five mappers here, where the
-- orm_insert row of quicksilver_orm.lua has two.
-- Usage: lua5.4 flush_tables.lua FILE ROWS_PER_TABLE [ROUNDS]
-- Prints "flush5_insert seconds" and "flush5_update seconds" (CPU, the median of
-- ROUNDS runs, each on emptied tables).
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
-- CPU seconds of this process (os.clock): steadier than wall time on a shared machine
local now = os.clock

local path, per, rounds = arg[1], tonumber(arg[2]) or 2000, tonumber(arg[3]) or 3

local Base = orm.declarative_base()
local names = {"Region", "Country", "City", "Street", "House"}
local tables = {"region", "country", "city", "street", "house"}
local models = {}
for i, name in ipairs(names) do
  local spec = {
    __tablename = tables[i],
    id = orm.mapped_column(qs.Integer, {primary_key = true}),
    label = orm.mapped_column(qs.String(40)),
    n = orm.mapped_column(qs.Integer),
  }
  if i > 1 then
    spec.up_id = orm.mapped_column(qs.ForeignKey(tables[i - 1] .. ".id"))
    spec.up = orm.relationship(names[i - 1], {back_populates = "downs"})
  end
  if i < #names then spec.downs = orm.relationship(names[i + 1], {back_populates = "up"}) end
  models[i] = Base:model(name, spec)
end

os.remove(path)
local engine = qs.create_engine("sqlite:///" .. path)
Base.metadata:create_all(engine)

local function median(t)
  table.sort(t)
  return t[math.floor((#t + 1) / 2)]
end

local ins, upd = {}, {}
for r = 1, rounds do
  local s = orm.Session(engine)
  -- per rows of each table, each row under a row of the table before
  local all, prev = {}, nil
  for i, M in ipairs(models) do
    local level = {}
    for j = 1, per do
      local o = M({label = tables[i] .. j, n = j})
      if prev then o.up = prev[(j - 1) % #prev + 1] end
      level[j] = o
      all[#all + 1] = o
    end
    prev = level
  end
  s:add_all(all)
  local t0 = now()
  s:flush()
  ins[r] = now() - t0
  for _, o in ipairs(all) do o.n = o.n + 1 end
  t0 = now()
  s:flush()
  upd[r] = now() - t0
  s:rollback()
  s:close()
end
engine:dispose()
os.remove(path)
print(string.format("flush5_insert %.4f", median(ins)))
print(string.format("flush5_update %.4f", median(upd)))
