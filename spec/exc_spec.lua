-- qs.exc: the hierarchy, error objects, rendering, raise/new/is_error/wrap.
local exc = require("quicksilver.exc")

-- Every class and its parent: the brief's tree, with SQLAlchemy's
-- intermediate classes (StatementError, DatabaseError, UnmappedError).
local PARENT = {
  ArgumentError = "SQLAlchemyError", InvalidRequestError = "SQLAlchemyError",
  TimeoutError = "SQLAlchemyError", CompileError = "SQLAlchemyError",
  StatementError = "SQLAlchemyError", DBAPIError = "StatementError",
  StaleDataError = "SQLAlchemyError", DetachedInstanceError = "SQLAlchemyError",
  CircularDependencyError = "SQLAlchemyError", DisconnectionError = "SQLAlchemyError",
  FlushError = "SQLAlchemyError", IdentifierError = "SQLAlchemyError",
  UnsupportedCompilationError = "CompileError",
  NoForeignKeysError = "ArgumentError", AmbiguousForeignKeysError = "ArgumentError",
  ObjectNotExecutableError = "ArgumentError", NoSuchModuleError = "ArgumentError",
  NoInspectionAvailable = "InvalidRequestError", NoReferenceError = "InvalidRequestError",
  NoReferencedTableError = "NoReferenceError", NoReferencedColumnError = "NoReferenceError",
  NoSuchTableError = "InvalidRequestError", NoSuchColumnError = "InvalidRequestError",
  UnboundExecutionError = "InvalidRequestError", NoResultFound = "InvalidRequestError",
  MultipleResultsFound = "InvalidRequestError", ResourceClosedError = "InvalidRequestError",
  PendingRollbackError = "InvalidRequestError", ObjectDeletedError = "InvalidRequestError",
  IllegalStateChangeError = "InvalidRequestError", UnmappedColumnError = "InvalidRequestError",
  UnmappedError = "InvalidRequestError", UnmappedInstanceError = "UnmappedError",
  UnmappedClassError = "UnmappedError",
  InterfaceError = "DBAPIError", DatabaseError = "DBAPIError",
  IntegrityError = "DatabaseError", OperationalError = "DatabaseError",
  ProgrammingError = "DatabaseError", DataError = "DatabaseError",
  InternalError = "DatabaseError", NotSupportedError = "DatabaseError",
}

describe("qs.exc classes", function()
  it("give every class its name and parent", function()
    for name, parent in pairs(PARENT) do
      assert.equal(name, exc[name].name)
      assert.equal(exc[parent], exc[name].parent, name)
    end
    assert.is_nil(exc.SQLAlchemyError.parent)
  end)

  it("put every class API.md names under SQLAlchemyError", function()
    for name in pairs(PARENT) do
      assert.is_true(exc[name]("x"):is_a(exc.SQLAlchemyError), name)
    end
  end)

  it("keep the DBAPI families apart", function()
    local e = exc.IntegrityError("x")
    assert.is_true(e:is_a(exc.DatabaseError))
    assert.is_true(e:is_a(exc.DBAPIError))
    assert.is_false(e:is_a(exc.OperationalError))
    assert.is_false(e:is_a(exc.InvalidRequestError))
    assert.is_false(exc.InterfaceError("x"):is_a(exc.DatabaseError))
  end)

  it("render as qs.exc.Name", function()
    assert.equal("qs.exc.NoResultFound", tostring(exc.NoResultFound))
  end)

  it("answer is_subclass_of for classes and names", function()
    assert.is_true(exc.NoReferencedTableError:is_subclass_of(exc.InvalidRequestError))
    assert.is_true(exc.DataError:is_subclass_of("DBAPIError"))
    assert.is_true(exc.DataError:is_subclass_of(exc.DataError))
    assert.is_false(exc.DBAPIError:is_subclass_of(exc.DataError))
  end)

  it("look up by name with class()", function()
    assert.equal(exc.FlushError, exc.class("FlushError"))
    assert.is_nil(exc.class("NoSuchThing"))
  end)
end)

