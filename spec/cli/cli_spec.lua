-- The quicksilver command (bin/quicksilver over quicksilver.cli.main) on
-- SQLite: `diagram` (the DOT of a database and of a models file, escaping,
-- the files Graphviz writes, its errors), the progress lines (--progress,
-- --quiet, quiet when stderr is not a terminal), `models` without the
-- migrations' version table, and every error ending with a newline.
local qs = require("quicksilver")
local main = require("quicksilver.cli.main")
local diagram = require("quicksilver.cli.diagram")
local progress = require("quicksilver.cli.progress")
local helpers = require("spec.helpers")

local function has_dot()
  local r = os.execute("command -v dot >/dev/null 2>&1")
  return r == true or r == 0
end

local function read(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

-- A fresh folder under /tmp.
local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  os.execute(string.format("mkdir -p %q", d))
  return d
end

-- Runs bin/quicksilver with args (a shell string) in cwd; returns the exit
-- code, stdout and stderr.
local root = os.getenv("PWD")
local function run(args, cwd)
  local err = os.tmpname()
  local p = io.popen(string.format("cd %q && LUA_PATH=%q LUA_CPATH=%q %q %q %s 2>%q; echo \"rc=$?\"",
    cwd or root, package.path, package.cpath, helpers.interpreter(), root .. "/bin/quicksilver", args, err))
  local out = p:read("*a")
  p:close()
  local body, rc = out:match("^(.-)rc=(%d+)%s*$")
  local stderr = read(err)
  os.remove(err)
  return tonumber(rc), body, stderr
end

-- A database with users, orders (two keys to users), a table whose name
-- needs escaping and the migrations' version table.
local function shop(path)
  local engine = qs.create_engine("sqlite:///" .. path)
  engine:begin(function(conn)
    conn:exec_driver_sql("CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(30) NOT NULL)")
    conn:exec_driver_sql("CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL " ..
      "REFERENCES users(id), shipper_id INTEGER REFERENCES users(id))")
    conn:exec_driver_sql([[CREATE TABLE "odd<&>""name" (id INTEGER PRIMARY KEY, uid INTEGER REFERENCES users(id))]])
    conn:exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
  end)
  engine:dispose()
  return "sqlite:///" .. path
end

describe("quicksilver diagram", function()
  local dir, url
  before_each(function()
    dir = tmpdir()
    url = shop(dir .. "/shop.db")
  end)
  after_each(function() os.execute(string.format("rm -rf %q", dir)) end)

  it("prints the DOT of a database: a node per table with its columns, an edge per foreign key", function()
    local before = diagram.counters.diagrams
    local out, code, stream = main.run({"diagram", url, "--quiet"})
    assert.equal(0, code, out)
    assert.equal("stdout", stream)
    assert.equal(before + 1, diagram.counters.diagrams)
    assert.matches("^digraph schema {\n", out)
    assert.matches('"users" [label=<<TABLE', out, 1, true)
    assert.matches("<B>users</B>", out, 1, true)
    assert.matches("PK <U>id</U> <FONT COLOR=\"#555555\">Integer</FONT>", out, 1, true)
    assert.matches("name <FONT COLOR=\"#555555\">String(30) NOT NULL</FONT>", out, 1, true)
    assert.matches("FK user_id <FONT COLOR=\"#555555\">Integer NOT NULL</FONT>", out, 1, true)
    assert.matches('"orders" -> "users" [label="user_id -> id"];', out, 1, true)
    assert.matches('"orders" -> "users" [label="shipper_id -> id"];', out, 1, true)
    -- the version table is left out by default
    assert.is_nil(out:find("alembic_version", 1, true))
    assert.matches("}\n$", out)
  end)

  it("escapes names for DOT strings and HTML labels", function()
    local out = main.run({"diagram", url, "--quiet"})
    assert.matches('"odd<&>\\"name" [label=<', out, 1, true)
    assert.matches("<B>odd&lt;&amp;&gt;&quot;name</B>", out, 1, true)
    assert.matches('"odd<&>\\"name" -> "users" [label="uid -> id"];', out, 1, true)
    assert.equal("&lt;a&gt; &amp; &quot;b&quot; &#39;c&#39;", diagram.html_escape("<a> & \"b\" 'c'"))
    assert.equal('"a\\"b\\\\c"', diagram.dot_quote('a"b\\c'))
    if has_dot() then
      -- Graphviz reads the file: the names did not break it
      local f = dir .. "/d.svg"
      local res, code = main.run({"diagram", url, "-o", f, "--quiet"})
      assert.equal(0, code, res)
      assert.matches("odd&lt;&amp;&gt;&quot;name", read(f), 1, true)
    end
  end)

  it("keeps the tables asked for: --include, --exclude, --include-version-table", function()
    local out = main.run({"diagram", url, "--include", "users,orders", "--quiet"})
    assert.matches('"orders" -> "users"', out, 1, true)
    assert.is_nil(out:find("odd", 1, true))
    out = main.run({"diagram", url, "--exclude", "users", "--quiet"})
    assert.is_nil(out:find('"users"', 1, true))
    -- no edge to a table left out
    assert.is_nil(out:find("->", 1, true))
    out = main.run({"diagram", url, "--include-version-table", "--quiet"})
    assert.matches("<B>alembic_version</B>", out, 1, true)
    -- the version table's name comes from the migrations' env.lua
    os.execute(string.format("mkdir -p %q", dir .. "/m"))
    write(dir .. "/m/env.lua", 'return {url = "sqlite://", version_table = "users"}\n')
    out = main.run({"diagram", url, "-d", dir .. "/m", "--quiet"})
    assert.is_nil(out:find("<B>users</B>", 1, true))
    assert.matches("<B>alembic_version</B>", out, 1, true)
  end)

  it("draws the models of a models file (Base, MetaData or env.lua's target_metadata)", function()
    write(dir .. "/parts.lua", [[
local qs = require("quicksilver")
return {
  id = function() return qs.Column("id", qs.Integer, {primary_key = true}) end,
}
]])
    write(dir .. "/models.lua", [[
local qs = require("quicksilver")
local orm = require("quicksilver.orm")
local parts = require("parts")   -- a neighbour of the models file
local Base = orm.declarative_base()
local M = {Base = Base}
M.Author = Base:model("Author", {__tablename = "authors", id = orm.mapped_column(qs.Integer, {primary_key = true}),
  name = orm.mapped_column(qs.String(40), {nullable = false})})
M.Book = Base:model("Book", {__tablename = "books", id = orm.mapped_column(qs.Integer, {primary_key = true}),
  author_id = orm.mapped_column(qs.ForeignKey("authors.id"))})
return M
]])
    local out, code = main.run({"diagram", dir .. "/models.lua"})
    assert.equal(0, code, out)
    assert.matches("<B>authors</B>", out, 1, true)
    assert.matches('"books" -> "authors" [label="author_id -> id"];', out, 1, true)
    write(dir .. "/env.lua", 'return {target_metadata = require("models").Base.metadata}\n')
    local out2 = main.run({"diagram", dir .. "/env.lua"})
    assert.equal(out, out2)
    write(dir .. "/nothing.lua", "return 42\n")
    out, code = main.run({"diagram", dir .. "/nothing.lua"})
    assert.equal(1, code)
    assert.matches("returns no models", out, 1, true)
    assert.matches("\n$", out)
  end)

  it("writes DOT for -o x.dot and SVG/PNG through Graphviz; other extensions are refused", function()
    local res, code = main.run({"diagram", url, "-o", dir .. "/s.dot", "--quiet"})
    assert.equal(0, code, res)
    assert.equal("", res)
    assert.equal(main.run({"diagram", url, "--quiet"}), read(dir .. "/s.dot"))
    res, code = main.run({"diagram", url, "-o", dir .. "/s.txt"})
    assert.equal(1, code)
    assert.matches("the extension names the format", res, 1, true)
    if has_dot() then
      res, code = main.run({"diagram", url, "-o", dir .. "/s.svg", "--quiet"})
      assert.equal(0, code, res)
      local svg = read(dir .. "/s.svg")
      assert.matches("<svg", svg, 1, true)
      assert.matches(">orders<", svg, 1, true)
      res, code = main.run({"diagram", url, "-o", dir .. "/s.png", "--quiet"})
      assert.equal(0, code, res)
      assert.equal("\137PNG", read(dir .. "/s.png"):sub(1, 4))
      -- a path the shell would expand or split is passed as it is
      local odd = dir .. "/it's $HOME `x`.svg"
      res, code = main.run({"diagram", url, "-o", odd, "--quiet"})
      assert.equal(0, code, res)
      assert.matches("<svg", read(odd), 1, true)
    end
  end)

  it("says which command and package are missing when Graphviz is not there", function()
    diagram.dot_command = "qs-no-such-dot-command"
    local res, code, stream = main.run({"diagram", url, "-o", dir .. "/s.svg", "--quiet"})
    diagram.dot_command = nil
    assert.equal(1, code)
    assert.equal("stderr", stream)
    assert.matches("`dot`", res, 1, true)
    assert.matches("graphviz", res, 1, true)
    assert.matches("-o schema.dot", res, 1, true)
    assert.matches("\n$", res)
    assert.is_nil(read(dir .. "/s.svg"))
  end)

  it("refuses what is not a diagram option, with the usage", function()
    local res, code = main.run({"diagram"})
    assert.equal(2, code)
    assert.matches("give a database URL or a models file", res, 1, true)
    res, code = main.run({"diagram", url, "--colour"})
    assert.equal(2, code)
    assert.matches("unknown option '--colour'", res, 1, true)
    res, code = main.run({"inspect", url, "-o", "x.svg"})
    assert.equal(2, code)
    assert.matches("the option -o is not one of inspect's", res, 1, true)
    res, code = main.run({"diagram", url, "--progress", "--quiet"})
    assert.equal(2, code)
  end)
end)

describe("quicksilver models", function()
  local dir, url
  before_each(function()
    dir = tmpdir()
    url = shop(dir .. "/shop.db")
  end)
  after_each(function() os.execute(string.format("rm -rf %q", dir)) end)

  it("leaves the migrations' version table out unless asked", function()
    local out, code = main.run({"models", url, "--quiet"})
    assert.equal(0, code, out)
    assert.matches('__tablename = "users"', out, 1, true)
    assert.is_nil(out:find("alembic_version", 1, true))
    out = main.run({"models", url, "--include-version-table", "--quiet"})
    assert.matches('__tablename = "alembic_version"', out, 1, true)
    out = main.run({"models", url, "--version-table", "orders", "--quiet"})
    assert.is_nil(out:find('__tablename = "orders"', 1, true))
    assert.matches('__tablename = "alembic_version"', out, 1, true)
  end)

  it("takes the version table's name from migrations/env.lua in the working directory", function()
    os.execute(string.format("mkdir -p %q", dir .. "/migrations"))
    write(dir .. "/migrations/env.lua", 'return {url = "sqlite://", version_table = "orders"}\n')
    local rc, out, err = run("models " .. url .. " --quiet", dir)
    assert.equal(0, rc, err)
    assert.is_nil(out:find('__tablename = "orders"', 1, true))
    assert.matches('__tablename = "alembic_version"', out, 1, true)
  end)
end)

describe("progress lines", function()
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function() os.execute(string.format("rm -rf %q", dir)) end)

  local function migrations(rows)
    os.execute(string.format("mkdir -p %q", dir .. "/migrations/versions"))
    write(dir .. "/migrations/env.lua", string.format("return {url = %q}\n", "sqlite:///" .. dir .. "/app.db"))
    write(dir .. "/migrations/versions/a1_users.lua", string.format([[
local qs = require("quicksilver")
return {revision = "a1", down_revision = nil, message = "users",
  upgrade = function(op)
    local users = op.create_table("users", qs.Column("id", qs.Integer, {primary_key = true}),
      qs.Column("name", qs.String(30)))
    local rows = {}
    for i = 1, %d do rows[i] = {id = i, name = "u" .. i} end
    op.bulk_insert(users, rows)
  end,
  downgrade = function(op) op.drop_table("users") end}
]], rows))
  end

  it("prints a line per bulk_insert with its rows and seconds under --progress", function()
    migrations(2500)
    local rc, out, err = run("migrate upgrade --progress", dir)
    assert.equal(0, rc, err)
    assert.matches("^bulk_insert users: 2500 rows, %d+%.%d+ s\n$", err)
    assert.matches("upgrade a1 users", out, 1, true)
  end)

  it("prints a line for autogenerate's comparison", function()
    migrations(1)
    write(dir .. "/migrations/env.lua", string.format([[
local qs = require("quicksilver")
local md = qs.MetaData()
qs.Table("users", md, qs.Column("id", qs.Integer, {primary_key = true}), qs.Column("name", qs.String(30)))
qs.Table("tags", md, qs.Column("id", qs.Integer, {primary_key = true}))
return {url = %q, target_metadata = md}
]], "sqlite:///" .. dir .. "/app.db"))
    local rc, _, err = run("migrate upgrade", dir)
    assert.equal(0, rc, err)
    rc, _, err = run("migrate check --progress", dir)
    assert.equal(3, rc, err)
    assert.matches("^compare: 2 tables of the models with the database, 1 differences, %d+%.%d+ s\n", err)
    assert.matches("add_table tags", err, 1, true)
  end)

  it("is quiet when stderr is not a terminal, and under --quiet", function()
    migrations(10)
    local rc, _, err = run("migrate upgrade", dir)
    assert.equal(0, rc, err)
    assert.equal("", err)
    rc, _, err = run("migrate downgrade base --quiet", dir)
    assert.equal(0, rc, err)
    assert.equal("", err)
    rc, _, err = run("inspect sqlite:///" .. dir .. "/app.db", dir)
    assert.equal(0, rc, err)
    assert.equal("", err)
  end)

  it("shows by itself when stderr is a terminal (a pseudo-terminal made by script(1))", function()
    local r = os.execute("command -v script >/dev/null 2>&1")
    if not (r == true or r == 0) then return end
    local url = shop(dir .. "/shop.db")
    local cmd = string.format("LUA_PATH=%q LUA_CPATH=%q %q %q inspect %s > /dev/null", package.path, package.cpath,
      helpers.interpreter(), root .. "/bin/quicksilver", url)
    local p = io.popen(string.format("script -qec %q /dev/null < /dev/null 2>&1", cmd))
    local out = p:read("*a")
    p:close()
    assert.matches("inspect: 4 tables, %d+%.%d+ s", out)
    p = io.popen(string.format("script -qec %q /dev/null < /dev/null 2>&1", cmd:gsub(" > /dev/null$", " --quiet > /dev/null")))
    out = p:read("*a")
    p:close()
    assert.is_nil(out:find("inspect:", 1, true))
  end)

  it("prints a line per table inspected, and one for the whole", function()
    local url = shop(dir .. "/shop.db")
    local rc, out, err = run("inspect " .. url .. " --progress", dir)
    assert.equal(0, rc, err)
    assert.matches("table users", out, 1, true)
    assert.matches("inspect users: table %d/4, 2 columns, %d+%.%d+ s\n", err)
    assert.matches("inspect: 4 tables, %d+%.%d+ s\n$", err)
    rc, _, err = run("models " .. url .. " --progress", dir)
    assert.equal(0, rc, err)
    assert.matches("^reflect: 3 tables, %d+%.%d+ s\n$", err)
  end)

  it("counts its lines, and writes none when disabled", function()
    local lines = {}
    local stream = {write = function(_, ...) lines[#lines + 1] = table.concat({...}) end}
    local before = progress.counters.lines
    local p = progress.new("on", stream)
    p:line("one")
    p:sink()("two")
    assert.same({"one\n", "two\n"}, lines)
    assert.equal(before + 2, progress.counters.lines)
    local q = progress.new("off", stream)
    q:line("three")
    assert.is_nil(q:sink())
    assert.equal(2, #lines)
    -- without a mode it follows stderr (a file or a pipe under make test, a terminal by hand)
    assert.equal(progress.stderr_is_terminal(), progress.new(nil, stream).enabled)
    assert.equal("0.250 s", progress.seconds(0.25))
    assert.equal("12.5 s", progress.seconds(12.5))
  end)
end)

describe("quicksilver errors", function()
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function() os.execute(string.format("rm -rf %q", dir)) end)

  it("end with a newline on stderr, with the exit code of cli.main.EXIT, on every command", function()
    os.execute(string.format("mkdir -p %q", dir .. "/migrations/versions"))
    write(dir .. "/migrations/env.lua", "return {}\n")
    write(dir .. "/bad_env.lua", "return {url = 'sqlite://', bogus = 1}\n")
    local cases = {
      {"", 2, "usage: quicksilver"},
      {"frobnicate", 2, "unknown command 'frobnicate'"},
      {"inspect", 2, "give the database URL"},
      {"inspect nosuch://x", 1, "quicksilver inspect: "},
      {"models nosuch://x", 1, "quicksilver models: "},
      {"models sqlite:///x.db -d nowhere", 1, "there is no nowhere/env.lua"},
      {"diagram missing_models.lua", 1, "cannot load the models missing_models.lua"},
      {"diagram sqlite:///x.db --include", 2, "--include needs a value"},
      {"migrate upgrade", 1, "no database URL"},
      {"migrate upgrade --autogenrate", 2, "unknown option '--autogenrate'"},
      {"migrate frob", 2, "usage: quicksilver migrate"},
      {"migrate stamp", 2, "usage: quicksilver migrate"},
      {"migrate history -r nope", 1, "history: a range is written FROM:TO"},
      {"migrate upgrade zzz --url sqlite://", 1, "quicksilver migrate: no revision zzz in migrations/versions"},
      {"migrate revision --autogenerate -m x --url sqlite://", 1,
        "quicksilver migrate: autogenerate and check need target_metadata"},
    }
    for _, case in ipairs(cases) do
      local rc, out, err = run(case[1], dir)
      assert.equal(case[2], rc, case[1] .. ": " .. tostring(err))
      assert.equal("", out, case[1])
      assert.matches(case[3], err, 1, true)
      assert.equal("\n", err:sub(-1), case[1] .. " ends without a newline: " .. err)
      assert.is_nil(err:find("\n\n$"), case[1] .. " ends with an empty line")
    end
    -- the same through cli.main.run, with the stream it names
    for _, case in ipairs(cases) do
      local args = {}
      for a in case[1]:gmatch("%S+") do args[#args + 1] = a end
      if args[1] ~= "models" and args[1] ~= "migrate" and args[1] ~= "diagram" then
        local out, code, stream = main.run(args)
        assert.equal(case[2], code, case[1])
        assert.equal("stderr", stream)
        assert.equal("\n", out:sub(-1))
      end
    end
  end)

  it("keeps the successful commands' output on stdout", function()
    local rc, out, err = run("version")
    assert.equal(0, rc)
    assert.matches("^quicksilver %S+ %(Lua", out)
    assert.equal("", err)
    rc, out = run("help")
    assert.equal(0, rc)
    assert.matches("diagram SOURCE", out, 1, true)
    rc, out = run("migrate help")
    assert.equal(0, rc)
    assert.matches("usage: quicksilver migrate", out, 1, true)
  end)
end)
