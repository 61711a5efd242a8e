-- bench/run.lua: `make bench`. Runs the same workloads through each contender,
-- one process per contender per round, rounds interleaved (A B C D A B C D ...)
-- so that machine noise spreads evenly; prints medians and ratios and writes
-- docs/PERFORMANCE.md (SQLite) or docs/PERFORMANCE_POSTGRESQL.md with the
-- machine and the versions.
-- Environment: QS_BENCH_ROWS (100000), QS_BENCH_GETS (10000),
-- QS_BENCH_BUILDS (100000), QS_BENCH_UPDATES (10000), QS_BENCH_PARENTS (1000),
-- QS_BENCH_ROUNDS (3); BACKEND (sqlite | postgresql); QS_BENCH_PG_URL, the
-- server for BACKEND=postgresql (bench/run.sh starts one and sets it).
-- BACKEND=async is bench/async/run.lua's (bench/run.sh runs it); its section
-- of docs/PERFORMANCE.md is kept when the SQLite run rewrites the rest, and
-- so is BACKEND=streaming's (bench/streaming/run.lua).
local ROWS = tonumber(os.getenv("QS_BENCH_ROWS")) or 100000
local GETS = tonumber(os.getenv("QS_BENCH_GETS")) or 10000
local BUILDS = tonumber(os.getenv("QS_BENCH_BUILDS")) or 100000
local UPDATES = math.min(ROWS, tonumber(os.getenv("QS_BENCH_UPDATES")) or 10000)
local PARENTS = math.min(math.max(1, math.floor(ROWS / 10)), tonumber(os.getenv("QS_BENCH_PARENTS")) or 1000)
local ROUNDS = tonumber(os.getenv("QS_BENCH_ROUNDS")) or 3
local BUILD = os.getenv("BUILD") or "build"
local LUA = os.getenv("LUA") or "lua5.4"
local BACKEND = os.getenv("BACKEND") or ""
if BACKEND == "" then BACKEND = "sqlite" end
local PG_URL = os.getenv("QS_BENCH_PG_URL")

local paths = "LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='" .. BUILD ..
  "/?.so;/usr/lib/x86_64-linux-gnu/lua/5.4/?.so;;' "
local PY = "/usr/bin/python3 "

-- Each contender: cmd(target) is its command line; after (ORM only) the
-- commands run on the file its timed run left, each in a fresh process
-- (peak RSS must belong to that mode alone).
local support = dofile("bench/support.lua")
local run, sh, median, fmt = support.run, support.sh, support.median, support.fmt

local function orm_args(target, mode)
  return string.format(" %s %d %d %d %d %s", target, ROWS, GETS, UPDATES, PARENTS, mode)
end
local SQLITE_CONTENDERS = {
  {name = "raw C (sqlite3 API)", key = "raw",
   cmd = function(t) return string.format("%s/bench/raw_sqlite %s %d %d", BUILD, t, ROWS, GETS) end},
  {name = "LuaSQL (lua-sql-sqlite3)", key = "luasql",
   cmd = function(t) return string.format("%s%s bench/core/luasql_core.lua %s %d %d", paths, LUA, t, ROWS, GETS) end},
  {name = "SQLAlchemy 1.4 Core", key = "sqlalchemy",
   cmd = function(t) return string.format("%sbench/core/sqlalchemy_core.py %s %d %d %d", PY, t, ROWS, GETS, BUILDS) end},
  {name = "quicksilver Core", key = "quicksilver",
   cmd = function(t) return string.format("%s%s bench/core/quicksilver_core.lua %s %d %d %d", paths, LUA, t, ROWS, GETS, BUILDS) end},
  {name = "SQLAlchemy 1.4 ORM", key = "sa_orm",
   cmd = function(t) return PY .. "bench/orm/sqlalchemy_orm.py" .. orm_args(t, "time") end,
   after = {function(t) return PY .. "bench/orm/sqlalchemy_orm.py" .. orm_args(t, "memory") end,
            function(t) return PY .. "bench/orm/sqlalchemy_orm.py" .. orm_args(t, "baseline") end}},
  {name = "quicksilver ORM", key = "qs_orm",
   cmd = function(t) return paths .. LUA .. " bench/orm/quicksilver_orm.lua" .. orm_args(t, "time") end,
   after = {function(t) return paths .. LUA .. " bench/orm/quicksilver_orm.lua" .. orm_args(t, "memory") end,
            function(t) return paths .. LUA .. " bench/orm/quicksilver_orm.lua" .. orm_args(t, "baseline") end}},
}
-- On PostgreSQL: the Core workloads 1-3 (no build + compile: BUILDS 0).
local PG_CONTENDERS = {
  {name = "raw psycopg2", key = "raw",
   cmd = function(t) return string.format("%sbench/core/raw_psycopg2.py %s %d %d", PY, t, ROWS, GETS) end},
  {name = "SQLAlchemy 1.4 Core (psycopg2)", key = "sqlalchemy",
   cmd = function(t) return string.format("%sbench/core/sqlalchemy_core.py %s %d %d 0", PY, t, ROWS, GETS) end},
  {name = "quicksilver Core", key = "quicksilver",
   cmd = function(t) return string.format("%s%s bench/core/quicksilver_core.lua %s %d %d 0", paths, LUA, t, ROWS, GETS) end},
}