describe("qs.exc error objects", function()
  it("carry the name, message and defaults", function()
    local e = exc.ArgumentError("bad argument")
    assert.equal("ArgumentError", e.name)
    assert.equal("bad argument", e.message)
    assert.is_nil(e.statement)
    assert.is_nil(e.params)
    assert.is_nil(e.orig)
    assert.is_false(e.connection_invalidated)
  end)

  it("take the fields of a database error", function()
    local orig = {code = 2067, sqlstate = "23000", message = "UNIQUE constraint failed: t.x",
      constraint = "t_x_key"}
    local e = exc.IntegrityError("UNIQUE constraint failed: t.x", {statement = "INSERT INTO t",
      params = {1}, orig = orig, connection_invalidated = 1, instance = "obj"})
    assert.equal("INSERT INTO t", e.statement)
    assert.same({1}, e.params)
    assert.equal(orig, e.orig)
    assert.equal("obj", e.instance)
    assert.is_true(e.connection_invalidated)   -- coerced to a boolean
  end)

  it("do not let fields overwrite what the error is", function()
    local e = exc.DataError("real", {name = "Fake", class = exc.ArgumentError, message = "fake"})
    assert.equal("DataError", e.name)
    assert.equal("real", e.message)
    assert.is_false(e:is_a(exc.ArgumentError))
  end)

  it("turn a missing message into an empty one", function()
    local e = exc.NoResultFound()
    assert.equal("", e.message)
    assert.equal("NoResultFound", tostring(e))
  end)

  it("reject fields that are not a table", function()
    local ok, err = pcall(exc.DataError, "x", "not a table")
    assert.is_false(ok)
    assert.is_true(exc.is_error(err, exc.ArgumentError))
  end)

  it("accept a class name in is_a", function()
    local e = exc.NoResultFound("x")
    assert.is_true(e:is_a("InvalidRequestError"))
    assert.is_false(e:is_a("DBAPIError"))
  end)

  it("raise on a misspelt class in is_a instead of answering false", function()
    local e = exc.NoResultFound("x")
    local ok, err = pcall(e.is_a, e, exc.NoResultFund)     -- nil
    assert.is_false(ok)
    assert.is_true(exc.is_error(err, exc.ArgumentError))
    assert.matches("got nil", err.message)
    ok, err = pcall(e.is_a, e, "NoResultFund")
    assert.is_false(ok)
    assert.matches("'NoResultFund'", err.message)
  end)

  it("come back from pcall as the same object", function()
    local e = exc.OperationalError("gone")
    local ok, err = pcall(error, e)
    assert.is_false(ok)
    assert.equal(e, err)
  end)

  it("concatenate like strings", function()
    local e = exc.ArgumentError("bad")
    assert.equal("failed: ArgumentError: bad", "failed: " .. e)
    assert.equal("ArgumentError: bad!", e .. "!")
  end)
end)

