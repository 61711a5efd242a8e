-- quicksilver_core.lua: the Core workloads through quicksilver.
-- Usage: lua5.4 quicksilver_core.lua TARGET ROWS GETS BUILDS
-- TARGET: a SQLite file, or a server URL (postgresql://...), where the table a
-- previous run left is dropped first. BUILDS 0 skips build + compile.
local qs = require("quicksilver")
local target, rows, gets, builds = arg[1], tonumber(arg[2]), tonumber(arg[3]), tonumber(arg[4])
local now = require("quicksilver.core").now
local is_url = target:find("://", 1, true) ~= nil
local engine = qs.create_engine(is_url and target or "sqlite:///" .. target)
local md = qs.MetaData()
local item = qs.Table("item", md,
  qs.Column("id", qs.Integer, {primary_key = true}),
  qs.Column("name", qs.String(40), {nullable = false}),
  qs.Column("qty", qs.Integer), qs.Column("price", qs.Float), qs.Column("note", qs.String(100)))
if is_url then md:drop_all(engine) end
md:create_all(engine)
local params = {}
for i = 1, rows do params[i] = {name = "item " .. i, qty = i, price = i * 0.5, note = "a note"} end
collectgarbage()   -- each workload starts on a collected heap (every script does)
local t0 = now()
engine:begin(function(conn) conn:execute(qs.insert(item), params) end)
print(string.format("insert %.6f", now() - t0))
-- every workload starts on a collected heap, off the clock (each script
-- does the same): the rows' parameters are a workload's, not the next one's
params = nil
collectgarbage()
local c = item.c
engine:connect(function(conn)
  t0 = now()
  local sum = 0
  for row in conn:execute(qs.select(item)):iter() do
    sum = sum + row.id + row.qty
    local _ = row.name, row.price, row.note
  end
  print(string.format("load %.6f", now() - t0))
  collectgarbage()
  t0 = now()
  for i = 1, gets do
    local r = conn:execute(qs.select(item):where(c.id:eq((i * 7919) % rows + 1))):first()
    sum = sum + r.qty
  end
  print(string.format("get %.6f", now() - t0))
end)
if builds > 0 then
  collectgarbage()
  t0 = now()
  for i = 1, builds do
    qs.select(c.id, c.name):where(c.name:eq("item " .. i), c.qty:gt(i)):order_by(c.id):limit(10):compile()
  end
  print(string.format("build_compile %.6f", now() - t0))
end
engine:dispose()
