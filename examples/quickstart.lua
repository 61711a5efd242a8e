-- quickstart.lua: the Core on an embedded SQLite file, end to end.
-- Run with `make demo` (or lua5.4 examples/quickstart.lua with the paths set).
local qs = require("quicksilver")

local path = os.getenv("QS_DEMO_DB") or "quickstart.db"
os.remove(path)
local engine = qs.create_engine("sqlite:///" .. path)
print("engine: " .. tostring(engine))

-- A table, created in one transaction.
engine:begin(function(conn)
  conn:execute(qs.text([[
    CREATE TABLE crew (
      id      INTEGER PRIMARY KEY,
      name    TEXT NOT NULL UNIQUE,
      role    TEXT NOT NULL,
      bounty  INTEGER
    )]]))
end)

-- Rows, inserted with bound parameters: one, then many in one executemany.
engine:begin(function(conn)
  conn:execute(qs.text("INSERT INTO crew (name, role, bounty) VALUES (:name, :role, :bounty)"),
    {name = "Monkey D. Luffy", role = "captain", bounty = 3000000000})
  local r = conn:execute(qs.text("INSERT INTO crew (name, role, bounty) VALUES (:name, :role, :bounty)"), {
    {name = "Roronoa Zoro", role = "swordsman", bounty = 1111000000},
    {name = "Nami", role = "navigator", bounty = 366000000},
    {name = "Usopp", role = "sniper", bounty = 500000000},
    {name = "Sanji", role = "cook", bounty = 1032000000},
    {name = "Tony Tony Chopper", role = "doctor", bounty = qs.null},
  })
  print(string.format("inserted %d more crew members", r.rowcount))
end)

-- Queries: values travel as parameters, never inside the SQL text.
engine:connect(function(conn)
  print("\ncrew with a bounty above 800,000,000:")
  local rows = conn:execute(qs.text(
    "SELECT name, role, bounty FROM crew WHERE bounty > :min ORDER BY bounty DESC"),
    {min = 800000000})
  for row in rows:iter() do
    print(string.format("  %-18s %-10s %14d", row.name, row.role, row.bounty))
  end

  local nobounty = conn:execute(qs.text("SELECT name FROM crew WHERE bounty IS NULL")):scalar()
  print("no bounty yet: " .. nobounty)

  -- A hostile-looking value is just a value.
  local evil = "x'); DROP TABLE crew; --"
  local n = conn:execute(qs.text("SELECT count(*) FROM crew WHERE name = :name"), {name = evil}):scalar()
  print(string.format("rows named %q: %d (and the table is still there)", evil, n))
end)

-- A savepoint: work inside it is undone, work around it kept.
engine:connect(function(conn)
  conn:execute(qs.text("UPDATE crew SET bounty = bounty + 1 WHERE name = :n"), {n = "Usopp"})
  local sp = conn:begin_nested()
  conn:execute(qs.text("DELETE FROM crew"))
  print(string.format("\ninside the savepoint: %d crew",
    conn:execute(qs.text("SELECT count(*) FROM crew")):scalar()))
  sp:rollback()
  print(string.format("after rolling it back: %d crew",
    conn:execute(qs.text("SELECT count(*) FROM crew")):scalar()))
  conn:commit()
end)

-- Errors are qs.exc objects; a failed transaction leaves nothing behind.
local ok, err = pcall(engine.begin, engine, function(conn)
  conn:execute(qs.text("INSERT INTO crew (name, role) VALUES ('Nico Robin', 'archaeologist')"))
  conn:execute(qs.text("INSERT INTO crew (name, role) VALUES ('Nami', 'duplicate')"))
end)
print(string.format("\nduplicate insert: %s (%s)", ok and "succeeded?!" or err.name, err.message))
print("Nico Robin rolled back with it: " .. tostring(engine:connect(function(conn)
  return conn:execute(qs.text("SELECT count(*) FROM crew WHERE name = 'Nico Robin'")):scalar() == 0
end)))

local usopp = engine:connect(function(conn)
  return conn:execute(qs.text("SELECT bounty FROM crew WHERE name = 'Usopp'")):scalar()
end)
print(string.format("Usopp's bounty after the committed update: %d", usopp))

engine:dispose()
os.remove(path)
print("\ndone.")
