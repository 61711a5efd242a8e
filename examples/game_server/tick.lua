--- tick.lua: a game server's tick loop writing each tick's player changes
--- (positions, inventory) as one transaction per tick: never one statement
--- per change, never one transaction per player.
---
---   lua5.4 tick.lua                                  embedded SQLite (game.db here)
---   QS_DATABASE_URL=postgresql://u@host/db lua5.4 tick.lua
---
--- Two ways, run one after the other on the same world:
---   Core: the tick's changes collected in lists, then one transaction with
---         one executemany per kind of change (UPDATE ... WHERE id = :pid).
---   ORM:  the players are objects kept in one session across ticks; the
---         tick changes their attributes and session:commit() flushes them
---         all (one flush, grouped into executemany's by the unit of work).
--- Each tick prints what it wrote: changes, statements, transactions, time.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local now = require("quicksilver.core").now   -- a monotonic clock, in seconds

local URL = os.getenv("QS_DATABASE_URL") or "sqlite:///game.db"
local PLAYERS = tonumber(os.getenv("QS_PLAYERS") or "200")
local TICKS = tonumber(os.getenv("QS_TICKS") or "5")
local ITEMS = {"arrow", "potion", "gold"}

-- The world ----------------------------------------------------------------------------
local Base = orm.declarative_base()
local Player = Base:model("Player", {
  __tablename = "player",
  id = orm.mapped_column(qs.Integer, {primary_key = true, autoincrement = false}),
  name = orm.mapped_column(qs.String(20), {nullable = false}),
  x = orm.mapped_column(qs.Integer, {nullable = false}),
  y = orm.mapped_column(qs.Integer, {nullable = false}),
  inventory = orm.relationship("Slot", {back_populates = "player", order_by = "Slot.item"}),
})
local Slot = Base:model("Slot", {
  __tablename = "inventory",
  player_id = orm.mapped_column(qs.ForeignKey("player.id"), {primary_key = true}),
  item = orm.mapped_column(qs.String(10), {primary_key = true}),
  qty = orm.mapped_column(qs.Integer, {nullable = false}),
  player = orm.relationship("Player", {back_populates = "inventory"}),
})
local player_t, inventory_t = Player.__table__, Slot.__table__

local engine = qs.create_engine(URL)
Base.metadata:drop_all(engine)
Base.metadata:create_all(engine)

-- What the database was sent: statements (an executemany is one) and commits.
local sent = {statements = 0, commits = 0}
qs.event.listen(engine, "before_cursor_execute", function() sent.statements = sent.statements + 1 end)
qs.event.listen(engine, "commit", function() sent.commits = sent.commits + 1 end)

-- Every player starts at (0, 0) with one of each item: one transaction, two executemany's.
engine:begin(function(conn)
  local players, slots = {}, {}
  for id = 1, PLAYERS do
    players[id] = {id = id, name = "p" .. id, x = 0, y = 0}
    for _, item in ipairs(ITEMS) do slots[#slots + 1] = {player_id = id, item = item, qty = 1} end
  end
  conn:execute(qs.insert(player_t), players)
  conn:execute(qs.insert(inventory_t), slots)
end)

-- The game's own state, as the simulation keeps it (the database follows it).
local world = {}
for id = 1, PLAYERS do world[id] = {x = 0, y = 0, inv = {arrow = 1, potion = 1, gold = 1}} end

-- One tick of simulation: every player moves (both coordinates change: see
-- the README on how the ORM groups rows); every third picks up an item.
-- Returns the changes: moves {pid, nx, ny} and inventory {pid, it, n}.
local function simulate(tick)
  local moves, pickups = {}, {}
  for id = 1, PLAYERS do
    local p = world[id]
    p.x = p.x + ((id + tick) % 2 == 0 and 1 or -1)
    p.y = p.y + ((id * tick) % 3 == 0 and -1 or 1)
    moves[#moves + 1] = {pid = id, nx = p.x, ny = p.y}
    if (id + tick) % 3 == 0 then
      local item = ITEMS[(id + tick) % #ITEMS + 1]
      p.inv[item] = p.inv[item] + 1
      pickups[#pickups + 1] = {pid = id, it = item, n = p.inv[item]}
    end
  end
  return moves, pickups
end

local function report(how, tick, changes, t0, s0, c0)
  print(string.format("%s tick %d: %d changes, %d statements, %d transaction, %.1f ms", how, tick, changes,
    sent.statements - s0, sent.commits - c0, (now() - t0) * 1000))
end

-- Core: one transaction per tick, one executemany per kind of change --------------------
local move = qs.update(player_t):where(player_t.c.id:eq(qs.bindparam("pid")))
  :values({x = qs.bindparam("nx"), y = qs.bindparam("ny")})
local pick = qs.update(inventory_t)
  :where(qs.and_(inventory_t.c.player_id:eq(qs.bindparam("pid")), inventory_t.c.item:eq(qs.bindparam("it"))))
  :values({qty = qs.bindparam("n")})

for tick = 1, TICKS do
  local t0, s0, c0 = now(), sent.statements, sent.commits
  local moves, pickups = simulate(tick)
  engine:begin(function(conn)
    conn:execute(move, moves)
    if #pickups > 0 then conn:execute(pick, pickups) end
  end)
  report("core", tick, #moves + #pickups, t0, s0, c0)
end

-- ORM: the players stay loaded in one session; one flush (one commit) per tick -----------
local session = orm.Session({bind = engine, expire_on_commit = false})
local players = session:scalars(qs.select(Player):options(orm.selectinload(Player.inventory))
  :order_by(Player.id)):all()
local slots = {}   -- slots[id][item]: the Slot object
for _, p in ipairs(players) do
  slots[p.id] = {}
  for _, s in ipairs(p.inventory) do slots[p.id][s.item] = s end
end

for tick = TICKS + 1, 2 * TICKS do
  local t0, s0, c0 = now(), sent.statements, sent.commits
  local moves, pickups = simulate(tick)
  for _, m in ipairs(moves) do
    local p = players[m.pid]
    p.x, p.y = m.nx, m.ny
  end
  for _, c in ipairs(pickups) do slots[c.pid][c.it].qty = c.n end
  session:commit()   -- the flush: every changed row, grouped by table and columns
  report("orm", tick, #moves + #pickups, t0, s0, c0)
end
session:close()

-- The database holds exactly the simulation's state -----------------------------------
engine:connect(function(conn)
  local wrong = 0
  for _, row in ipairs(conn:execute(qs.select(player_t.c.id, player_t.c.x, player_t.c.y)):all()) do
    local p = world[row.id]
    if p.x ~= row.x or p.y ~= row.y then wrong = wrong + 1 end
  end
  for _, row in ipairs(conn:execute(qs.select(inventory_t)):all()) do
    if world[row.player_id].inv[row.item] ~= row.qty then wrong = wrong + 1 end
  end
  assert(wrong == 0, wrong .. " rows differ from the simulation")
end)
print(string.format("%d players, %d ticks: the database matches the simulation", PLAYERS, 2 * TICKS))
engine:dispose()
