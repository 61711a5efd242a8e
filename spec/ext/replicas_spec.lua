-- quicksilver.ext.replicas without a server: the routing rules, on two
-- SQLite files standing for a primary and its replica (the same schema on
-- both; a row written to one is not on the other, so where a statement went
-- shows in what it reads). spec/scaleout/replicas_spec.lua runs the same
-- against a real PostgreSQL streaming standby.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local exc = require("quicksilver.exc")
local replicas = require("quicksilver.ext.replicas")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

local Base, Note, primary, replica, Maker

local function names(s)
  local out = {}
  for _, n in ipairs(s:scalars(qs.select(Note):order_by(Note.id)):all()) do out[#out + 1] = n.body end
  return table.concat(out, ",")
end

describe("ext.replicas routing", function()
  before_each(function()
    Base = orm.declarative_base()
    Note = Base:model("Note", {
      __tablename = "note",
      id = orm.mapped_column(qs.Integer, {primary_key = true}),
      body = orm.mapped_column(qs.String(40)),
    })
    primary = helpers.sqlite_engine()
    replica = helpers.sqlite_engine()
    Base.metadata:create_all(primary)
    Base.metadata:create_all(replica)
    -- the replica holds a row the primary does not: a read that sees it ran there
    replica:begin(function(conn) conn:execute(qs.insert(Note.__table__), {id = 100, body = "on-replica"}) end)
    Maker = replicas.sessionmaker({primary = primary, replicas = {replica}})
  end)

  after_each(function()
    orm.close_all_sessions()
    primary:dispose()
    replica:dispose()
    helpers.cleanup()
  end)

  it("writes to the primary and reads from the replica", function()
    local s = Maker()
    s:add(Note({body = "written"}))
    s:commit()
    assert.equal("on-replica", names(s))          -- a new transaction reads the replica
    assert.equal("on-replica", s:get(Note, 100).body)
    s:close()
    local n = primary:connect(function(conn) return conn:execute(qs.text("SELECT count(*) FROM note")):scalar() end)
    assert.equal(1, n)
  end)

  it("reads its own writes inside the transaction that wrote", function()
    local s = Maker()
    assert.equal("on-replica", names(s))          -- reads first: the replica
    s:add(Note({body = "mine"}))
    s:flush()
    assert.equal("mine", names(s))                -- after the write: the primary
    s:rollback()
    assert.equal("on-replica", names(s))
    s:close()
  end)

  it("sends DML, FOR UPDATE, text() and connection() to the primary", function()
    local s = Maker()
    s:execute(qs.insert(Note.__table__), {body = "core"})
    s:commit()
    assert.equal(1, s:execute(qs.text("SELECT count(*) FROM note WHERE body = 'core'")):scalar())
    s:commit()
    assert.equal("core", s:scalars(qs.select(Note):with_for_update()):one().body)
    s:commit()
    assert.equal(primary, s:connection().engine)
    s:close()
  end)

  it("keeps reading from the primary for `sticky` seconds after a committed write", function()
    local S = replicas.sessionmaker({primary = primary, replicas = {replica}, sticky = 30})
    local s = S()
    s:add(Note({body = "fresh"}))
    s:commit()
    assert.equal("fresh", names(s))
    s:close()
    local s2 = S()                                -- another session: it did not write
    assert.equal("on-replica", names(s2))
    s2:close()
  end)

  it("runs use_primary's function on the primary", function()
    local s = Maker()
    s:add(Note({body = "p"}))
    s:commit()
    assert.equal("p", s:use_primary(function(ss) return names(ss) end))
    s:commit()
    assert.equal("on-replica", names(s))
    s:close()
  end)

  it("falls back to the primary when no replica answers, and skips it for down_for", function()
    local dead = qs.create_engine("sqlite:////nonexistent-dir/qs-replica.db")
    local S = replicas.sessionmaker({primary = primary, replicas = {dead}, down_for = 60})
    primary:begin(function(conn) conn:execute(qs.insert(Note.__table__), {body = "from-primary"}) end)
    local s = S()
    assert.equal("from-primary", names(s))
    s:commit()
    assert.equal("from-primary", names(s))
    assert.equal(1, S.router.checks)              -- skipped without a second check
    local h = S.router:health()
    assert.is_false(h[1].ok)
    assert.is_truthy(h[1].err)
    s:close()
    dead:dispose()
  end)

  it("round-robins between healthy replicas, one per transaction", function()
    local other = helpers.sqlite_engine()
    Base.metadata:create_all(other)
    other:begin(function(conn) conn:execute(qs.insert(Note.__table__), {id = 200, body = "on-other"}) end)
    local S = replicas.sessionmaker({primary = primary, replicas = {replica, other}})
    local s = S()
    local seen = {}
    for _ = 1, 4 do
      local first = names(s)
      assert.equal(first, names(s))               -- the transaction stays on its replica
      seen[#seen + 1] = first
      s:commit()
    end
    assert.same({"on-replica", "on-other", "on-replica", "on-other"}, seen)
    s:close()
    other:dispose()
  end)

  it("runs begin(fn) in a session of its own, committed on the primary", function()
    local n = Maker:begin(function(s)
      s:add(Note({body = "in-begin"}))
      s:flush()
      return #s:scalars(qs.select(Note)):all()     -- after the write: the primary's rows
    end)
    assert.equal(1, n)
    local s = Maker()
    assert.equal("on-replica", names(s))
    s:close()
    local got = primary:connect(function(conn)
      return conn:execute(qs.text("SELECT body FROM note")):scalar()
    end)
    assert.equal("in-begin", got)
  end)

  it("checks its options, naming the bad one", function()
    raises(exc.ArgumentError, function() replicas.sessionmaker({primary = primary}) end)
    raises(exc.ArgumentError, function() replicas.sessionmaker({replicas = {replica}}) end)
    raises(exc.ArgumentError, function() replicas.sessionmaker({primary = primary, replicas = {primary}}) end)
    local err = raises(exc.ArgumentError, function()
      replicas.sessionmaker({primary = primary, replicas = {replica}, max_lag = -1})
    end)
    assert.matches("max_lag", err.message, 1, true)
    err = raises(exc.ArgumentError, function()
      replicas.sessionmaker({primary = primary, replicas = {replica}, lag = 1})
    end)
    assert.matches("lag", err.message, 1, true)
    raises(exc.ArgumentError, function()
      replicas.sessionmaker({primary = primary, replicas = {replica}, bind = primary})
    end)
    raises(exc.ArgumentError, function() replicas.install(orm.Session(primary), {}) end)
  end)
end)