local WORKLOADS = {
  {key = "insert", label = string.format("insert %d rows (executemany, one transaction)", ROWS)},
  {key = "load", label = string.format("load %d rows, read every column", ROWS)},
  {key = "get", label = string.format("%d lookups by primary key (select ... where id = ?)", GETS)},
  {key = "build_compile", label = string.format("build + compile one select shape %d times", BUILDS)},
}
local ORM_WORKLOADS = {
  {key = "orm_insert", core = "insert",
   label = string.format("add %d customers with 10 orders each, commit", math.floor(ROWS / 10))},
  {key = "orm_load", core = "load", label = string.format("load %d objects, read every attribute", ROWS)},
  {key = "orm_update",
   label = string.format("load the first %d objects by id, change one attribute each, commit", UPDATES)},
  {key = "orm_get", core = "get", label = string.format("%d session.get() on a fresh session", GETS)},
  {key = "orm_get_select", core = "get",
   label = string.format("%d session.execute(select(Order).where(id = k)):scalar_one(), one session", GETS)},
  {key = "orm_selectin",
   label = string.format("%d customers with their 10 orders each (selectinload), every order read", PARENTS)},
  {key = "orm_joined",
   label = string.format("%d customers with their 10 orders each (joinedload + unique()), every order read", PARENTS)},
  {key = "orm_lazy",
   label = string.format("%d customers with their 10 orders each (lazy load on access: 1 + %d SELECTs), every order read",
     PARENTS, PARENTS)},
}

-- bench/orm/quicksilver_orm.lua's attribute-read rows (orm_attr_read, plain_read)
local READ_LABEL = string.format("%d reads of loaded column attributes (%d objects x 100 passes x 3)",
  math.min(ROWS, 10000) * 300, math.min(ROWS, 10000))

