-- No per-dialect branch in C outside the dialect files: the compiler and the
-- core ask the dialect object (its capability flags, spelling values and
-- render hooks, c/include/quicksilver.h), never "which database is this?".
-- This spec greps c/ for the two ways such a question was asked: a
-- dialect's name compared as a string literal (strcmp, or a helper such as
-- is_dialect(c, "mysql")), and the identifier quote character compared (a
-- backtick standing for "MySQL"); and lua/quicksilver/ for the quote
-- character compared. Lua's comparisons of dialect names are
-- spec/sql/dialect_questions_spec.lua's.
--
-- Where such a line may stand: the dialect files themselves (c/dialect/,
-- lua/quicksilver/dialects/), and c/test/, whose tests pin each dialect's
-- output and pick a test server by name. No other file is exempt.
local sources = require("spec.support.sources")

local NAMES = {"sqlite", "postgresql", "mysql", "mariadb"}

local function escape(s) return (s:gsub("%p", "%%%0")) end

-- The patterns of a dialect question, per language.
local C_PATTERNS = {"quote_open%s*[!=]=", "quote_close%s*[!=]=", "[!=]=%s*'`'", "'`'%s*[!=]="}
local LUA_PATTERNS = {"quote%w*%s*[~=]=", "[~=]=%s*[\"']`[\"']", "[\"']`[\"']%s*[~=]="}
for _, name in ipairs(NAMES) do
  local lit = '"' .. escape(name) .. '"'
  C_PATTERNS[#C_PATTERNS + 1] = "str%w*cmp%s*%([^;]*" .. lit
  C_PATTERNS[#C_PATTERNS + 1] = "is_%w*%s*%([^;]*" .. lit
end

local function is_lua(path) return path:sub(-4) == ".lua" end

local function exempt(path)
  return path:find("^c/dialect/") or path:find("^lua/quicksilver/dialects/") or path:find("^c/test/")
end

-- "path:line: text" for each dialect question in one file's text.
local function questions(path, text)
  local found, n = {}, 0
  local patterns = is_lua(path) and LUA_PATTERNS or C_PATTERNS
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    local code = is_lua(path) and line:gsub("%-%-.*$", "") or line:gsub("/%*.-%*/", ""):gsub("//.*$", "")
    for _, p in ipairs(patterns) do
      if code:find(p) then
        found[#found + 1] = string.format("%s:%d: %s", path, n, (line:gsub("^%s+", "")))
        break
      end
    end
  end
  return found
end

describe("no per-dialect branch outside the dialect files", function()
  it("finds a dialect's name or quote compared in C, a quote compared in Lua", function()
    local cases = {
      {"c/compiler/x.c", 'if (strcmp(c->d->name, "sqlite") == 0) {', true},
      {"c/compiler/x.c", '  if (is_dialect(c, "mariadb")) qsC_error(c, 0, "x");', true},
      {"c/core/x.c", "static int is_mysql(const qs_dialect *d) { return d->quote_open == '`'; }", true},
      {"c/core/x.c", "  if (c->d->quote_open != '\"') return;", true},
      {"c/core/x.c", '  lua_pushstring(L, "mysql");', false},
      {"c/core/x.c", '  /* strcmp(name, "mysql") was the old way */', false},
      {"c/core/x.c", '  if (qs_dialect_can(d, QS_CAP(FULL_JOIN))) {', false},
      {"lua/quicksilver/orm/x.lua", 'if dialect.caps.quote == "`" then', true},
      {"lua/quicksilver/orm/x.lua", "if q ~= '`' then", true},
      {"lua/quicksilver/orm/x.lua", 'local q = dialect.caps.quote -- not == "`"', false},
    }
    for _, c in ipairs(cases) do
      local hit = #questions(c[1], c[2]) > 0
      assert(hit == c[3], string.format("%s: %s should %sbe found", c[1], c[2], c[3] and "" or "not "))
    end
    assert.truthy(exempt("c/dialect/x.c") and exempt("lua/quicksilver/dialects/mysql.lua") and exempt("c/test/x.c"))
    assert.falsy(exempt("c/compiler/stmt.c") or exempt("c/core/render.c") or exempt("lua/quicksilver/sql/ddl.lua"))
  end)

  it("finds none in c/ and lua/quicksilver/", function()
    local bad = {}
    for _, path in ipairs(sources.find("find c lua/quicksilver -name '*.c' -o -name '*.h' -o -name '*.lua'")) do
      if not exempt(path) then
        for _, q in ipairs(questions(path, sources.read(path))) do bad[#bad + 1] = q end
      end
    end
    assert(#bad == 0, "per-dialect branches outside the dialect files (ask a capability or a hook):\n"
      .. table.concat(bad, "\n"))
  end)
end)
