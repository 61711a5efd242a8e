-- bench/run.lua: `make bench`. Runs the same workloads through each contender,
-- one process per contender per round, rounds interleaved (A B C D A B C D ...)
-- so that machine noise spreads evenly; prints medians and ratios and writes
-- docs/PERFORMANCE.md with the machine and the versions.
-- Environment: QS_BENCH_ROWS (100000), QS_BENCH_GETS (10000),
-- QS_BENCH_BUILDS (100000), QS_BENCH_ROUNDS (3).
local ROWS = tonumber(os.getenv("QS_BENCH_ROWS")) or 100000
local GETS = tonumber(os.getenv("QS_BENCH_GETS")) or 10000
local BUILDS = tonumber(os.getenv("QS_BENCH_BUILDS")) or 100000
local ROUNDS = tonumber(os.getenv("QS_BENCH_ROUNDS")) or 3
local BUILD = os.getenv("BUILD") or "build"
local LUA = os.getenv("LUA") or "lua5.4"

local paths = "LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='" .. BUILD ..
  "/?.so;/usr/lib/x86_64-linux-gnu/lua/5.4/?.so;;' "

local contenders = {
  {name = "raw C (sqlite3 API)", key = "raw", cmd = BUILD .. "/bench/raw_sqlite %s %d %d"},
  {name = "LuaSQL (lua-sql-sqlite3)", key = "luasql", cmd = paths .. LUA .. " bench/core/luasql_core.lua %s %d %d"},
  {name = "SQLAlchemy 1.4 Core", key = "sqlalchemy", cmd = "/usr/bin/python3 bench/core/sqlalchemy_core.py %s %d %d %d"},
  {name = "quicksilver Core", key = "quicksilver", cmd = paths .. LUA .. " bench/core/quicksilver_core.lua %s %d %d %d"},
  {name = "SQLAlchemy 1.4 ORM", key = "sa_orm", cmd = "/usr/bin/python3 bench/orm/sqlalchemy_orm.py %s %d %d"},
  {name = "quicksilver ORM", key = "qs_orm", cmd = paths .. LUA .. " bench/orm/quicksilver_orm.lua %s %d %d"},
}
local WORKLOADS = {
  {key = "insert", label = string.format("insert %d rows (executemany, one transaction)", ROWS)},
  {key = "load", label = string.format("load %d rows, read every column", ROWS)},
  {key = "get", label = string.format("%d lookups by primary key (select ... where id = ?)", GETS)},
  {key = "build_compile", label = string.format("build + compile one select shape %d times", BUILDS)},
}
local ORM_WORKLOADS = {
  {key = "orm_insert", label = string.format("add %d customers with 10 orders each, commit", math.floor(ROWS / 10))},
  {key = "orm_load", label = string.format("load %d objects, read every attribute", ROWS)},
  {key = "orm_update", label = string.format("load %d objects, change one attribute each, commit", ROWS)},
  {key = "orm_get", label = string.format("%d session.get() on a fresh session", GETS)},
  {key = "orm_selectin", label = string.format("%d customers with their orders (selectinload)", math.floor(ROWS / 10))},
}

