-- Reading a Result that first(), one(), one_or_none() or the scalar forms
-- closed raises ResourceClosedError, in every reading method, as
-- SQLAlchemy's (which hard-closes there); a result read to its end by
-- all(), fetch* or iteration is only exhausted: reads give nothing and
-- one() raises NoResultFound, also as SQLAlchemy's.
local qs = require("quicksilver")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("a consumed Result", function()
  local engine, conn

  setup(function()
    engine = qs.create_engine("sqlite://")
    engine:begin(function(c)
      c:execute(qs.text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)"))
      c:execute(qs.text("INSERT INTO t (id, name) VALUES (:id, :name)"), {{id = 1, name = "a"}, {id = 2, name = "b"}})
    end)
  end)
  teardown(function() engine:dispose() end)
  before_each(function() conn = engine:connect() end)
  after_each(function() conn:close() end)

  local READS = {
    all = function(r) return r:all() end,
    fetchall = function(r) return r:fetchall() end,
    fetchone = function(r) return r:fetchone() end,
    fetchmany = function(r) return r:fetchmany(2) end,
    first = function(r) return r:first() end,
    one = function(r) return r:one() end,
    one_or_none = function(r) return r:one_or_none() end,
    scalar = function(r) return r:scalar() end,
    scalar_one = function(r) return r:scalar_one() end,
    scalar_one_or_none = function(r) return r:scalar_one_or_none() end,
    iter = function(r) return r:iter() end,
    partitions = function(r) return r:partitions(1) end,
    scalars = function(r) return r:scalars():all() end,
    mappings = function(r) return r:mappings():all() end,
  }
  local CLOSERS = {"first", "one", "one_or_none", "scalar", "scalar_one", "scalar_one_or_none"}

  for _, mode in ipairs({"buffered", "streamed"}) do
    local opts = mode == "streamed" and {yield_per = 1} or nil
    describe(mode, function()
      for _, closer in ipairs(CLOSERS) do
        it(closer .. "() closes it: every read after raises ResourceClosedError naming " .. closer .. "()", function()
          for name, read in pairs(READS) do
            local r = conn:execute(qs.text("SELECT id, name FROM t WHERE id = 1"), nil, opts)
            READS[closer](r)
            local err = raises(qs.exc.ResourceClosedError, read, r)
            assert.matches("This result object is closed. " .. closer .. "() closed it", err.message, 1, true)
            assert.is_true(r.closed, name)
          end
        end)
      end

      it("one() on an EMPTY result raises NoResultFound, and closes it", function()
        local r = conn:execute(qs.text("SELECT id FROM t WHERE id > 5"), nil, opts)
        raises(qs.exc.NoResultFound, function() return r:one() end)
        raises(qs.exc.ResourceClosedError, function() return r:all() end)
        r = conn:execute(qs.text("SELECT id FROM t WHERE id > 5"), nil, opts)
        raises(qs.exc.NoResultFound, function() return r:scalar_one() end)
        r = conn:execute(qs.text("SELECT id FROM t WHERE id > 5"), nil, opts)
        assert.is_nil(r:first())
        raises(qs.exc.ResourceClosedError, function() return r:fetchone() end)
      end)

      it("MultipleResultsFound closes it too", function()
        local r = conn:execute(qs.text("SELECT id FROM t"), nil, opts)
        raises(qs.exc.MultipleResultsFound, function() return r:one() end)
        raises(qs.exc.ResourceClosedError, function() return r:all() end)
      end)

      it("a result read to its end is exhausted, not closed: reads give nothing, one() NoResultFound", function()
        for _, reader in ipairs({"all", "fetchall", "iter"}) do
          local r = conn:execute(qs.text("SELECT id FROM t"), nil, opts)
          if reader == "iter" then
            for _ in r:iter() do end
          else
            r[reader](r)
          end
          assert.is_false(r.closed)
          assert.equal(0, r:all().n)
          assert.is_nil(r:fetchone())
          assert.equal(0, r:fetchmany(3).n)
          assert.equal(0, r:scalars():all().n)
          raises(qs.exc.NoResultFound, function() return r:one() end)
        end
      end)

      it("a ScalarResult and a MappingResult close their Result the same way", function()
        local r = conn:execute(qs.text("SELECT id FROM t ORDER BY id"), nil, opts)
        local s = r:scalars()
        assert.equal(1, s:first())
        raises(qs.exc.ResourceClosedError, function() return s:all() end)
        raises(qs.exc.ResourceClosedError, function() return r:all() end)
        r = conn:execute(qs.text("SELECT id FROM t ORDER BY id"), nil, opts)
        local m = r:mappings()
        assert.equal(1, m:first().id)
        raises(qs.exc.ResourceClosedError, function() return m:fetchone() end)
      end)
    end)
  end

  it("the ORM's results behave alike (Session:execute, Session:scalars)", function()
    local orm = require("quicksilver.orm")
    local Base = orm.declarative_base()
    local T = Base:model("T", {__tablename = "t", id = orm.mapped_column(qs.Integer, {primary_key = true}),
      name = orm.mapped_column(qs.String(10))})
    local s = orm.Session(engine)
    local r = s:execute(qs.select(T):order_by(T.id))
    assert.equal(1, r:scalars():first().id)
    raises(qs.exc.ResourceClosedError, function() return r:all() end)
    r = s:scalars(qs.select(T):where(T.id:eq(7)))
    raises(qs.exc.NoResultFound, function() return r:one() end)
    raises(qs.exc.ResourceClosedError, function() return r:one() end)
    s:close()
  end)
end)