describe("qs.exc tostring", function()
  it("shows the class and message", function()
    assert.equal("IntegrityError: UNIQUE constraint failed: t.x",
      tostring(exc.IntegrityError("UNIQUE constraint failed: t.x")))
  end)

  it("adds the SQL and the parameters when set", function()
    local e = exc.ProgrammingError('near "SELEC": syntax error',
      {statement = "SELEC :x", params = {x = "it's"}})
    assert.equal('ProgrammingError: near "SELEC": syntax error\n[SQL: SELEC :x]\n' ..
      '[parameters: {x = "it\'s"}]', tostring(e))
  end)

  it("leaves out the parameters when there are none", function()
    local s = tostring(exc.ProgrammingError("x", {statement = "SELECT 1"}))
    assert.equal("ProgrammingError: x\n[SQL: SELECT 1]", s)
  end)

  it("shows the SQL without parameters and parameters without SQL", function()
    assert.equal("DataError: x\n[parameters: {1, 2}]", tostring(exc.DataError("x", {params = {1, 2}})))
  end)

  it("quotes strings with %q", function()
    local s = tostring(exc.DataError("x", {params = {"a\nb", 'q"'}}))
    assert.equal("DataError: x\n[parameters: {" .. string.format("%q", "a\nb") .. ", " ..
      string.format("%q", 'q"') .. "}]", s)
  end)

  it("shows nested tables and sorted keys", function()
    local s = exc.render_value({1, 2, b = {c = true}, a = "x", [10] = 5})
    assert.equal('{1, 2, [10] = 5, a = "x", b = {c = true}}', s)
  end)

  it("cuts nesting deeper than three levels", function()
    assert.equal("{{{{...}}}}", exc.render_value({{{{{1}}}}}))
  end)

  it("truncates long values in the middle, saying how much (as SQLAlchemy)", function()
    local long = string.rep("a", 2000) .. string.rep("y", 3000)
    local s = tostring(exc.DataError("x", {params = {long, 7}}))
    local shown = s:match("%[parameters: (.*)%]$")
    assert.equal('{"' .. string.rep("a", 150) .. ' ... (4700 characters truncated) ... ' ..
      string.rep("y", 150) .. '", 7}', shown)
  end)

  it("truncates long renderings with ...", function()
    local s = exc.render_value({string.rep("y", 5000)})
    assert.equal(303, #s)
    assert.equal("...", s:sub(-3))
    local many = {}
    for i = 1, 500 do many[i] = i end
    local shown = tostring(exc.DataError("x", {params = many})):match("%[parameters: (.*)%]$")
    assert.equal(1003, #shown)
    assert.equal("...", shown:sub(-3))
  end)

  it("shows the first 8 and the last 2 sets of a long executemany", function()
    local sets = {}
    for i = 1, 25 do sets[i] = {id = i} end
    local e = exc.DataError("x", {params = sets, executemany = true})
    assert.equal("DataError: x\n[parameters: {{id = 1}, {id = 2}, {id = 3}, {id = 4}, {id = 5}, " ..
      "{id = 6}, {id = 7}, {id = 8}, ... displaying 10 of 25 total bound parameter sets ..., " ..
      "{id = 24}, {id = 25}}]", tostring(e))
    -- a positional set shows as a list, its NULL holes as nil
    assert.equal("DataError: x\n[parameters: {1, nil, 3}]",
      tostring(exc.DataError("x", {params = {1, nil, 3, n = 3}})))
  end)

  -- Bounded work, counted in Lua VM instructions (the same on every run; no
  -- clock): rendering 200,000 rows costs what rendering 40 does, since both
  -- stop at the limit.
  local function instructions(fn)
    local count = 0
    if jit then jit.off() end   -- LuaJIT calls no count hook in compiled code
    debug.sethook(function() count = count + 1 end, "", 100)
    local ok, res = pcall(fn)
    debug.sethook()
    if jit then jit.on() end
    assert(ok, res)
    return count, res
  end

  it("stays short, and does bounded work, on a huge executemany list", function()
    local function rows(n)
      local r = {}
      for i = 1, n do r[i] = {id = i, name = "row" .. i} end
      return r
    end
    local small, huge = rows(40), rows(200000)
    local c_small, s_small = instructions(function() return exc.render_value(small) end)
    local c_huge, s_huge = instructions(function() return exc.render_value(huge) end)
    assert.equal(303, #s_huge)
    assert.equal(s_small, s_huge)
    assert.is_true(c_huge <= c_small + 2, c_huge .. " vs " .. c_small)
    local e = exc.DataError("x", {params = huge, executemany = true})
    local c_err = instructions(function() return tostring(e) end)
    local e40 = exc.DataError("x", {params = small, executemany = true})
    local c_err40 = instructions(function() return tostring(e40) end)
    assert.is_true(c_err <= c_err40 + 2, c_err .. " vs " .. c_err40)
  end)

  it("renders cycles, functions, userdata and coroutines without failing", function()
    local cyc = {}
    cyc.self = cyc
    local s = tostring(exc.DataError("bad", {params = {cyc, io.stdout, print, coroutine.create(function() end)}}))
    assert.matches("{self = <cycle>}", s, 1, true)
    assert.matches("function", s)
    assert.matches("file", s)
    assert.matches("thread", s)
  end)

  it("survives a __tostring that raises or returns a non-string", function()
    local boom = setmetatable({}, {__tostring = function() error("no") end})
    local odd = setmetatable({}, {__tostring = function() return {} end})
    local s = exc.render_value({boom, odd})
    assert.equal("{<table>, <table>}", s)
    assert.matches("^DataError: <table>", tostring(exc.DataError(boom)))
  end)

  it("survives __index, __pairs and __len that raise", function()
    local hostile = setmetatable({1, k = "v"}, {
      __index = function() error("index") end,
      __pairs = function() error("pairs") end,
      __len = function() error("len") end,
    })
    assert.equal('{1, k = "v"}', exc.render_value(hostile))
  end)

  it("renders table keys in brackets", function()
    assert.equal('{["a b"] = 1}', exc.render_value({["a b"] = 1}))
  end)

  it("uses an object's own tostring", function()
    local obj = setmetatable({}, {__tostring = function() return "NULL" end})
    assert.equal("{NULL}", exc.render_value({obj}))
  end)
end)

describe("qs.exc functions", function()
  it("new() builds by class name", function()
    local e = exc.new("OperationalError", "database is locked",
      {orig = {code = 5}, connection_invalidated = true})
    assert.is_true(e:is_a(exc.OperationalError))
    assert.equal("database is locked", e.message)
    assert.equal(5, e.orig.code)
    assert.is_true(e.connection_invalidated)
  end)

  it("new() raises a plain Lua error on an unknown class name", function()
    local ok, err = pcall(exc.new, "NoSuchError", "x")
    assert.is_false(ok)
    assert.equal("string", type(err))
    assert.matches("unknown error class 'NoSuchError'", err)
  end)

  it("raise() raises the object itself", function()
    local ok, err = pcall(exc.raise, exc.NoResultFound, "nothing", {statement = "SELECT"})
    assert.is_false(ok)
    assert.is_true(exc.is_error(err))
    assert.is_true(err:is_a(exc.NoResultFound))
    assert.equal("nothing", err.message)
    assert.equal("SELECT", err.statement)
  end)

  it("raise() accepts a class name", function()
    local ok, err = pcall(exc.raise, "TimeoutError", "pool exhausted")
    assert.is_false(ok)
    assert.is_true(err:is_a(exc.TimeoutError))
  end)

  it("is_error() tells error objects from anything else", function()
    assert.is_true(exc.is_error(exc.DataError("x")))
    assert.is_false(exc.is_error("a string"))
    assert.is_false(exc.is_error({name = "DataError", message = "x"}))
    assert.is_false(exc.is_error(nil))
    assert.is_false(exc.is_error(exc.DataError))   -- a class is not an error
  end)

  it("is_error() checks the class when given one", function()
    local e = exc.IntegrityError("x")
    assert.is_true(exc.is_error(e, exc.DBAPIError))
    assert.is_false(exc.is_error(e, exc.ArgumentError))
    assert.is_false(exc.is_error("x", exc.ArgumentError))
  end)

  it("wrap() returns error objects and foreign errors unchanged", function()
    local e = exc.DataError("x")
    local t = {}
    assert.equal(e, exc.wrap(e))
    assert.equal("oops", exc.wrap("oops"))
    assert.equal(t, exc.wrap(t))
  end)

  it("maps every C result code to a class that exists", function()
    local ok, core = pcall(require, "quicksilver.core")
    if not ok then pending("the C core is not built") return end
    for code, cls in pairs(core.code_classes()) do
      assert.is_not_nil(exc.class(cls), code .. " -> " .. cls)
    end
  end)
end)
