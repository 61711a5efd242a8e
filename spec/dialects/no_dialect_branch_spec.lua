-- No per-dialect branch outside the dialect files: code elsewhere asks the
-- dialect object (its capability flags, spelling values and render hooks,
-- c/include/quicksilver.h; dialect.caps in Lua), never "which database is
-- this?". This spec greps c/ and lua/quicksilver/ for the two ways such a
-- question was asked: a dialect's name compared as a string literal, and the
-- identifier quote character compared (a backtick standing for "MySQL").
--
-- Where such a line may stand:
--   * the dialect files themselves: c/dialect/ and lua/quicksilver/dialects/;
--   * c/test/: the C tests pin each dialect's output and pick a test server
--     by name;
--   * a line that compares a URL's backend name (it calls
--     :get_backend_name() on that line): choosing the dialect module, or the
--     driver options a URL may carry, by the URL's scheme is not a question
--     about a dialect's behaviour.
-- Nothing else is exempt: no file as a whole.

local NAMES = {"sqlite", "postgresql", "mysql", "mariadb"}

-- Lua files that still branch on a dialect's name, being fixed in parallel
-- (issue 18: L1 sql/ and engine/; L2's orm/ and L3's migrate/ and cli/ are
-- merged and clean). Each entry is a file and a Lua pattern of the
-- offending line; an entry that no longer matches fails too, so the list
-- only shrinks. The lead empties it at merge; C has no such list.
local PENDING_LUA_OFFENDERS = {
  {"lua/quicksilver/sql/ddl.lua", 'dialect_name ~= "postgresql"'},
  {"lua/quicksilver/sql/ddl.lua", 'local inline = conn%.dialect%.name == "sqlite"'},
  {"lua/quicksilver/sql/ddl.lua", 'if conn%.dialect%.name ~= "sqlite" then'},
  {"lua/quicksilver/engine/returning_many.lua", 'dname == "postgresql" and g%.n > 1'},
}

local function escape(s) return (s:gsub("%p", "%%%0")) end

-- The patterns of a dialect question, per language.
local C_PATTERNS, LUA_PATTERNS = {
  "quote_open%s*[!=]=", "quote_close%s*[!=]=", "[!=]=%s*'`'", "'`'%s*[!=]=",
}, {
  "quote%w*%s*[~=]=", "[~=]=%s*[\"']`[\"']", "[\"']`[\"']%s*[~=]=",
}
for _, name in ipairs(NAMES) do
  local lit = '"' .. escape(name) .. '"'
  -- strcmp(x, "mysql") and friends, a helper such as is_dialect(c, "mysql")
  C_PATTERNS[#C_PATTERNS + 1] = "str%w*cmp%s*%([^;]*" .. lit
  C_PATTERNS[#C_PATTERNS + 1] = "is_%w*%s*%([^;]*" .. lit
  for _, q in ipairs({'"', "'"}) do
    local l = q .. escape(name) .. q
    LUA_PATTERNS[#LUA_PATTERNS + 1] = "[~=]=%s*" .. l
    LUA_PATTERNS[#LUA_PATTERNS + 1] = l .. "%s*[~=]="
  end
end

local function is_lua(path) return path:sub(-4) == ".lua" end

local function exempt_file(path)
  return path:find("^c/dialect/") or path:find("^lua/quicksilver/dialects/") or path:find("^c/test/")
end

-- The dialect questions in one file's text: a list of "path:line: text".
local function offenders(path, text)
  local found, n = {}, 0
  local patterns = is_lua(path) and LUA_PATTERNS or C_PATTERNS
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    local code = is_lua(path) and line:gsub("%-%-.*$", "") or line:gsub("/%*.-%*/", ""):gsub("//.*$", "")
    if not code:find(":get_backend_name%(%)") then
      for _, p in ipairs(patterns) do
        if code:find(p) then
          found[#found + 1] = {path = path, line = n, text = line}
          break
        end
      end
    end
  end
  return found
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function source_files()
  local p = io.popen("find c lua/quicksilver -name '*.c' -o -name '*.h' -o -name '*.lua' | sort")
  local files = {}
  for path in p:lines() do files[#files + 1] = path end
  p:close()
  return files
end

local function is_pending(o)
  for _, e in ipairs(PENDING_LUA_OFFENDERS) do
    if o.path == e[1] and o.text:find(e[2]) then return e end
  end
end

describe("no per-dialect branch outside the dialect files", function()
  it("finds a dialect's name or quote compared, in C and in Lua", function()
    local cases = {
      {"c/compiler/x.c", 'if (strcmp(c->d->name, "sqlite") == 0) {', true},
      {"c/compiler/x.c", '  if (is_dialect(c, "mariadb")) qsC_error(c, 0, "x");', true},
      {"c/core/x.c", "static int is_mysql(const qs_dialect *d) { return d->quote_open == '`'; }", true},
      {"c/core/x.c", "  if (c->d->quote_open != '\"') return;", true},
      {"c/core/x.c", '  lua_pushstring(L, "mysql");', false},
      {"c/core/x.c", '  /* strcmp(name, "mysql") was the old way */', false},
      {"lua/quicksilver/orm/x.lua", 'if conn.dialect.name == "sqlite" then', true},
      {"lua/quicksilver/orm/x.lua", "if 'postgresql' ~= dname then", true},
      {"lua/quicksilver/orm/x.lua", 'if dialect.caps.quote == "`" then', true},
      {"lua/quicksilver/orm/x.lua", 'if caps.insert_returning then -- not == "mysql"', false},
      {"lua/quicksilver/orm/x.lua", 'local m = require("quicksilver.dialects.mysql")', false},
      {"lua/quicksilver/engine/x.lua", 'if u:get_backend_name() ~= "sqlite" then', false},
    }
    for _, c in ipairs(cases) do
      local hit = #offenders(c[1], c[2]) > 0
      assert(hit == c[3], string.format("%s: %s should %sbe found", c[1], c[2], c[3] and "" or "not "))
    end
    -- the same line in a dialect file is the dialect's own business
    assert.truthy(exempt_file("c/dialect/x.c") and exempt_file("lua/quicksilver/dialects/mysql.lua"))
    assert.falsy(exempt_file("c/compiler/stmt.c") or exempt_file("lua/quicksilver/sql/ddl.lua"))
  end)

  it("finds none in c/ and none but the pending ones in lua/quicksilver/", function()
    local bad, seen = {}, {}
    for _, path in ipairs(source_files()) do
      if not exempt_file(path) then
        for _, o in ipairs(offenders(path, read(path))) do
          local e = not path:find("^c/") and is_pending(o)
          if e then seen[e] = true
          else bad[#bad + 1] = string.format("%s:%d: %s", o.path, o.line, o.text) end
        end
      end
    end
    for _, e in ipairs(PENDING_LUA_OFFENDERS) do
      if not seen[e] then
        bad[#bad + 1] = string.format("%s: no line matches '%s' any more: remove it from PENDING_LUA_OFFENDERS",
          e[1], e[2])
      end
    end
    assert(#bad == 0, "per-dialect branches outside the dialect files (ask dialect.caps / a C hook):\n"
      .. table.concat(bad, "\n"))
  end)
end)
