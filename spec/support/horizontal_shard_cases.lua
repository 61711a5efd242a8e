-- The behaviours of quicksilver.ext.horizontal_shard, run by
-- spec/ext/horizontal_shard_spec.lua on SQLite files and by
-- spec/scaleout/horizontal_shard_spec.lua on PostgreSQL databases: players
-- sharded by region ("eu" and "us"), each with the games they played (on
-- their player's shard).
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local exc = require("quicksilver.exc")
local event = require("quicksilver.event")
local hs = require("quicksilver.ext.horizontal_shard")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

local M = {}

--- Declares the cases. env: {engines = function() -> {eu = engine, us = engine}
--- (empty databases), teardown = function(engines)}, and the spec's it,
--- before_each, after_each and assert (busted gives them to the spec file).
function M.define(env)
  local it, before_each, after_each, assert = env.it, env.before_each, env.after_each, env.assert
  local Base, Player, Game, engines, chooser_calls

  local function make(opts)
    local o = {
      shards = engines,
      shard_chooser = function(mapper, obj, clause)
        chooser_calls[#chooser_calls + 1] = {mapper = mapper, obj = obj, clause = clause}
        if obj then return obj.region end
        return "eu"
      end,
      identity_chooser = function() return {"eu", "us"} end,
      execute_chooser = function() return {"eu", "us"} end,
    }
    for k, v in pairs(opts or {}) do o[k] = v end
    return hs.ShardedSession(o)
  end

  -- rows of the player table on one engine, as "name@score" in id order
  local function rows_on(e)
    return e:connect(function(conn)
      local out = {}
      for _, r in ipairs(conn:execute(qs.text("SELECT name, score FROM player ORDER BY id")):all()) do
        out[#out + 1] = r[1] .. "@" .. tostring(r[2])
      end
      return table.concat(out, ",")
    end)
  end

  local function names(list)
    local out = {}
    for i, p in ipairs(list) do out[i] = p.name end
    return table.concat(out, ",")
  end

  -- four players per shard, ids 1-4 on eu and 1-4 on us (the same keys)
  local function seed()
    local s = make()
    local scores = {eu = {50, 20, 80, 35}, us = {10, 90, 20, 60}}
    for _, region in ipairs({"eu", "us"}) do
      for i, sc in ipairs(scores[region]) do
        s:add(Player({id = i, name = region .. i, region = region, score = sc}))
      end
    end
    s:commit()
    s:close()
    chooser_calls = {}
  end

  before_each(function()
    Base = orm.declarative_base()
    Player = Base:model("Player", {
      __tablename = "player",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(40)),
      region = orm.mapped_column(qs.String(8)),
      score = orm.mapped_column(qs.Integer),
      games = orm.relationship("Game", {back_populates = "player", cascade = "all, delete-orphan"}),
    })
    Game = Base:model("Game", {
      __tablename = "game",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      player_id = orm.mapped_column(qs.ForeignKey("player.id")),
      points = orm.mapped_column(qs.Integer),
      player = orm.relationship("Player", {back_populates = "games"}),
    })
    engines = env.engines()
    for _, e in pairs(engines) do Base.metadata:create_all(e) end
    chooser_calls = {}
  end)

  after_each(function()
    orm.close_all_sessions()
    for _, e in pairs(engines) do Base.metadata:drop_all(e) end
    env.teardown(engines)
  end)

  it("places new objects on the shard shard_chooser names, at add", function()
    local s = make()
    s:add(Player({id = 1, name = "ana", region = "eu", score = 3}))
    s:add_all({Player({id = 2, name = "bob", region = "us", score = 5}),
      Player({id = 3, name = "cai", region = "eu", score = 7})})
    assert.equal(3, #chooser_calls)
    assert.equal(Player.__mapper__, chooser_calls[1].mapper)
    assert.equal(3, #s.new)
    s:commit()
    assert.equal("ana@3,cai@7", rows_on(engines.eu))
    assert.equal("bob@5", rows_on(engines.us))
    s:close()
  end)

  it("gets through identity_chooser, shard by shard in order (nil when none has it)", function()
    seed()
    local s = make({identity_chooser = function(mapper, pk)
      chooser_calls[#chooser_calls + 1] = {mapper = mapper, pk = pk}
      return {"us", "eu"}
    end})
    local p = s:get(Player, 2)
    assert.equal("us2", p.name)          -- us is tried first
    assert.equal("us", orm.inspect(p).identity_token)
    assert.same({2}, chooser_calls[1].pk)
    assert.equal(Player.__mapper__, chooser_calls[1].mapper)
    assert.equal("eu2", s:get(Player, 2, {identity_token = "eu"}).name)
    assert.is_nil(s:get(Player, 99))
    raises(exc.NoResultFound, function() s:get_one(Player, 99) end)
    -- in an identity map already: no SELECT
    local rec = helpers.recorder(engines.us)
    assert.equal(p, s:get(Player, 2))
    assert.equal(0, #rec)
    s:close()
  end)

  it("gives two distinct objects for the same primary key on two shards: the identity carries the shard", function()
    seed()
    local s = make()
    local all = s:scalars(qs.select(Player):where(Player.id:eq(1))):all()
    assert.equal(2, #all)
    local a, b = all[1], all[2]
    assert.are_not.equal(a, b)
    assert.equal("eu1", a.name)
    assert.equal("us1", b.name)
    assert.equal("eu", orm.inspect(a).identity_token)
    assert.equal("us", orm.inspect(b).identity_token)
    assert.are_not.equal(orm.inspect(a).key, orm.inspect(b).key)
    assert.equal(a, s.identity_map[orm.inspect(a).key])
    assert.equal(b, s.identity_map[orm.inspect(b).key])
    assert.equal(s, orm.object_session(a))
    assert.equal(s, orm.inspect(b).session)
    assert.equal("us", s:shard_of(b))
    -- detached, an object keeps its shard, and add() takes it back there
    s:expunge(b)
    assert.is_nil(orm.object_session(b))
    assert.equal("us", orm.inspect(b).identity_token)
    b.score = 11
    s:add(b)
    s:commit()
    assert.equal("us1@11,us2@90,us3@20,us4@60", rows_on(engines.us))
    assert.equal("eu1@50,eu2@20,eu3@80,eu4@35", rows_on(engines.eu))
    s:close()
  end)

  it("merges a query across shards in ORDER BY order, then applies LIMIT/OFFSET", function()
    seed()
    local s = make()
    local desc = s:scalars(qs.select(Player):order_by(Player.score:desc(), Player.name)):all()
    assert.equal("us2,eu3,us4,eu1,eu4,eu2,us3,us1", names(desc))
    local asc = s:scalars(qs.select(Player):order_by(Player.score, Player.name)):all()
    assert.equal("us1,eu2,us3,eu4,eu1,us4,eu3,us2", names(asc))
    -- columns, not entities
    local rows = s:execute(qs.select(Player.name, Player.score):order_by(Player.score)):all()
    assert.equal(8, #rows)
    assert.equal("us1", rows[1][1])
    assert.equal(90, rows[8].score)
    -- LIMIT/OFFSET over the merged rows
    local page = s:scalars(qs.select(Player):order_by(Player.score:desc()):limit(3):offset(2)):all()
    assert.equal("us4,eu1,eu4", names(page))
    assert.equal("us2,eu3", names(s:scalars(qs.select(Player):order_by(Player.score:desc()):limit(2)):all()))
    -- without ORDER BY: shard after shard, as execute_chooser named them
    local s2 = make({execute_chooser = function() return {"us", "eu"} end})
    local regions = {}
    for _, p in ipairs(s2:scalars(qs.select(Player)):all()) do regions[#regions + 1] = p.region end
    assert.equal("us,us,us,us,eu,eu,eu,eu", table.concat(regions, ","))
    -- the legacy Query goes the same way
    assert.equal("us1,eu2", names(s:query(Player):order_by(Player.score, Player.name):limit(2):all()))
    -- NULLs go where the shards' database puts them (PostgreSQL: last when
    -- ascending; SQLite, MariaDB: first), or where NULLS FIRST/LAST says
    s:add(Player({id = 20, name = "eu-null", region = "eu"}))
    s:add(Player({id = 21, name = "us-null", region = "us"}))
    s:commit()
    local asc_nulls = names(s:scalars(qs.select(Player):order_by(Player.score, Player.name):limit(3)):all())
    local desc_nulls = names(s:scalars(qs.select(Player):order_by(Player.score:desc(), Player.name):limit(3)):all())
    if engines.eu.dialect.name == "postgresql" then
      assert.equal("us1,eu2,us3", asc_nulls)
      assert.equal("eu-null,us-null,us2", desc_nulls)
    else
      assert.equal("eu-null,us-null,us1", asc_nulls)
      assert.equal("us2,eu3,us4", desc_nulls)
    end
    local dname = engines.eu.dialect.name
    if dname ~= "mysql" and dname ~= "mariadb" then   -- MySQL/MariaDB have no NULLS FIRST/LAST
      assert.equal("eu-null,us-null,us1", names(s:scalars(qs.select(Player)
        :order_by(Player.score:asc():nulls_first(), Player.name):limit(3)):all()))
      assert.equal("us2,eu3,us4", names(s:scalars(qs.select(Player)
        :order_by(Player.score:desc():nulls_last(), Player.name):limit(3)):all()))
      -- the NULLs at the end of each shard's rows, merged to the end
      local tail = s:scalars(qs.select(Player):order_by(Player.score:desc():nulls_last(), Player.name)):all()
      assert.equal("us1,eu-null,us-null", tail[8].name .. "," .. tail[9].name .. "," .. tail[10].name)
    end
    local all_desc = s:scalars(qs.select(Player):order_by(Player.score:desc(), Player.name)):all()
    if engines.eu.dialect.name == "postgresql" then
      assert.equal("eu-null,us-null,us2", all_desc[1].name .. "," .. all_desc[2].name .. "," .. all_desc[3].name)
    else
      assert.equal("us1,eu-null,us-null", all_desc[8].name .. "," .. all_desc[9].name .. "," .. all_desc[10].name)
    end
    -- an ORDER BY the rows do not carry cannot be merged
    local err = raises(exc.InvalidRequestError, function()
      s:execute(qs.select(Player.name):order_by(Player.score)):all()
    end)
    assert.truthy(tostring(err):find("ORDER BY item 1", 1, true))
    s:close()
    s2:close()
  end)

  it("runs a statement given set_shard on that shard only; execute_chooser gets the context", function()
    seed()
    local seen
    local s = make({execute_chooser = function(ctx)
      seen = ctx
      return {"eu", "us"}
    end})
    assert.equal("eu1,eu2,eu3,eu4",
      names(s:scalars(qs.select(Player):set_shard("eu"):order_by(Player.id)):all()))
    assert.is_nil(seen)
    assert.equal(4, s:scalar(qs.select(qs.func.count()):select_from(Player.__table__):set_shard("us")))
    -- DML: on one shard, or on each (rowcounts summed)
    local res = s:execute(qs.update(Player.__table__):where(Player.__table__.c.score:lt(30))
      :values({score = 0}):set_shard("us"))
    assert.equal(2, res.rowcount)
    local scores = s:scalars(qs.select(Player.score):order_by(Player.id):set_shard("us")):all()
    assert.equal("0,90,0,60", table.concat(scores, ","))
    local stmt = qs.select(Player):where(Player.score:gt(55)):order_by(Player.score)
    assert.equal("us4,eu3,us2", names(s:scalars(stmt):all()))
    assert.equal(stmt, seen.statement)
    assert.equal(Player.__mapper__, seen.mapper)
    assert.equal(s, seen.session)
    res = s:execute(qs.delete(Player.__table__):where(Player.__table__.c.score:eq(0)))
    assert.equal(2, res.rowcount)
    s:commit()
    assert.equal("us2@90,us4@60", rows_on(engines.us))
    assert.equal("eu1@50,eu2@20,eu3@80,eu4@35", rows_on(engines.eu))
    s:close()
  end)

  it("flushes updates and deletes of an object to its own shard", function()
    seed()
    local s = make()
    local eu2 = s:get(Player, 2, {identity_token = "eu"})
    local us3 = s:get(Player, 3, {identity_token = "us"})
    eu2.score = 21
    s:delete(us3)
    assert.equal(1, #s.dirty)
    assert.equal(1, #s.deleted)
    assert.truthy(s:is_modified(eu2))
    s:commit()
    assert.equal("eu1@50,eu2@21,eu3@80,eu4@35", rows_on(engines.eu))
    assert.equal("us1@10,us2@90,us4@60", rows_on(engines.us))
    assert.equal(21, eu2.score)   -- expired on commit, loaded again from its shard
    s:close()
  end)

  it("rolls back every shard", function()
    seed()
    local s = make()
    s:get(Player, 1, {identity_token = "eu"}).score = 1
    s:get(Player, 1, {identity_token = "us"}).score = 1
    local fresh = Player({id = 9, name = "new", region = "us", score = 9})
    s:add(fresh)
    s:flush()
    assert.truthy(s:in_transaction())
    s:rollback()
    assert.is_false(s:in_transaction())
    assert.is_nil(orm.object_session(fresh))
    assert.equal("eu1@50,eu2@20,eu3@80,eu4@35", rows_on(engines.eu))
    assert.equal("us1@10,us2@90,us3@20,us4@60", rows_on(engines.us))
    assert.equal(50, s:get(Player, 1, {identity_token = "eu"}).score)
    s:rollback()
    -- begin(fn): commits on success, rolls back every shard on error
    assert.has_error(function()
      s:begin(function(ss)
        ss:add(Player({id = 10, name = "x", region = "eu", score = 1}))
        ss:add(Player({id = 10, name = "y", region = "us", score = 1}))
        ss:flush()
        error("boom")
      end)
    end)
    assert.equal(4, s:scalar(qs.select(qs.func.count()):select_from(Player.__table__):set_shard("eu")))
    s:commit()
    s:begin(function(ss) ss:add(Player({id = 10, name = "x", region = "eu", score = 1})) end)
    assert.equal(5, s:scalar(qs.select(qs.func.count()):select_from(Player.__table__):set_shard("eu")))
    -- begin_nested: a savepoint on every shard
    local sp = s:begin_nested()
    s:add(Player({id = 11, name = "z", region = "us", score = 1}))
    s:flush()
    sp:rollback()
    s:commit()
    assert.equal(4, s:scalar(qs.select(qs.func.count()):select_from(Player.__table__):set_shard("us")))
    s:close()
  end)

  it("keeps a parent and its children on one shard; lazy loads run on the parent's shard", function()
    local s = make()
    local p = Player({id = 1, name = "ana", region = "us", score = 1})
    p.games = {Game({id = 1, points = 3}), Game({id = 2, points = 4})}
    s:add(p)
    assert.equal(1, #chooser_calls)   -- the children follow their parent
    s:commit()
    -- a child added alone next to its persistent parent goes to the parent's shard
    s:add(Game({id = 3, points = 5, player = p}))
    assert.equal(1, #chooser_calls)
    s:commit()
    -- the other shard has a player 1 with games of its own
    local q = Player({id = 1, name = "eve", region = "eu", score = 2})
    q.games = {Game({id = 1, points = 100})}
    s:add(q)
    s:commit()
    s:close()
    local s2 = make()
    local rec = helpers.recorder(engines.us)
    local us1 = s2:get(Player, 1, {identity_token = "us"})
    local pts = {}
    for _, g in ipairs(us1.games) do pts[#pts + 1] = g.points end
    table.sort(pts)
    assert.equal("3,4,5", table.concat(pts, ","))
    assert.equal(2, #rec)                  -- the get and the lazy load, both on us
    assert.equal("us", orm.inspect(us1.games[1]).identity_token)
    local eu1 = s2:get(Player, 1, {identity_token = "eu"})
    assert.equal(1, #eu1.games)
    assert.equal(100, eu1.games[1].points)
    -- relationships do not cross shards
    local err = raises(exc.InvalidRequestError, function()
      local g = Game({id = 7, points = 1, player = eu1})
      us1.games[#us1.games + 1] = g
      s2:add(Game({id = 8, points = 1, player = us1}))
      s2:add(g)
    end)
    assert.truthy(tostring(err):find("one shard", 1, true))
    s2:close()
  end)

  it("fires the events listened on the ShardedSession for each shard's session", function()
    local s = make()
    local flushed = {}
    event.listen(s, "before_flush", function(shard_session)
      flushed[#flushed + 1] = shard_session.shard_id
    end)
    s:add(Player({id = 1, name = "a", region = "eu", score = 1}))
    s:add(Player({id = 2, name = "b", region = "us", score = 1}))
    s:commit()
    table.sort(flushed)
    assert.equal("eu,us", table.concat(flushed, ","))
    s:close()
  end)

  it("refuses unknown shard names, missing choosers and bad shards", function()
    local s = make({shard_chooser = function() return "mars" end,
      execute_chooser = function() return {"eu", "pluto"} end})
    local err = raises(exc.InvalidRequestError, function() s:add(Player({id = 1, name = "a", region = "eu"})) end)
    assert.truthy(tostring(err):find("'mars'", 1, true))
    err = raises(exc.InvalidRequestError, function() s:execute(qs.select(Player)) end)
    assert.truthy(tostring(err):find("'pluto'", 1, true))
    err = raises(exc.InvalidRequestError, function() s:execute(qs.select(Player):set_shard("venus")) end)
    assert.truthy(tostring(err):find("'venus'", 1, true))
    err = raises(exc.InvalidRequestError, function() s:get(Player, 1, {identity_token = "io"}) end)
    assert.truthy(tostring(err):find("'io'", 1, true))
    s:close()
    for _, c in ipairs({"shard_chooser", "identity_chooser", "execute_chooser"}) do
      err = raises(exc.ArgumentError, function() make({[c] = false}) end)
      assert.truthy(tostring(err):find(c, 1, true))
    end
    err = raises(exc.ArgumentError, function() make({shards = {}}) end)
    assert.truthy(tostring(err):find("non-empty", 1, true))
    err = raises(exc.ArgumentError, function() make({shards = {eu = engines.eu, us = "nope"}}) end)
    assert.truthy(tostring(err):find("shards['us']", 1, true))
    raises(exc.ArgumentError, function() make({shards = {engines.eu}}) end)
    raises(exc.ArgumentError, function() make({bind = engines.eu}) end)
    raises(exc.ArgumentError, function() qs.select(Player):set_shard(1) end)
    raises(exc.ArgumentError, function() qs.delete(Player.__table__):set_shard("") end)
  end)
end

return M
