-- quicksilver_orm.lua: the ORM workloads through quicksilver's ORM.
-- Usage: lua5.4 quicksilver_orm.lua FILE ROWS GETS UPDATES PARENTS [MODE]
--   MODE "time" (default): the timed workloads on a new file, printing
--     "workload seconds" lines; the file is left full (ROWS orders). Among
--     them orm_attr_read / plain_read: 3,000,000 reads (min(ROWS, 10,000)
--     objects x 100 passes x 3 columns) of loaded objects' columns, and the
--     same reads of plain Lua tables with the same fields.
--   MODE "memory": on a file a "time" run left, load every order as an object,
--     read its attributes and print the process's peak RSS ("mem_peak KiB").
--   MODE "baseline": the same process up to the load (imports, models, engine,
--     one session:get) and its peak RSS ("mem_base KiB").
-- Every mode runs in its own process, so that peak RSS is this mode's alone.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local now = require("quicksilver.core").now

local path, rows, gets = arg[1], tonumber(arg[2]), tonumber(arg[3])
local updates, parents = tonumber(arg[4]), tonumber(arg[5])
local mode = arg[6] or "time"
-- the attribute-read rows: READ_ROUNDS passes over READ_OBJECTS objects,
-- three column reads each
local READ_OBJECTS, READ_ROUNDS = math.min(rows, 10000), 100

local Base = orm.declarative_base()
local Customer = Base:model("Customer", {
  __tablename = "customer",
  id = orm.mapped_column(qs.Integer, {primary_key = true}),
  name = orm.mapped_column(qs.String(40), {nullable = false}),
  orders = orm.relationship("Order", {back_populates = "customer"}),
})
local Order = Base:model("Order", {
  __tablename = "orders",
  id = orm.mapped_column(qs.Integer, {primary_key = true}),
  customer_id = orm.mapped_column(qs.ForeignKey("customer.id")),
  qty = orm.mapped_column(qs.Integer), price = orm.mapped_column(qs.Float),
  note = orm.mapped_column(qs.String(100)),
  customer = orm.relationship("Customer", {back_populates = "orders"}),
})
local engine = qs.create_engine("sqlite:///" .. path)

-- Kernel's peak resident set of this process (VmHWM), in KiB.
local function peak_rss_kib()
  local f = assert(io.open("/proc/self/status"))
  local text = f:read("*a")
  f:close()
  return tonumber(text:match("VmHWM:%s*(%d+)"))
end

-- Reads every column attribute of an order (the work a caller does with it).
local function touch(o)
  local _ = o.price, o.note, o.customer_id
  return o.id + o.qty
end

-- Reads every order of every customer in list; returns the number read.
local function touch_children(list)
  local n = 0
  for _, c in ipairs(list) do
    local _ = c.name
    for _, o in ipairs(c.orders) do
      touch(o)
      n = n + 1
    end
  end
  return n
end

-- Times fn(session) on a fresh session and prints "key seconds". The
-- garbage of the workloads before is collected first, off the clock (as
-- the Python script does): each row times its own work, including the
-- collector's work on what it allocates.
local function timed(key, fn)
  collectgarbage()
  local s = orm.Session(engine)
  local t0 = now()
  fn(s)
  print(string.format("%s %.6f", key, now() - t0))
  s:close()
end

local function run_memory()
  local s = orm.Session(engine)
  local sum = 0
  -- the list keeps every object alive while the peak is read
  local all = s:scalars(qs.select(Order)):all()
  for _, o in ipairs(all) do sum = sum + touch(o) end
  assert(#all == rows, "memory: expected " .. rows .. " orders, found " .. #all)
  print(string.format("mem_peak %d.0", peak_rss_kib()))
  s:close()
end

local function run_baseline()
  local s = orm.Session(engine)
  assert(s:get(Order, 1), "baseline: the file has no orders (run mode time first)")
  print(string.format("mem_base %d.0", peak_rss_kib()))
  s:close()
end

local function run_time()
  Base.metadata:create_all(engine)
  local ncust = math.max(1, math.floor(rows / 10))
  local sum = 0

  -- rows/10 customers with 10 orders each, added and flushed in one commit
  timed("orm_insert", function(s)
    for i = 1, ncust do
      local c = Customer({name = "customer " .. i})
      local list = {}
      for j = 1, 10 do list[j] = Order({qty = j, price = j * 0.5, note = "a note"}) end
      c.orders = list
      s:add(c)
    end
    s:commit()
  end)

  -- load every order as an object, read every attribute
  timed("orm_load", function(s)
    for _, o in ipairs(s:scalars(qs.select(Order)):all()) do sum = sum + touch(o) end
  end)

  -- attribute reads, micro: the same loop over loaded objects and over plain
  -- tables holding the same values (the issue's target: a read of a loaded
  -- column costs at most 2x a plain field read)
  do
    local s = orm.Session(engine)
    local objs = s:scalars(qs.select(Order):order_by(Order.id):limit(READ_OBJECTS)):all()
    local plain = {}
    for i, o in ipairs(objs) do
      plain[i] = {id = o.id, customer_id = o.customer_id, qty = o.qty, price = o.price, note = o.note}
    end
    local function reads(key, list)
      collectgarbage()
      local n, acc = #list, 0
      local t0 = now()
      for _ = 1, READ_ROUNDS do
        for i = 1, n do
          local o = list[i]
          acc = acc + o.qty + o.customer_id + o.id
        end
      end
      print(string.format("%s %.6f", key, now() - t0))
      return acc
    end
    sum = sum + reads("orm_attr_read", objs) - reads("plain_read", plain)
    s:close()
  end

  -- the first UPDATES orders by id: load them, change one attribute each,
  -- commit (one UPDATE per object, flushed by the commit)
  timed("orm_update", function(s)
    local stmt = qs.select(Order):order_by(Order.id):limit(updates)
    for _, o in ipairs(s:scalars(stmt):all()) do o.qty = o.qty + 1 end
    s:commit()
  end)

  -- session:get in one fresh session: distinct keys, so one SELECT each
  timed("orm_get", function(s)
    for i = 1, gets do sum = sum + s:get(Order, (i * 7919) % rows + 1).qty end
  end)

  -- the same keys through a select() statement built per lookup
  timed("orm_get_select", function(s)
    for i = 1, gets do
      local k = (i * 7919) % rows + 1
      sum = sum + s:execute(qs.select(Order):where(Order.id:eq(k))):scalar_one().qty
    end
  end)

  -- An index on the foreign key, untimed: without it every lazy SELECT scans
  -- the orders table and the rows below would time SQLite, not the ORM.
  engine:begin(function(conn)
    conn:execute(qs.text("CREATE INDEX ix_orders_customer_id ON orders (customer_id)"))
  end)
  -- the first PARENTS customers with their orders, three ways. WHERE rather
  -- than LIMIT: under LIMIT a joined load falls back to selectin.
  local first = Customer.id:le(parents)
  timed("orm_selectin", function(s)
    touch_children(s:scalars(qs.select(Customer):where(first)
      :options(orm.selectinload(Customer.orders))):all())
  end)
  timed("orm_joined", function(s)
    touch_children(s:scalars(qs.select(Customer):where(first)
      :options(orm.joinedload(Customer.orders))):unique():all())
  end)
  -- lazy: one SELECT per customer at first access of c.orders (N+1)
  timed("orm_lazy", function(s)
    touch_children(s:scalars(qs.select(Customer):where(first)):all())
  end)
  return sum
end

local modes = {time = run_time, memory = run_memory, baseline = run_baseline}
assert(modes[mode], "unknown mode " .. tostring(mode))()
engine:dispose()
