-- game_loop.lua: a game server's tick loop that keeps ticking while database
-- queries run in other coroutines (docs/ASYNC.md walks through it).
--
--   lua5.4 examples/game_loop.lua                         embedded SQLite (blocking: still correct)
--   lua5.4 examples/game_loop.lua postgresql://u@host/db  or QS_GAME_URL=...: queries yield
--
-- The host owns the loop: 20 times a second it moves the players, and in
-- between it gives the scheduler (quicksilver.async.loop) the time left
-- until the next tick. Each query runs in a coroutine of that scheduler;
-- while the server works on it, the coroutine is suspended and the ticks go on.
local qs = require("quicksilver")
local loop = require("quicksilver.async.loop")
local now = require("quicksilver.core").now   -- a monotonic clock, in seconds

local url = arg and arg[1] or os.getenv("QS_GAME_URL")
if not url or url == "" then
  local path = os.getenv("QS_DEMO_DB") or "game_loop.db"
  os.remove(path)
  url = "sqlite:///" .. path
end

local TICK = 1 / 20        -- 20 Hz
local TICKS = 30           -- 1.5 s of game
local sched = loop.new()
local engine = qs.create_engine(url, {waiter = loop.waiter, pool_size = 4})
local backend = engine.dialect.name

-- A statement that keeps the server busy for a while (the "slow report"):
-- the server sleeps; SQLite, in the same thread, has nothing to wait for.
local SLOW = {
  postgresql = "SELECT pg_sleep(0.3)",
  mysql = "SELECT SLEEP(0.3)",
}

-- The world: a table of scores, set up before the game starts (on the main
-- thread: no coroutine, so it simply blocks, as any code without a waiter).
local scores = qs.Table("game_scores", qs.MetaData(),
  qs.Column("player", qs.String(20), {primary_key = true}),
  qs.Column("points", qs.Integer, {nullable = false}))
local PLAYERS = {"ada", "bjarne", "grace", "linus"}
engine:begin(function(conn)
  scores:drop(conn, {checkfirst = true})
  scores:create(conn)
  for _, name in ipairs(PLAYERS) do
    conn:execute(qs.insert(scores), {player = name, points = 0})
  end
end)

-- The players' state lives in Lua; the ticks only touch that.
local pos = {}
for i, name in ipairs(PLAYERS) do pos[name] = i * 10 end

local ticks, late = 0, 0
local function tick(n)
  for _, name in ipairs(PLAYERS) do pos[name] = pos[name] + 1 end
  if n % 5 == 0 then
    print(string.format("tick %2d  players at %d %d %d %d", n, pos.ada, pos.bjarne, pos.grace, pos.linus))
  end
end

-- The queries: each player scores and reads the leader board; one slow
-- report runs alongside. Every coroutine checks out its own connection.
for i, name in ipairs(PLAYERS) do
  sched:spawn(function()
    engine:begin(function(conn)
      conn:execute(qs.update(scores):where(scores.c.player:eq(name)):values({points = scores.c.points + i * 10}))
    end)
    engine:connect(function(conn)
      local best = conn:execute(qs.select(scores.c.player, scores.c.points)
        :order_by(scores.c.points:desc(), scores.c.player):limit(1)):first()
      print(string.format("query  %-6s scored %d; leader so far: %s (%d)", name, i * 10, best.player, best.points))
    end)
  end)
end
sched:spawn(function()
  local t0 = now()
  engine:connect(function(conn)
    if SLOW[backend] then conn:execute(qs.text(SLOW[backend])) end
    local total = conn:execute(qs.select(qs.func.sum(scores.c.points))):scalar()
    print(string.format("report total points %d (%.2f s)", total, now() - t0))
  end)
end)

-- The host's loop: tick on time, give the scheduler what is left of each tick.
local start = now()
local next_tick = start + TICK
while ticks < TICKS do
  local left = next_tick - now()
  if left > 0 then sched:step(left) end
  if now() >= next_tick then
    ticks = ticks + 1
    if now() - next_tick > TICK then late = late + 1 end   -- a whole tick behind
    tick(ticks)
    next_tick = next_tick + TICK
  end
end
sched:run()   -- whatever is still running finishes (nothing, normally)

local elapsed = now() - start
print(string.format("%s: %d ticks in %.2f s (%d late); queries still running: %d", backend, ticks, elapsed,
  late, sched:pending()))
engine:connect(function(conn)
  for row in conn:execute(qs.select(scores):order_by(scores.c.player)):iter() do
    print(string.format("  %-6s %3d", row.player, row.points))
  end
  scores:drop(conn)
  conn:commit()
end)
engine:dispose()
