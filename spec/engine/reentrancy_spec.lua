-- User Lua that runs in the middle of C work (issue 21, item 1): type
-- converters (bind and result) and cursor events that close, reuse or read
-- the connection or result they were called from. Each either works (SQL
-- on the same connection, as SQLAlchemy allows) or raises a clear error;
-- none may crash (these once were use-after-frees under ASan).
local qs = require("quicksilver")
local helpers = require("spec.helpers")
local raises = helpers.assert_raises_kind

describe("re-entrancy from converters and events", function()
  local engine, conn, t, hook

  -- a string type whose converters run hook (once) before converting
  local function once()
    local h = hook
    hook = nil
    if h then h() end
  end
  local Hooked = qs.TypeDecorator(qs.String(50), {
    process_bind_param = function(v) once() return v end,
    process_result_value = function(v) once() return v end,
  })

  before_each(function()
    engine = qs.create_engine("sqlite://")
    conn = engine:connect()
    local md = qs.MetaData()
    t = qs.Table("t", md, qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("a", Hooked), qs.Column("b", Hooked))
    md:create_all(conn)
    for i = 1, 6 do conn:execute(qs.insert(t), {a = "a" .. i, b = "b" .. i}) end
    hook = nil
  end)

  after_each(function()
    hook = nil
    if not conn.closed then conn:close() end
    engine:dispose()
  end)

  local function ids(result)
    local out = {}
    for _, r in ipairs(result:all()) do out[#out + 1] = r.id end
    return out
  end

  describe("a bind converter", function()
    it("may not close its connection: InvalidRequestError, and the connection goes on", function()
      hook = function() conn:close() end
      local err = raises(qs.exc.InvalidRequestError, conn.execute, conn,
        qs.select(t.c.id):where(t.c.a:eq("a2")))
      assert.matches("converting", err.message, 1, true)
      assert.is_false(conn.closed)
      assert.same({2}, ids(conn:execute(qs.select(t.c.id):where(t.c.a:eq("a2")))))
    end)

    it("may not close it in an executemany either", function()
      hook = function() conn:close() end
      raises(qs.exc.InvalidRequestError, conn.execute, conn, qs.insert(t), {{a = "x"}, {a = "y"}})
      assert.equal(6, conn:execute(qs.select(qs.func.count()):select_from(t)):scalar())
    end)

    it("may run SQL on its connection: the outer statement keeps its own values", function()
      -- the inner statement binds 40 values: once it regrew the shared
      -- scratch array under the outer one (use-after-free), or stored its
      -- values in the outer's place
      local inner = "SELECT " .. string.rep("?, ", 39) .. "?"
      local p = {}
      for i = 1, 40 do p[i] = "inner" .. i end
      hook = function() conn:exec_driver_sql(inner, p):all() end
      local list = {}
      for i = 1, 20 do list[i] = "z" .. i end
      list[21] = "a5"
      local r = conn:execute(qs.select(t.c.id):where(t.c.b:eq("b5")):where(t.c.a:in_(list)))
      assert.same({5}, ids(r))
    end)

    it("may run SQL on its connection in an executemany", function()
      hook = function() conn:execute(qs.insert(t), {a = "inner"}) end
      conn:execute(qs.insert(t), {{a = "o1", b = "p1"}, {a = "o2", b = "p2"}})
      local got = conn:execute(qs.select(t.c.a):where(t.c.id:gt(6)):order_by(t.c.id)):scalars():all()
      assert.same({"inner", "o1", "o2"}, {got[1], got[2], got[3]})
      assert.equal(3, #got)
    end)
  end)

  describe("a result converter", function()
    it("may not close the connection being read: InvalidRequestError", function()
      hook = function() conn:close() end
      raises(qs.exc.InvalidRequestError, conn.execute, conn, qs.select(t.c.a, t.c.b, t.c.id))
      assert.is_false(conn.closed)
      assert.equal(6, #conn:execute(qs.select(t.c.a, t.c.b)):all())
    end)

    it("may not fetch from the result it is converting", function()
      local r = conn:execute(qs.select(t.c.a, t.c.b, t.c.id), nil, {stream_results = true, yield_per = 1})
      hook = function() r:fetchone() end
      local err = raises(qs.exc.InvalidRequestError, r.all, r)
      assert.matches("in the middle of converting a row", err.message, 1, true)
    end)

    it("may not close the result it is converting", function()
      local r = conn:execute(qs.select(t.c.a, t.c.b, t.c.id), nil, {stream_results = true, yield_per = 2})
      hook = function() r:close() end
      raises(qs.exc.InvalidRequestError, r.all, r)
      -- refused, the result is as it was: open, the rest of its rows to read
      assert.is_false(r.closed)
      assert.is_true(#r:all() > 0)
    end)

    it("may run SQL on the same connection, and the rows are right", function()
      hook = function() conn:execute(qs.select(t.c.a):where(t.c.id:eq(3))):all() end
      local rows = conn:execute(qs.select(t.c.id, t.c.a, t.c.b):order_by(t.c.id)):all()
      assert.equal(6, #rows)
      for i, r in ipairs(rows) do
        assert.equal(i, r.id)
        assert.equal("a" .. i, r.a)
        assert.equal("b" .. i, r.b)
      end
    end)

    it("whose error leaves the result usable for the error and the cursor closable", function()
      local r = conn:execute(qs.select(t.c.a, t.c.b), nil, {stream_results = true, yield_per = 1})
      hook = function() error("converter failed", 0) end
      local ok, err = pcall(r.fetchone, r)
      assert.is_false(ok)
      assert.matches("converter failed", tostring(err), 1, true)
      r:close()   -- not refused: the converter is no longer running
    end)
  end)

  describe("the C cursor under a converter", function()
    it("refuses fetch and close while converting, and is usable after", function()
      local core = require("quicksilver.core")
      local cc = core.connect("sqlite", {path = ":memory:"})
      local cur = assert(cc:execute("SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3"))
      local seen = {}
      cur:set_procs({function(v)
        local ok1, e1 = pcall(cur.fetch, cur, 1)
        local ok2, e2 = pcall(cur.close, cur)
        seen[#seen + 1] = {ok1, ok2, e1 and e1.message, e2 and e2.message}
        return v * 10
      end})
      local rows = cur:fetch()
      assert.equal(3, #rows)
      assert.equal(30, rows[3][1])
      for _, s in ipairs(seen) do
        assert.is_false(s[1])
        assert.is_false(s[2])
        assert.matches("may not fetch from it", s[3], 1, true)
        assert.matches("may not close it", s[4], 1, true)
      end
      cur:close()
      cc:close()
    end)

    it("raises ResourceClosedError when a converter closes the C connection", function()
      local core = require("quicksilver.core")
      local cc = core.connect("sqlite", {path = ":memory:"})
      local cur = assert(cc:execute("SELECT 1, 2 UNION ALL SELECT 3, 4"))
      cur:set_procs({function(v) cc:close() return v end})
      local ok, err = pcall(cur.fetch, cur)
      assert.is_false(ok)
      assert.is_true(qs.exc.is_error(err, qs.exc.ResourceClosedError))
      assert.matches("closed or returned to its pool by a result converter", err.message, 1, true)
    end)

    it("raises ResourceClosedError when a bind converter closes the C connection", function()
      local core = require("quicksilver.core")
      local cc = core.connect("sqlite", {path = ":memory:"})
      local procs = {function(v) cc:close() return v end}
      local ok, err = pcall(cc.execute, cc, "SELECT ?", {1}, nil, nil, nil, procs)
      assert.is_false(ok)
      assert.is_true(qs.exc.is_error(err, qs.exc.ResourceClosedError))
      -- (the executemany once went on with a NULL driver connection)
      cc = core.connect("sqlite", {path = ":memory:"})
      ok, err = pcall(cc.executemany, cc, "SELECT ?", {{1}, {2}}, nil, nil, nil, procs)
      assert.is_false(ok)
      assert.is_true(qs.exc.is_error(err, qs.exc.ResourceClosedError))
      assert.matches("closed by a parameter converter", err.message, 1, true)
    end)
  end)

  describe("finalizers the collector runs in the middle of a statement", function()
    -- a __gc may run at any allocation inside C (reading parameters,
    -- building rows); one that closes the connection or runs SQL on it must
    -- meet a clean error or no harm, never freed memory (ASan)
    local function bomb(fn)
      if newproxy then   -- Lua 5.1 / LuaJIT: only userdata have __gc
        local p = newproxy(true)
        getmetatable(p).__gc = fn
        return p
      end
      return setmetatable({}, {__gc = fn})
    end

    for _, what in ipairs({"close", "reuse"}) do
      it("that " .. what .. "s the connection", function()
        local core = require("quicksilver.core")
        local outcomes = {ok = 0, err = 0}
        collectgarbage("setpause", 0)   -- a collection step at (nearly) every allocation
        collectgarbage("setstepmul", 1000)
        for round = 1, 200 do
          local cc = core.connect("sqlite", {path = ":memory:"})
          for _ = 1, 20 do
            bomb(function()
              pcall(function()
                if what == "close" then cc:close() else cc:execute("SELECT 1"):fetch() end
              end)
            end)
          end
          local doc = {}
          for i = 1, 100 do doc[i] = {k = "v" .. i} end
          local ok, err = pcall(function()
            -- numbers for text columns and JSON allocate while values are read
            local cur = assert(cc:execute("SELECT ?, ?, ?, ?", {round, 2.5, doc, "x"}, nil, nil,
              {core.type_checks.string, core.type_checks.string, core.type_checks.json, 0}))
            local rows = cur and cur:fetch()
            assert(rows == nil or #rows == 1)
          end)
          if ok then
            outcomes.ok = outcomes.ok + 1
          else
            outcomes.err = outcomes.err + 1
            assert.is_true(qs.exc.is_error(err), tostring(err))
          end
          pcall(cc.close, cc)
        end
        collectgarbage("setpause", 200)
        collectgarbage("setstepmul", 100)
        assert.equal(200, outcomes.ok + outcomes.err)
        if os.getenv("QS_SHOW") then local f = io.open(os.getenv("QS_SHOW"), "a"); f:write(what, " ", outcomes.ok, " ", outcomes.err, "\n"); f:close() end
      end)
    end
  end)

  describe("pool events", function()
    -- a listener given the driver connection closes, invalidates or uses
    -- it: the checkout fails cleanly or goes on, and the pool still serves
    for _, ev in ipairs({"connect", "checkout", "checkin", "reset"}) do
      for _, action in ipairs({"close", "reuse", "invalidate"}) do
        it(ev .. " / " .. action, function()
          local e = qs.create_engine("sqlite:///" .. helpers.tmpdb(),
            {pool_size = 1, max_overflow = 0, pool_timeout = 1})
          local armed = true
          qs.event.listen(e.pool, ev, function(cconn)
            if not armed then return end
            armed = false
            if action == "close" then cconn:close()
            elseif action == "invalidate" then cconn:invalidate()
            else assert(cconn:execute("SELECT 1")):fetch() end
          end)
          local ok, err = pcall(e.begin, e, function(c)
            c:exec_driver_sql("CREATE TABLE IF NOT EXISTS p (a INTEGER)")
            c:exec_driver_sql("INSERT INTO p VALUES (1)")
          end)
          if not ok then
            assert.is_true(qs.exc.is_error(err, qs.exc.ResourceClosedError), tostring(err))
            assert.is_true(action ~= "reuse")
          end
          for _ = 1, 3 do
            e:connect(function(c) assert.equal(1, c:exec_driver_sql("SELECT 1"):scalar()) end)
          end
          e:dispose()
          helpers.cleanup()
        end)
      end
    end
  end)

  describe("events", function()
    it("before_cursor_execute may run SQL on its connection", function()
      local n = 0
      qs.event.listen(conn, "before_cursor_execute", function(c)
        n = n + 1
        if n == 1 then c:exec_driver_sql("SELECT 1"):all() end
      end)
      assert.same({4}, ids(conn:execute(qs.select(t.c.id):where(t.c.id:eq(4)))))
    end)

    it("before_cursor_execute closing its connection gives ResourceClosedError, not a stray statement", function()
      local fired = false
      qs.event.listen(conn, "before_cursor_execute", function(c)
        if not fired then fired = true c:close() end
      end)
      raises(qs.exc.ResourceClosedError, conn.execute, conn, qs.select(t.c.id))
    end)
  end)
end)
