-- The ORM's user callbacks (issue 21, the re-entrancy matrix): type
-- converters, validators, hybrids, Lua defaults, mapper events and session
-- events each try to close, reuse (run SQL on) or read from the session
-- they were called from, or to end its transaction. Running SQL works
-- everywhere (as in SQLAlchemy); ending the session or its transaction
-- from inside a flush, an after_begin or a converter is refused with
-- InvalidRequestError (SQLAlchemy's IllegalStateChangeError) where it once
-- failed with "attempt to index a nil value" and left the flush going on a
-- connection back in the pool. Afterwards the engine always still serves.
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local helpers = require("spec.helpers")
local exc = qs.exc

-- what runs the callback, and where it is hooked
local CALLBACKS = {"bind_conv", "result_conv", "validator", "hybrid", "default",
  "before_insert", "after_insert", "before_update", "after_update", "before_delete", "after_delete",
  "load", "before_flush", "after_flush", "after_flush_postexec", "after_begin", "after_commit",
  "after_rollback"}
local ACTIONS = {"close", "reuse", "read", "flush", "commit", "rollback"}
local MAPPER_EVENTS = {before_insert = true, after_insert = true, before_update = true,
  after_update = true, before_delete = true, after_delete = true, load = true}
-- the callbacks that run inside a flush: ending the session there is refused
local IN_FLUSH = {bind_conv = true, default = true, before_insert = true, after_insert = true,
  before_update = true, after_update = true, before_delete = true, after_delete = true,
  before_flush = true, after_flush = true, after_flush_postexec = true}

-- Runs one cell; returns ok, err of the operation and whether the engine
-- served three sessions afterwards (with pool_size 2, no overflow).
local function run_cell(cb, action)
  local engine = qs.create_engine("sqlite:///" .. helpers.tmpdb(),
    {pool_size = 2, max_overflow = 0, pool_timeout = 1})
  local Base = orm.declarative_base()
  local s, User
  local armed = false
  local function act()
    if not armed then return end
    armed = false
    if action == "close" then s:close()
    elseif action == "reuse" then assert(s:execute(qs.text("SELECT 41 + 1")):scalar() == 42)
    elseif action == "read" then s:get(User, 1)
    elseif action == "flush" then s:flush()
    elseif action == "commit" then s:commit()
    else s:rollback() end
  end
  local T = qs.TypeDecorator(qs.String(20), {
    process_bind_param = function(v) if cb == "bind_conv" then act() end return v end,
    process_result_value = function(v) if cb == "result_conv" then act() end return v end})
  User = Base:model("User", {__tablename = "users",
    id = orm.mapped_column(qs.Integer, {primary_key = true}),
    name = orm.mapped_column(T),
    note = orm.mapped_column(qs.String(20), {default = function()
      if cb == "default" then act() end
      return "d"
    end}),
    name_v = orm.validates({"name"}, function(_, _, v) if cb == "validator" then act() end return v end),
  })
  User.shout = orm.hybrid_property(function(self) if cb == "hybrid" then act() end return self.name end)
  Base.metadata:create_all(engine)
  s = orm.Session(engine)
  s:add(User({name = "first"}))
  s:commit()
  if MAPPER_EVENTS[cb] then qs.event.listen(User, cb, act)
  elseif not cb:match("_conv$") and cb ~= "validator" and cb ~= "hybrid" and cb ~= "default" then
    qs.event.listen(s, cb, act)
  end
  armed = true
  local ok, err = pcall(function()
    if cb:match("delete") then
      s:delete(s:get(User, 1))
    elseif cb:match("update") or cb == "after_rollback" then
      s:get(User, 1).name = "changed"
      s:flush()
      if cb == "after_rollback" then s:rollback() end
    elseif cb == "load" or cb == "result_conv" then
      s:expunge_all()
      s:scalars(qs.select(User)):all()
    elseif cb == "hybrid" then
      local _ = s:get(User, 1).shout
    else
      s:add(User({name = "second"}))
    end
    s:commit()
  end)
  local served = pcall(function()
    pcall(s.close, s)
    for _ = 1, 3 do
      local s2 = orm.Session(engine)
      s2:scalars(qs.select(User)):all()
      s2:close()
    end
  end)
  orm.close_all_sessions()
  engine:dispose()
  return ok, err, served
end

describe("ORM callbacks that close, reuse or read their session", function()
  after_each(function() helpers.cleanup() end)

  for _, cb in ipairs(CALLBACKS) do
    for _, action in ipairs(ACTIONS) do
      it(cb .. " / " .. action, function()
        local ok, err, served = run_cell(cb, action)
        assert.is_true(served, "the engine no longer serves sessions")
        if ok then
          assert.is_false(IN_FLUSH[cb] and (action == "close" or action == "rollback" or
            action == "commit") or false, "ending the session inside a flush went through")
          return
        end
        -- the only way to fail: a clear InvalidRequestError
        assert.is_true(exc.is_error(err, exc.InvalidRequestError), tostring(err))
        assert.is_true(action ~= "reuse" and action ~= "read", "running SQL failed: " .. tostring(err))
        if IN_FLUSH[cb] then
          assert.matches("flushing", err.message, 1, true)
        elseif cb == "after_begin" then
          assert.matches("after_begin listener may not end it", err.message, 1, true)
        elseif cb == "result_conv" then
          assert.matches("converting a statement's parameters or rows", err.message, 1, true)
        end
      end)
    end
  end
end)
