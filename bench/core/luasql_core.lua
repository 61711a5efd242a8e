-- luasql_core.lua: what Lua users have today, LuaSQL (Debian lua-sql-sqlite3).
-- No bound parameters: values are formatted into SQL with escaping.
-- Usage: lua5.4 luasql_core.lua FILE ROWS GETS
local driver = require("luasql.sqlite3")
local path, rows, gets = arg[1], tonumber(arg[2]), tonumber(arg[3])
local now = require("quicksilver.core").now
local env = driver.sqlite3()
local conn = assert(env:connect(path))
assert(conn:execute("CREATE TABLE item (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL, " ..
  "qty INTEGER, price FLOAT, note VARCHAR(100))"))
collectgarbage()   -- each workload starts on a collected heap (every script does)
local t0 = now()
conn:setautocommit(false)
for i = 1, rows do
  assert(conn:execute(string.format("INSERT INTO item (name, qty, price, note) VALUES ('%s', %d, %.17g, '%s')",
    conn:escape("item " .. i), i, i * 0.5, conn:escape("a note"))))
end
conn:commit()
print(string.format("insert %.6f", now() - t0))
collectgarbage()   -- each workload starts on a collected heap (every script does)
t0 = now()
local cur = conn:execute("SELECT id, name, qty, price, note FROM item")
local sum = 0
local row = cur:fetch({}, "a")
while row do
  sum = sum + row.id + row.qty
  local _ = row.name, row.price, row.note
  row = cur:fetch(row, "a")
end
cur:close()
print(string.format("load %.6f", now() - t0))
collectgarbage()
t0 = now()
for i = 1, gets do
  local c = conn:execute(string.format("SELECT id, name, qty, price, note FROM item WHERE id = %d", (i * 7919) % rows + 1))
  local r = c:fetch({}, "a")
  sum = sum + r.qty
  c:close()
end
print(string.format("get %.6f", now() - t0))
conn:close()
env:close()