local function run(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("*a")
  local ok = p:close()
  if not ok then error("benchmark failed: " .. cmd .. "\n" .. out) end
  return out
end

local results = {}   -- contender key -> workload -> list of seconds
for _, c in ipairs(contenders) do results[c.key] = {} end
for round = 1, ROUNDS do
  for _, c in ipairs(contenders) do
    local db = os.tmpname()
    os.remove(db)
    db = db .. ".db"
    local out = run(string.format(c.cmd, db, ROWS, GETS, BUILDS))
    os.remove(db)
    for w, secs in out:gmatch("(%S+) (%d+%.%d+)") do
      local list = results[c.key][w] or {}
      list[#list + 1] = tonumber(secs)
      results[c.key][w] = list
    end
    io.stderr:write(string.format("round %d/%d %s done\n", round, ROUNDS, c.name))
  end
end

local function median(list)
  if not list or #list == 0 then return nil end
  table.sort(list)
  local n = #list
  if n % 2 == 1 then return list[(n + 1) / 2] end
  return (list[n / 2] + list[n / 2 + 1]) / 2
end

local function fmt(s) return s and string.format("%.3f s", s) or "—" end
local function ratio(a, b) return (a and b) and string.format("%.2f×", a / b) or "—" end

local lines = {}
local function out(s) lines[#lines + 1] = s; print(s) end
out("| workload | raw C | LuaSQL | SQLAlchemy Core | quicksilver Core | quicksilver / raw C | quicksilver / SQLAlchemy | quicksilver / LuaSQL |")
out("|---|---|---|---|---|---|---|---|")
for _, w in ipairs(WORKLOADS) do
  local m = {}
  for _, c in ipairs(contenders) do m[c.key] = median(results[c.key][w.key]) end
  out(string.format("| %s | %s | %s | %s | %s | %s | %s | %s |", w.label, fmt(m.raw), fmt(m.luasql),
    fmt(m.sqlalchemy), fmt(m.quicksilver), ratio(m.quicksilver, m.raw), ratio(m.quicksilver, m.sqlalchemy),
    ratio(m.quicksilver, m.luasql)))
end

out("")
out("| ORM workload | SQLAlchemy ORM | quicksilver ORM | quicksilver / SQLAlchemy | quicksilver ORM / quicksilver Core |")
out("|---|---|---|---|---|")
local core_of = {orm_insert = "insert", orm_load = "load", orm_get = "get"}
for _, w in ipairs(ORM_WORKLOADS) do
  local sa, q = median(results.sa_orm[w.key]), median(results.qs_orm[w.key])
  local core = core_of[w.key] and median(results.quicksilver[core_of[w.key]])
  out(string.format("| %s | %s | %s | %s | %s |", w.label, fmt(sa), fmt(q), ratio(q, sa), ratio(q, core)))
end

local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local s = p:read("*a"):gsub("%s+$", "")
  p:close()
  return s
end
local cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"):gsub("^%s+", "")
local doc = {
  "# Performance",
  "",
  "Written by `make bench` (bench/run.lua); do not edit by hand. Medians of " .. ROUNDS ..
    " rounds, each contender in its own process, rounds interleaved. Every contender",
  "runs the same workloads on a fresh SQLite file with SQLite's default settings. Lower is better;",
  "a ratio below 1 means quicksilver is faster.",
  "",
  "Machine: " .. cpu .. ", " .. sh("nproc") .. " cores; " .. sh("uname -sr") .. ".",
  "Versions: " .. sh(LUA .. " -v") .. "; SQLite " .. sh("sqlite3 --version | cut -d' ' -f1") ..
    "; " .. sh("/usr/bin/python3 --version") .. " with SQLAlchemy " ..
    sh("/usr/bin/python3 -c 'import sqlalchemy; print(sqlalchemy.__version__)'") .. "; LuaSQL from Debian " ..
    sh("dpkg-query -W -f='${Version}' lua-sql-sqlite3") .. ".",
  "",
}
for _, l in ipairs(lines) do doc[#doc + 1] = l end
for _, l in ipairs({
  "",
  "Notes:",
  "- LuaSQL has no bound parameters: its workloads format values into SQL text (escaped), which is",
  "  what Lua code on LuaSQL does today; it has no statement builder, so no build + compile row.",
  "- SQLAlchemy's build + compile goes through its compiled cache (`_compile_w_cache`), as execution",
  "  does; quicksilver's through its structural cache (docs/ARCHITECTURE.md).",
  "- ORM workloads: a customer table and an orders table (rows/10 customers, 10 orders each),",
  "  written in each ORM's ordinary style (add, commit; select(Model); session.get; selectinload).",
  "  The last column compares with the Core workload that moves the same rows (insert: executemany",
  "  of rows; load: rows read; get: Core lookups by key).",
}) do doc[#doc + 1] = l end
local f = assert(io.open("docs/PERFORMANCE.md", "w"))
f:write(table.concat(doc, "\n"), "\n")
f:close()
print("\nwritten to docs/PERFORMANCE.md")
