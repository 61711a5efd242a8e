-- quicksilver_orm.lua: the ORM workloads through quicksilver's ORM.
-- Usage: lua5.4 quicksilver_orm.lua FILE ROWS GETS
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local path, rows, gets = arg[1], tonumber(arg[2]), tonumber(arg[3])
local now = require("quicksilver.core").now
local engine = qs.create_engine("sqlite:///" .. path)
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
Base.metadata:create_all(engine)
local ncust = math.max(1, math.floor(rows / 10))

-- rows/10 customers with 10 orders each, added and flushed in one commit
local s = orm.Session(engine)
local t0 = now()
for i = 1, ncust do
  local c = Customer({name = "customer " .. i})
  local list = {}
  for j = 1, 10 do list[j] = Order({qty = j, price = j * 0.5, note = "a note"}) end
  c.orders = list
  s:add(c)
end
s:commit()
print(string.format("orm_insert %.6f", now() - t0))
s:close()

-- load every order as an object, read every attribute
s = orm.Session(engine)
t0 = now()
local sum = 0
for _, o in ipairs(s:scalars(qs.select(Order)):all()) do
  sum = sum + o.id + o.qty
  local _ = o.price, o.note, o.customer_id
end
print(string.format("orm_load %.6f", now() - t0))

-- change every order, flush the UPDATEs
t0 = now()
for _, o in ipairs(s:scalars(qs.select(Order)):all()) do o.qty = o.qty + 1 end
s:commit()
print(string.format("orm_update %.6f", now() - t0))
s:close()

-- session.get on a fresh session: one SELECT each
s = orm.Session(engine)
t0 = now()
for i = 1, gets do
  local o = s:get(Order, (i * 7919) % rows + 1)
  sum = sum + o.qty
end
print(string.format("orm_get %.6f", now() - t0))
s:close()

-- customers with their orders: selectin loading
s = orm.Session(engine)
t0 = now()
local n = 0
for _, c in ipairs(s:scalars(qs.select(Customer):options(orm.selectinload(Customer.orders))):all()) do
  n = n + #c.orders
end
print(string.format("orm_selectin %.6f", now() - t0))
s:close()
engine:dispose()