-- Adds every "workload number" line of out to results[key].
local function collect(results, key, out)
  for w, value in out:gmatch("(%S+) (%d+%.%d+)") do
    local list = results[key][w] or {}
    list[#list + 1] = tonumber(value)
    results[key][w] = list
  end
end

-- A fresh SQLite file name for one process (removed by the caller).
local function new_db()
  local db = os.tmpname()
  os.remove(db)
  return db .. ".db"
end

-- The rounds: every contender once per round, in the same order.
local function measure(contenders, target_of)
  local results = {}   -- contender key -> workload -> list of values
  for _, c in ipairs(contenders) do results[c.key] = {} end
  for round = 1, ROUNDS do
    for _, c in ipairs(contenders) do
      local target, cleanup = target_of()
      collect(results, c.key, run(c.cmd(target)))
      for _, after in ipairs(c.after or {}) do collect(results, c.key, run(after(target))) end
      cleanup()
      io.stderr:write(string.format("round %d/%d %s done\n", round, ROUNDS, c.name))
    end
  end
  return results
end


local function mib(kib) return kib and string.format("%.1f MiB", kib / 1024) or "—" end
local function ratio(a, b) return (a and b) and string.format("%.2f×", a / b) or "—" end


local function machine_line()
  local cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"):gsub("^%s+", "")
  return "Machine: " .. cpu .. ", " .. sh("nproc") .. " cores; " .. sh("uname -sr") .. "."
end

local function sqlalchemy_version()
  return sh("/usr/bin/python3 -c 'import sqlalchemy; print(sqlalchemy.__version__)'")
end

-- Writes lines to path, one a line.
local function write_doc(path, doc)
  local f = assert(io.open(path, "w"))
  f:write(table.concat(doc, "\n"), "\n")
  f:close()
  print("\nwritten to " .. path)
end

-- A printer that also keeps what it printed (the tables go into the doc).
local function table_printer()
  local lines = {}
  return lines, function(s) lines[#lines + 1] = s; print(s) end
end

local function sqlite_tables(results, out)
  out("| workload | raw C | LuaSQL | SQLAlchemy Core | quicksilver Core | quicksilver / raw C | quicksilver / SQLAlchemy | quicksilver / LuaSQL |")
  out("|---|---|---|---|---|---|---|---|")
  for _, w in ipairs(WORKLOADS) do
    local m = {}
    for key in pairs(results) do m[key] = median(results[key][w.key]) end
    out(string.format("| %s | %s | %s | %s | %s | %s | %s | %s |", w.label, fmt(m.raw), fmt(m.luasql),
      fmt(m.sqlalchemy), fmt(m.quicksilver), ratio(m.quicksilver, m.raw), ratio(m.quicksilver, m.sqlalchemy),
      ratio(m.quicksilver, m.luasql)))
  end

  out("")
  out("| ORM workload | SQLAlchemy ORM | quicksilver ORM | quicksilver / SQLAlchemy | quicksilver ORM / quicksilver Core |")
  out("|---|---|---|---|---|")
  for _, w in ipairs(ORM_WORKLOADS) do
    local sa, q = median(results.sa_orm[w.key]), median(results.qs_orm[w.key])
    local core = w.core and median(results.quicksilver[w.core])
    out(string.format("| %s | %s | %s | %s | %s |", w.label, fmt(sa), fmt(q), ratio(q, sa), ratio(q, core)))
  end

  out("")
  out("| attribute read (micro) | quicksilver ORM object | plain Lua table | object / plain table |")
  out("|---|---|---|---|")
  local ar, pr = median(results.qs_orm.orm_attr_read), median(results.qs_orm.plain_read)
  out(string.format("| %s | %s | %s | %s |", READ_LABEL, fmt(ar), fmt(pr), ratio(ar, pr)))

  out("")
  out("| peak RSS (VmHWM) | quicksilver ORM | SQLAlchemy ORM | quicksilver / SQLAlchemy |")
  out("|---|---|---|---|")
  local qb, sb = median(results.qs_orm.mem_base), median(results.sa_orm.mem_base)
  local qp, sp = median(results.qs_orm.mem_peak), median(results.sa_orm.mem_peak)
  out(string.format("| idle process: imports, models, engine, one session.get() | %s | %s | %s |",
    mib(qb), mib(sb), ratio(qb, sb)))
  out(string.format("| load %d orders as objects, read every attribute | %s | %s | %s |",
    ROWS, mib(qp), mib(sp), ratio(qp, sp)))
  local qd, sd = qp and qb and qp - qb, sp and sb and sp - sb
  out(string.format("| the objects' own cost (load minus idle) | %s | %s | %s |", mib(qd), mib(sd), ratio(qd, sd)))
end

local SQLITE_NOTES = {
  "",
  "Notes:",
  "- The targets of issue 12, the before/after figures of each optimisation and where the time goes:",
  "  the optimisation log below.",
  "- Every timed workload starts on a collected heap (`collectgarbage()` in Lua, `gc.collect()` in",
  "  Python, off the clock): each row times its own work, including collecting what it allocates.",
  "- LuaSQL has no bound parameters: its workloads format values into SQL text (escaped), which is",
  "  what Lua code on LuaSQL does today; it has no statement builder, so no build + compile row.",
  "- SQLAlchemy's build + compile goes through its compiled cache (`_compile_w_cache`), as execution",
  "  does; quicksilver's through its structural cache (docs/ARCHITECTURE.md).",
  "- ORM workloads: a customer table and an orders table (rows/10 customers, 10 orders each),",
  "  written in each ORM's ordinary style (add, commit; select(Model); session.get; selectinload).",
  "  Every ORM row runs in a new session; one process runs them all, in the order of the table.",
  "  The last column compares with the Core workload that moves the same rows (insert: executemany",
  "  of rows; load: rows read; get: Core lookups by key).",
  string.format("- ORM update: `select(Order).order_by(Order.id).limit(%d)` in a new session, `qty` changed",
    UPDATES),
  "  on each object, one commit (the flush writes one UPDATE per object).",
  "- Attribute read: one loop reads `o.qty + o.customer_id + o.id` of loaded Order objects (100",
  "  passes), then the same loop over plain Lua tables with the same five fields; issue 22's target is",
  "  object / plain table <= 2x (a loaded value is found through the object's metatable, its value",
  "  table, with no function call: orm/attributes.lua).",
  string.format("- ORM lookups: the same %d distinct keys as the Core lookups, in one session. `session.get`",
    GETS),
  "  builds nothing; the select row builds `select(Order).where(Order.id == k)` per lookup (quicksilver:",
  "  `qs.select(Order):where(Order.id:eq(k))`) and calls `session.execute(...).scalar_one()`.",
  string.format("- Relationship rows: customers with id <= %d (the first %d), their orders loaded by", PARENTS, PARENTS),
  "  `selectinload(Customer.orders)` (one SELECT ... IN per 500 customers), by",
  "  `joinedload(Customer.orders)` with `.unique()` (one LEFT OUTER JOIN), or lazily (no option: the",
  "  first access of `c.orders` runs one SELECT per customer, the N+1 case). Each row then reads",
  "  `c.name` and every attribute of every order. The customers are chosen by WHERE, not LIMIT:",
  "  quicksilver loads a joinedload under LIMIT by selectin instead. Before these rows each script",
  "  creates an index on `orders.customer_id` (untimed, both ORMs): without it each lazy SELECT",
  "  scans the whole orders table and the row would time SQLite.",
  string.format("- Peak RSS: VmHWM from /proc/self/status, median of %d processes each. The load row is a", ROUNDS),
  string.format("  fresh process that opens the file a timed run left, loads all %d orders with", ROWS),
  "  `select(Order)` into a list and reads every attribute, then reads VmHWM with the list alive. The",
  "  idle row is a fresh process that imports, declares the models, creates the engine and runs one",
  "  `session.get(Order, 1)` (so the driver, the connection and the mapper are set up), then reads",
  "  VmHWM. Lua's peak includes garbage its incremental collector had not yet reclaimed, Python's",
  "  what reference counting had not freed; both are what the process costs the machine.",
}

local function write_sqlite(results, lines)
  local doc = {
    "# Performance",
    "",
    "Written by `make bench` (bench/run.lua); do not edit by hand. Medians of " .. ROUNDS ..
      " rounds, each contender in its own process, rounds interleaved. Every contender",
    "runs the same workloads on a fresh SQLite file with SQLite's default settings. Lower is better;",
    "a ratio below 1 means quicksilver is faster (or smaller).",
    "",
    machine_line(),
    "Versions: " .. sh(LUA .. " -v") .. "; SQLite " .. sh("sqlite3 --version | cut -d' ' -f1") ..
      "; " .. sh("/usr/bin/python3 --version") .. " with SQLAlchemy " .. sqlalchemy_version() ..
      "; LuaSQL from Debian " .. sh("dpkg-query -W -f='${Version}' lua-sql-sqlite3") .. ".",
    "",
  }
  for _, l in ipairs(lines) do doc[#doc + 1] = l end
  for _, l in ipairs(SQLITE_NOTES) do doc[#doc + 1] = l end
  -- the hand-written optimisation log goes under the tables
  local f = io.open("bench/performance_log.md")
  if f then
    doc[#doc + 1] = ""
    doc[#doc + 1] = (f:read("*a"):gsub("%s+$", ""))
    f:close()
  end
  -- the non-blocking section (make bench BACKEND=async) is kept as it was
  f = io.open("docs/PERFORMANCE.md")
  if f then
    local old = f:read("*a")
    f:close()
    local section = old:match("<!%-%- async:begin.-<!%-%- async:end %-%->")
    if section then
      doc[#doc + 1] = ""
      doc[#doc + 1] = section
    end
    -- and the streaming one (make bench BACKEND=streaming)
    section = old:match("<!%-%- streaming:begin.-<!%-%- streaming:end %-%->")
    if section then
      doc[#doc + 1] = ""
      doc[#doc + 1] = section
    end
  end
  write_doc("docs/PERFORMANCE.md", doc)
end

local function pg_table(results, out)
  out("| workload | raw psycopg2 | SQLAlchemy Core | quicksilver Core | quicksilver / psycopg2 | quicksilver / SQLAlchemy |")
  out("|---|---|---|---|---|---|")
  for i = 1, 3 do
    local w, m = WORKLOADS[i], {}
    for key in pairs(results) do m[key] = median(results[key][w.key]) end
    out(string.format("| %s | %s | %s | %s | %s | %s |", w.label, fmt(m.raw), fmt(m.sqlalchemy),
      fmt(m.quicksilver), ratio(m.quicksilver, m.raw), ratio(m.quicksilver, m.sqlalchemy)))
  end
end

local function write_pg(lines)
  local doc = {
    "# Performance on PostgreSQL",
    "",
    "Written by `make bench BACKEND=postgresql` (bench/run.sh, bench/run.lua); do not edit by hand.",
    "Medians of " .. ROUNDS .. " rounds, each contender in its own process, rounds interleaved. Lower is",
    "better; a ratio below 1 means quicksilver is faster. The SQLite numbers and the ORM are in",
    "docs/PERFORMANCE.md.",
    "",
    machine_line(),
    "Versions: " .. sh(LUA .. " -v") .. "; " .. sh("/usr/lib/postgresql/15/bin/postgres --version") ..
      "; libpq " .. sh("pg_config --version 2>/dev/null || echo '?'") .. "; " .. sh("/usr/bin/python3 --version") ..
      " with psycopg2 " .. sh("/usr/bin/python3 -c 'import psycopg2; print(psycopg2.__version__.split()[0])'") ..
      " and SQLAlchemy " .. sqlalchemy_version() .. ".",
    "Server: a throwaway PostgreSQL on the same machine, over TCP on 127.0.0.1, started by",
    "spec/support/servers.sh (fsync, synchronous_commit and full_page_writes off: the numbers are the",
    "clients' and the protocol's, not the disk's).",
    "",
  }
  for _, l in ipairs(lines) do doc[#doc + 1] = l end
  for _, l in ipairs({
    "",
    "Notes:",
    "- Same table and values as the SQLite Core workloads: `item (id SERIAL PRIMARY KEY, name",
    "  VARCHAR(40) NOT NULL, qty INTEGER, price FLOAT, note VARCHAR(100))`, dropped and created by",
    "  each process before its clock starts; every process inserts into an empty table.",
    "- raw psycopg2 inserts with `psycopg2.extras.execute_values` (multi-row INSERT ... VALUES, 1,000",
    "  rows a statement), which is what SQLAlchemy 1.4's psycopg2 dialect does for executemany by",
    "  default (`executemany_mode='values_only'`); plain `cursor.executemany` would be one round trip",
    "  per row. It reads through an ordinary client-side cursor (no server-side cursor) and looks",
    "  rows up with `cursor.execute` + `fetchone` (psycopg2 interpolates parameters client-side).",
    "- SQLAlchemy Core: `conn.execute(insert(item), list)`, `select(item)` iterated, and",
    "  `select(item).where(item.c.id == k).first()`, as on SQLite.",
    "- quicksilver Core: the same statements through its own libpq driver",
    "  (`postgresql://` URL); its executemany and lookups are its defaults (docs/ARCHITECTURE.md).",
    string.format("- Lookups: %d distinct keys `(i * 7919) %% rows + 1`, one round trip each.", GETS),
  }) do doc[#doc + 1] = l end
  write_doc("docs/PERFORMANCE_POSTGRESQL.md", doc)
end

local function main()
  local lines, out = table_printer()
  if BACKEND == "sqlite" then
    local results = measure(SQLITE_CONTENDERS, function()
      local db = new_db()
      return db, function() os.remove(db) end
    end)
    sqlite_tables(results, out)
    write_sqlite(results, lines)
  elseif BACKEND == "postgresql" then
    assert(PG_URL, "BACKEND=postgresql needs QS_BENCH_PG_URL (make bench BACKEND=postgresql starts a server)")
    local results = measure(PG_CONTENDERS, function() return PG_URL, function() end end)
    pg_table(results, out)
    write_pg(lines)
  else
    error("BACKEND must be sqlite or postgresql, not " .. BACKEND)
  end
end

main()
