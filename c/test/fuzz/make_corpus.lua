-- make_corpus.lua: writes the seed corpora of the fuzz targets
-- (c/test/fuzz/corpus/<target>/) from the protocol layouts and the inputs
-- below: realistic SQL, hostile identifiers and values, JSON documents,
-- PostgreSQL and MySQL server messages as the servers send them, SCRAM
-- exchanges (RFC 7677's example). Run from the repository root with Lua 5.4
-- (string.pack) after changing it: `lua5.4 c/test/fuzz/make_corpus.lua`.
-- The files are committed; `make test` replays them, `make fuzz` starts from
-- them.
local root = "c/test/fuzz/corpus/"

local function write(target, name, bytes)
  os.execute("mkdir -p " .. root .. target)
  local f = assert(io.open(root .. target .. "/" .. name, "wb"))
  f:write(bytes)
  f:close()
end

local function each(target, list)
  for i, s in ipairs(list) do write(target, string.format("seed_%03d", i), s) end
end

-- text(): SQL with binds, quotes of every dialect, comments, casts, escapes
each("text", {
  "SELECT * FROM users WHERE name = :name AND id > :id",
  "SELECT :a, :a, :b",
  "SELECT ':not_a_bind', \"col:x\", `col:y` FROM t -- :comment\nWHERE x = :x",
  "SELECT 1 /* :inside */ + :after",
  "SELECT x::INTEGER, :y::TEXT FROM t",
  "SELECT '\\:literal' , \\:escaped, :real",
  "SELECT 'a\\'' || :x",                       -- MySQL backslash quote
  "SELECT $$ :x $$, :y",                        -- PostgreSQL dollar quoting
  "SELECT E'\\'' , :z",                         -- PostgreSQL escape string
  "INSERT INTO t (a, b) VALUES (:a, :b) ON CONFLICT (a) DO UPDATE SET b = :b",
  "UPDATE t SET data = :data WHERE json_extract(data, '$.\"k:v\"') = :v",
  "SELECT ''''':a''", "SELECT :", ":a", "::", "\\", "'unterminated :x", "/* unterminated :x",
  "SELECT :_x1, :x_2, :\195\169t\195\169",
})

-- identifiers: plain, reserved, mixed case, quotes of every dialect, hostile
each("ident", {
  "users", "User", "select", "order", "a\"b", "a`b", "", "x; DROP TABLE y; --", "\"", "`",
  "a\"\"b", "1abc", "$x", "x$", "na\195\175ve", "a\0b", " ", "table name", "\"; DELETE FROM t --",
  "`; DELETE FROM t #", "a]b", "a'b", "\\", string.rep("x", 300),
})

-- literals: a type byte (0 NULL, 1 int, 2 float, 3 text, 4 blob, 5 bool), then the value
local function lit(t, s) return string.char(t) .. s end
each("literal", {
  lit(0, ""), lit(1, string.pack("<i8", 42)), lit(1, string.pack("<i8", math.mininteger)),
  lit(2, string.pack("<d", 3.25)), lit(2, string.pack("<d", -0.0)), lit(2, string.pack("<d", 0 / 0)),
  lit(2, string.pack("<d", 1 / 0)), lit(2, string.pack("<d", 1e-310)),
  lit(3, "plain"), lit(3, "it's"), lit(3, "\\'; DROP TABLE t; --"), lit(3, "a\0b"), lit(3, ""),
  lit(3, "\\\\''\\"), lit(3, "caf\195\169 \226\130\172"), lit(4, "\0\1\2\255'\\"), lit(4, ""),
  lit(5, string.pack("<i8", 1)), lit(5, string.pack("<i8", 0)),
  "\3\19\255\5\2" .. "VARCHAR with sizes", "\1\11\1\2\3" .. "autoinc INTEGER",
})

-- JSON documents, valid and not
each("json", {
  '{"a": 1, "b": [true, false, null], "c": {"d": "e"}}', "[]", "{}", "null", "0", "-0", "1.5e300",
  "1e400", "-1e-400", '"\\u00e9\\ud83d\\ude00\\n\\t\\"\\\\"', '"\\ud800"', '"\\udc00x"',
  "123456789012345678901234567890123456789012345678901234567890123456789",
  "9223372036854775807", "9223372036854775808", "-9223372036854775808",
  "[1, 2, 3, [4, [5, [6]]]]", string.rep("[", 200) .. string.rep("]", 200),
  string.rep('{"a":', 130) .. "1" .. string.rep("}", 130), '{"a":1,}', "[1,]", "tru", '"abc',
  '{"4294967297": 1}', '  {"k" : "v"}  ', '{"a":1}x', "\239\187\191{}", '"\0"',
})

-- PostgreSQL backend messages
local function pg(t, body) return t .. string.pack(">I4", #body + 4) .. body end
local function cstr(s) return s .. "\0" end
local function field(name, oid, size)
  return cstr(name) .. string.pack(">I4i2I4i2i4i2", 16384, 1, oid, size, -1, 0)
end
local function rowdesc(fields) return pg("T", string.pack(">i2", #fields) .. table.concat(fields)) end
local function datarow(cols)
  local parts = {string.pack(">i2", #cols)}
  for _, c in ipairs(cols) do
    if c == false then parts[#parts + 1] = string.pack(">i4", -1)
    else parts[#parts + 1] = string.pack(">i4", #c) .. c end
  end
  return pg("D", table.concat(parts))
end
local ready = pg("Z", "I")
local startup = pg("R", string.pack(">i4", 0)) ..
  pg("S", cstr("server_version") .. cstr("16.4 (Debian 16.4-1)")) ..
  pg("S", cstr("client_encoding") .. cstr("UTF8")) ..
  pg("S", cstr("DateStyle") .. cstr("ISO, MDY")) ..
  pg("K", string.pack(">i4i4", 4242, 123456789)) .. ready
local select = rowdesc({field("id", 23, 4), field("name", 25, -1), field("ok", 16, 1),
    field("data", 17, -1), field("score", 701, 8), field("span", 1186, 16), field("big", 20, 8)}) ..
  datarow({"1", "alice", "t", "\\x00ff27", "3.5", "1 day 02:03:04.5", "9223372036854775807"}) ..
  datarow({"2", false, "f", "\\x", "-Infinity", "-1 years -2 mons +3 days -04:05:06", "-1"}) ..
  datarow({"3", "", false, false, "NaN", "00:00:00", "0"}) ..
  pg("C", cstr("SELECT 3")) .. ready
each("pgwire", {
  startup,
  pg("R", string.pack(">i4", 10) .. cstr("SCRAM-SHA-256-PLUS") .. cstr("SCRAM-SHA-256") .. "\0"),
  pg("R", string.pack(">i4", 11) .. "r=abc,s=c2FsdA==,i=4096"),
  pg("R", string.pack(">i4", 12) .. "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
  pg("R", string.pack(">i4", 5) .. "\1\2\3\4"), pg("R", string.pack(">i4", 3)),
  pg("1", "") .. pg("t", string.pack(">i2I4I4", 2, 23, 25)) .. select,
  pg("1", "") .. pg("2", "") .. pg("n", "") .. pg("C", cstr("INSERT 0 5")) .. ready,
  pg("C", cstr("UPDATE 12")) .. pg("C", cstr("CREATE TABLE")) .. pg("C", cstr("DELETE 0")) .. pg("I", "") ..
    pg("3", "") .. pg("s", "") .. pg("Z", "T") .. pg("Z", "E"),
  pg("E", "SERROR\0VERROR\0C23505\0Mduplicate key value violates unique constraint \"users_pkey\"\0" ..
    "DKey (id)=(1) already exists.\0spublic\0tusers\0nusers_pkey\0Fnbtinsert.c\0L664\0R_bt_check_unique\0\0") .. ready,
  pg("N", "SNOTICE\0VNOTICE\0C42P07\0Mrelation \"t\" already exists, skipping\0\0"),
  pg("E", "SFATAL\0C57P01\0Mterminating connection due to administrator command\0\0"),
  pg("D", "\0\1\255\255\255\254"), pg("T", "\0\2x"), pg("X", ""), "D\0\0\0\3", "Z\0\0",
  rowdesc({field("n", 1700, -1)}) .. datarow({string.rep("9", 80)}),
})

-- MySQL packets: 3-byte length, sequence id, payload
local function my(seq, payload) return string.pack("<I3B", #payload, seq) .. payload end
local function lenenc(s) return string.char(#s) .. s end
local handshake = "\10" .. cstr("10.11.6-MariaDB-0+deb12u1") .. string.pack("<I4", 77) ..
  "abcdefgh\0" .. string.pack("<I2BI2I2", 0xf7fe, 45, 2, 0x81ff) .. "\21" .. string.rep("\0", 6) ..
  string.pack("<I4", 0xd) .. "ijklmnopqrst\0" .. cstr("mysql_native_password")
local function coldef(name, ctype, flags, charset)
  return lenenc("def") .. lenenc("test") .. lenenc("t") .. lenenc("t") .. lenenc(name) .. lenenc(name) ..
    "\12" .. string.pack("<I2I4BI2B", charset or 45, 255, ctype, flags or 0, 0) .. "\0\0"
end
local eof = "\254\0\0\2\0"
local ok = "\0\1\5\2\0\0\0"
local textresult = my(1, "\3") .. my(2, coldef("id", 3, 0x1003, 63)) .. my(3, coldef("name", 253)) ..
  my(4, coldef("data", 252, 0x90, 63)) .. my(5, eof) ..
  my(6, lenenc("1") .. lenenc("alice") .. lenenc("\0\1")) .. my(7, lenenc("2") .. "\251" .. "\251") ..
  my(8, eof)
local binresult = my(1, "\6") .. my(2, coldef("i", 8, 0x1003, 63)) .. my(3, coldef("d", 5, 0, 63)) ..
  my(4, coldef("s", 253)) .. my(5, coldef("ts", 12, 0x80, 63)) .. my(6, coldef("t", 11, 0x80, 63)) ..
  my(7, coldef("dt", 10, 0x80, 63)) .. my(8, eof) ..
  my(9, "\0\0" .. string.pack("<i8d", -5, 2.5) .. lenenc("hi") .. "\11" ..
    string.pack("<I2BBBBBI4", 2024, 2, 29, 23, 59, 58, 123456) .. "\12\1" .. string.pack("<I4BBBI4", 3, 4, 5, 6, 7) ..
    "\4" .. string.pack("<I2BB", 1999, 12, 31)) ..
  my(10, "\0\16" .. string.pack("<i8d", 1, 0.5) .. lenenc("x") .. "\0" .. "\0") .. my(11, eof)
each("mywire", {
  my(0, handshake),
  my(0, "\255" .. string.pack("<I2", 1045) .. "#28000Access denied for user 'x'@'localhost' (using password: YES)"),
  my(0, "\255" .. string.pack("<I2", 1130) .. "Host is not allowed"),
  my(2, ok), my(2, "\0\252\16\39\253\1\2\3\2\0\0\0" .. "info text"),
  textresult, binresult,
  my(1, "\0" .. string.pack("<I4I2I2BI2", 7, 2, 1, 0, 0)) .. my(2, coldef("?", 253)) .. my(3, eof) ..
    my(4, coldef("a", 3, 0, 63)) .. my(5, coldef("b", 253)) .. my(6, eof),
  my(2, "\254" .. cstr("caching_sha2_password") .. "0123456789abcdefghij\0"),
  my(2, "\1\3"), my(2, "\1\4"), my(1, "\251" .. "file.csv"), my(1, "\252\0\16"),
  my(1, "\2") .. my(2, coldef("j", 245)) .. my(3, coldef("n", 246)) .. my(4, "\254\0\0\34\0\0\0") ..
    my(5, lenenc("{\"a\":1}") .. lenenc("123.4500")) .. my(6, "\254\0\0\34\0\0\0"),
  string.pack("<I3B", 0xffffff, 0) .. "short", my(5, ""), my(0, "\0"),
})

-- SCRAM: server-first, NUL, server-final (RFC 7677's exchange for user/pencil)
local nonce = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
each("scram", {
  nonce .. ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096\0v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
  nonce .. ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096\0v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
  nonce .. ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096\0e=invalid-proof",
  nonce .. ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1",
  "r=someoneelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", nonce .. ",s=!!!,i=4096",
  nonce .. ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0", nonce .. ",i=4096", nonce .. ",s=,i=4096",
  "m=ext," .. nonce .. ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "", "r=", nonce .. ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999",
})
-- Whole sessions for the wire drivers (fuzz_pgdriver, fuzz_mydriver): byte 0
-- picks the chunk size the bytes arrive in (1 + b % 64, or 4096 from 192 on),
-- then the server's replies to connect, prepare + execute, executemany, exec.
local pg_prepare = pg("1", "") .. pg("t", string.pack(">i2I4I4", 2, 23, 25)) ..
  rowdesc({field("int4", 23, 4), field("text", 25, -1)}) .. ready
local pg_execute = pg("2", "") .. datarow({"42", "x'y"}) .. datarow({false, "\\x00"}) ..
  pg("C", cstr("SELECT 2")) .. ready
local pg_exec = rowdesc({field("?column?", 23, 4)}) .. datarow({"1"}) .. pg("C", cstr("SELECT 1")) .. ready
local pg_many = pg("2", "") .. pg("C", cstr("INSERT 0 1")) .. pg("2", "") .. pg("C", cstr("INSERT 0 1")) .. ready
local pg_session = startup .. pg_prepare .. pg_execute .. pg_many .. pg_exec
local pg_error = pg("E", "SERROR\0C42601\0Msyntax error\0\0") .. ready
local list = {}
for _, chunk in ipairs({0, 6, 200}) do
  list[#list + 1] = string.char(chunk) .. pg_session
end
list[#list + 1] = "\200" .. pg("R", string.pack(">i4", 5) .. "\1\2\3\4") .. startup .. pg_error .. pg_exec
list[#list + 1] = "\200" .. pg("R", string.pack(">i4", 3)) .. startup .. pg_prepare .. pg_error
list[#list + 1] = "\200" .. pg("R", string.pack(">i4", 10) .. cstr("SCRAM-SHA-256") .. "\0") ..
  pg("R", string.pack(">i4", 11) .. "r=xyz,s=c2FsdA==,i=4096")
list[#list + 1] = "\200" .. startup .. pg("N", "SNOTICE\0C00000\0Mhello\0\0") .. pg_prepare ..
  pg("S", cstr("TimeZone") .. cstr("UTC")) .. pg_execute .. pg_exec
list[#list + 1] = "\3" .. startup .. pg_prepare .. pg("2", "") .. datarow({"1"}) .. pg("C", cstr("SELECT 1")) .. ready
each("pgdriver", list)

local function hs(caps_lo, caps_hi, plugin, scramble)
  return "\10" .. cstr("10.11.6-MariaDB") .. string.pack("<I4", 9) .. scramble:sub(1, 8) .. "\0" ..
    string.pack("<I2BI2I2", caps_lo, 45, 2, caps_hi) .. "\21" .. string.rep("\0", 10) ..
    scramble:sub(9, 20) .. "\0" .. cstr(plugin)
end
local scramble = "abcdefghijklmnopqrst"
local my_ok = "\0\0\0\2\0\0\0"
local function my_session(deprecate_eof)
  local hi = deprecate_eof and 0x81ff or 0x80ff
  local function term(seq) return deprecate_eof and "" or my(seq, eof) end
  local final_eof = deprecate_eof and "\254\0\0\2\0\0\0" or eof
  local out = my(0, hs(0xf7fe, hi, "mysql_native_password", scramble)) .. my(2, my_ok)
  -- COM_STMT_PREPARE: OK header, 2 params, 2 columns
  local prep = my(1, "\0" .. string.pack("<I4I2I2BI2", 1, 2, 2, 0, 0)) .. my(2, coldef("?", 253)) ..
    my(3, coldef("?", 253))
  local seq = 4
  if not deprecate_eof then prep = prep .. my(4, eof); seq = 5 end
  prep = prep .. my(seq, coldef("a", 8, 0x1003, 63)) .. my(seq + 1, coldef("b", 253))
  if not deprecate_eof then prep = prep .. my(seq + 2, eof) end
  -- COM_STMT_EXECUTE: column count, definitions, binary rows, end
  local exec = my(1, "\2") .. my(2, coldef("a", 8, 0x1003, 63)) .. my(3, coldef("b", 253)) .. term(4)
  local s2 = deprecate_eof and 4 or 5
  exec = exec .. my(s2, "\0\0" .. string.pack("<i8", 42) .. lenenc("x'y")) ..
    my(s2 + 1, "\0\8" .. string.pack("<i8", 7)) .. my(s2 + 2, final_eof)
  -- COM_QUERY SELECT 1: a text result
  local q = my(1, "\1") .. my(2, coldef("1", 8, 0x1081, 63)) .. term(3)
  local s3 = deprecate_eof and 3 or 4
  q = q .. my(s3, lenenc("1")) .. my(s3 + 1, final_eof)
  local many = my(1, "\0\1\0\2\0\0\0") .. my(1, "\0\1\0\2\0\0\0")
  return out .. prep .. exec .. many .. q
end
list = {}
for _, chunk in ipairs({0, 6, 200}) do
  list[#list + 1] = string.char(chunk) .. my_session(false)
  list[#list + 1] = string.char(chunk) .. my_session(true)
end
list[#list + 1] = "\200" .. my(0, hs(0xf7fe, 0x81ff, "caching_sha2_password", scramble)) .. my(2, "\1\3") .. my(3, my_ok)
list[#list + 1] = "\200" .. my(0, hs(0xf7fe, 0x81ff, "caching_sha2_password", scramble)) .. my(2, "\1\4") ..
  my(4, "\1-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n")
list[#list + 1] = "\200" .. my(0, hs(0xf7fe, 0x81ff, "mysql_native_password", scramble)) ..
  my(2, "\254" .. cstr("mysql_native_password") .. scramble .. "\0") .. my(4, my_ok)
list[#list + 1] = "\200" .. my(0, hs(0xf7fe, 0x81ff, "mysql_native_password", scramble)) ..
  my(2, "\255" .. string.pack("<I2", 1045) .. "#28000Access denied")
list[#list + 1] = "\200" .. my(0, hs(0xfffe, 0x81ff, "mysql_native_password", scramble))   -- offers TLS
each("mydriver", list)

print("corpora written under " .. root)
