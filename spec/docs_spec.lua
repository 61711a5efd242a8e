-- Every fenced code block of README.md, docs/ and examples/ runs as the
-- contract of spec/support/doc_blocks.lua says: the lua programs (each in its
-- own process, in a fresh temporary directory) exit 0 and their
-- `print(x)  --> text` lines print that text; fragments compile. The
-- blocks for a server run in the pass of make test against it
-- (QS_BACKEND=postgresql / mysql with QS_PG_URL / QS_MYSQL_URL): the SQLite
-- pass reports them as pending, never as passed, and the server passes run
-- nothing else from here.
local helpers = require("spec.helpers")
local docs = require("spec.support.doc_blocks")

local function root_dir()
  local p = io.popen("pwd")
  local d = p:read("*l")
  p:close()
  return d
end

local ROOT = root_dir()

-- quicksilver on the path, nothing of the specs; relative entries of the
-- run's cpath made absolute (the program runs elsewhere)
local function lua_cpath()
  local out = {}
  for entry in package.cpath:gmatch("[^;]+") do
    if entry:sub(1, 1) ~= "/" then entry = ROOT .. "/" .. entry end
    out[#out + 1] = entry
  end
  return table.concat(out, ";") .. ";;"
end

-- the interpreter the specs run in (a relative path made absolute: the
-- programs run elsewhere)
local function interpreter()
  local i = helpers.interpreter()
  if i:find("/", 1, true) and i:sub(1, 1) ~= "/" then i = ROOT .. "/" .. i end
  return i
end

local OPTS = {
  interpreter = interpreter(),
  lua_path = ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;;",
  lua_cpath = lua_cpath(),
}

local backend = helpers.backend
local URL_VAR = {postgresql = "QS_PG_URL", mysql = "QS_MYSQL_URL"}

-- The server's database emptied, so that each block starts as a reader's would.
local function empty_database(url)
  local qs = require("quicksilver")
  local engine = qs.create_engine(url)
  engine:begin(function(conn) engine.dialect.drop_everything(conn) end)
  engine:dispose()
end

local function title(prog)
  local first = prog.first
  if #first > 60 then first = first:sub(1, 57) .. "..." end
  return string.format("%s:%d `%s`", prog.path, prog.line, first)
end

-- How many programs run at once: twice the processors, as each spends
-- part of its time starting (the programs of the SQLite pass share
-- nothing; the server ones run one at a time, each on a database emptied
-- first).
local function processors()
  local p = io.popen("getconf _NPROCESSORS_ONLN 2>/dev/null")
  local n = tonumber(p and p:read("*l") or "")
  if p then p:close() end
  return 2 * math.max(1, n or 1)
end

-- The SQLite programs, run together the first time one's result is asked for.
local batch, batch_results = {}, nil
local function result_of(index)
  if not batch_results then batch_results = docs.run_all(batch, OPTS, processors()) end
  return (table.unpack or unpack)(batch_results[index])
end

describe("doc code blocks", function()
  -- the docs' programs are Lua 5.4 programs (README's `<close>`): they run
  -- in the Lua 5.4 pass only
  if type(jit) == "table" then
    pending("the doc blocks run in the Lua 5.4 pass of make test")
    return
  end
  for _, path in ipairs(docs.files(ROOT)) do
    local blocks = docs.parse(assert(docs.read_file(ROOT .. "/" .. path)), path)
    for _, prog in ipairs(docs.programs(blocks)) do
      if prog.error then
        if backend == "sqlite" then
          it(title(prog), function()
            error(string.format("%s:%d: %s", prog.path, prog.line, prog.error), 0)
          end)
        end
      elseif prog.fragment then
        if backend == "sqlite" then
          it(title(prog) .. " compiles (fragment)", function()
            local err = docs.compile(prog)
            if err then error(err, 0) end
          end)
        end
      elseif prog.server == nil then
        if backend == "sqlite" then
          batch[#batch + 1] = prog
          local index = #batch
          it(title(prog) .. " runs", function()
            local ok, out, rc = result_of(index)
            if not ok then
              error(string.format("%s:%d: the block starting `%s` exited with %s; its output:\n%s",
                prog.path, prog.line, prog.first, tostring(rc), out), 0)
            end
          end)
        end
      elseif backend == prog.server then
        it(title(prog) .. " runs on " .. prog.server, function()
          local url = os.getenv(URL_VAR[prog.server])
          assert(url, URL_VAR[prog.server] .. " is not set: start the servers with spec/support/servers.sh")
          empty_database(url)
          local opts = {interpreter = OPTS.interpreter, lua_path = OPTS.lua_path,
            lua_cpath = OPTS.lua_cpath, url = url}
          local ok, out, rc = docs.run(prog, opts)
          if not ok then
            error(string.format("%s:%d: the %s block starting `%s` exited with %s; its output:\n%s",
              prog.path, prog.line, prog.server, prog.first, tostring(rc), out), 0)
          end
        end)
      elseif backend == "sqlite" then
        pending(title(prog) .. ": needs " .. prog.server .. " (runs in make test's " .. prog.server ..
          " pass, or QS_BACKEND=" .. prog.server .. " " .. URL_VAR[prog.server] .. "=...)")
      end
    end
  end
end)

describe("the doc block runner", function()
  it("checks `print(x)  --> text` lines", function()
    local code = docs.rewrite_checks('local t = {}\nprint(1 + 1)  --> 2\n  print("a", "b") --> a\tb\nprint(x) -- not a check\n')
    assert.equals('local t = {}\n__qs_doc_check("2", 1 + 1)\n  __qs_doc_check("a\\9b", "a", "b")\nprint(x) -- not a check\n', code)
  end)

  it("chains continued blocks and maps program lines to the Markdown", function()
    local md = "x\n```lua\nlocal a = 1\n```\n\n```sh\nls\n```\n```lua continued\nprint(a)  --> 1\n```\n"
    local progs = docs.programs(docs.parse(md, "T.md"))
    assert.equals(1, #progs)
    assert.equals("local a = 1\nprint(a)  --> 1\n", progs[1].source)
    assert.equals("T.md:3", docs.position(progs[1], 1))
    assert.equals("T.md:10", docs.position(progs[1], 2))
  end)

  it("refuses a fence without a language and unknown words", function()
    local progs = docs.programs(docs.parse("```\nx\n```\n```lua postgres\nx = 1\n```\n", "T.md"))
    assert.equals(2, #progs)
    assert.matches("names no language", progs[1].error)
    assert.matches("unknown word 'postgres'", progs[2].error)
  end)

  it("replaces server URLs in string literals", function()
    local src = docs.replace_urls('e = qs.create_engine("postgresql://scott:tiger@localhost/test")\n',
      "postgresql", "postgresql://u@h:1/d")
    assert.equals('e = qs.create_engine("postgresql://u@h:1/d")\n', src)
  end)

  it("fails a program whose print differs from its --> text, naming the Markdown line", function()
    local progs = docs.programs(docs.parse("```lua\nlocal a = 1\nprint(a + 1)  --> 3\n```\n", "T.md"))
    local ok, out = docs.run(progs[1], OPTS)
    assert.is_false(ok)
    assert.matches("T.md:3: print wrote %[2%], the block says %-%-> %[3%]", out)
  end)

  it("runs programs side by side, each with its own result and directory", function()
    local progs = docs.programs(docs.parse("```lua\nlocal f = assert(io.open('x.db', 'w')); f:close()\n" ..
      "print(#io.open('x.db'):read('*a'))  --> 0\n```\n```lua\nassert(io.open('x.db') == nil)\nerror('boom')\n```\n", "T.md"))
    local results = docs.run_all(progs, OPTS, 2)
    assert.is_true(results[1][1])
    assert.is_false(results[2][1])
    assert.matches("T.md:7: boom", results[2][2])
  end)
end)
