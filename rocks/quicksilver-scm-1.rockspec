-- quicksilver: the core, the SQLite driver and the Lua modules.
-- Install: luarocks --lua-version 5.4 make rocks/quicksilver-scm-1.rockspec [--tree DIR]
-- (luarocks looks for rockspecs only in ./, ./rockspec and ./rockspecs by itself).
-- spec/rockspec_spec.lua fails when a module or C source is missing here.
rockspec_format = "3.0"
package = "quicksilver"
version = "scm-1"
source = {
  url = "git+file:///quicksilver",
}
description = {
  summary = "SQLAlchemy 2.0 for Lua, on a C core",
  detailed = "A database toolkit: engine, SQL expression language compiled in C, pool, ORM.",
  license = "MIT",
}
dependencies = {
  "lua >= 5.1",
}
external_dependencies = {
  SQLITE = { header = "sqlite3.h" },
}
build = {
  type = "builtin",
  modules = {
    ["quicksilver.core"] = {
      sources = {
        "c/binding/lcompile.c",
        "c/binding/lconn.c",
        "c/binding/lcore.c",
        "c/binding/lcursor.c",
        "c/binding/lrow.c",
        "c/src/buf.c",
        "c/src/compile/text.c",
        "c/src/conn.c",
        "c/src/dialect/dialect.c",
        "c/src/driver/sqlite3.c",
        "c/src/error.c",
      },
      incdirs = { "c/include", "$(SQLITE_INCDIR)" },
      libdirs = { "$(SQLITE_LIBDIR)" },
      libraries = { "sqlite3" },
      defines = { "_POSIX_C_SOURCE=200809L" },
    },
    ["quicksilver.dialects"] = "lua/quicksilver/dialects/init.lua",
    ["quicksilver.dialects.sqlite"] = "lua/quicksilver/dialects/sqlite.lua",
    ["quicksilver.engine.base"] = "lua/quicksilver/engine/base.lua",
    ["quicksilver.engine.create"] = "lua/quicksilver/engine/create.lua",
    ["quicksilver.engine.pool"] = "lua/quicksilver/engine/pool.lua",
    ["quicksilver.engine.result"] = "lua/quicksilver/engine/result.lua",
    ["quicksilver.engine.transaction"] = "lua/quicksilver/engine/transaction.lua",
    ["quicksilver.engine.url"] = "lua/quicksilver/engine/url.lua",
    ["quicksilver.event"] = "lua/quicksilver/event.lua",
    ["quicksilver.exc"] = "lua/quicksilver/exc.lua",
    ["quicksilver"] = "lua/quicksilver/init.lua",
    ["quicksilver.sql.compiler"] = "lua/quicksilver/sql/compiler.lua",
    ["quicksilver.sql.elements"] = "lua/quicksilver/sql/elements.lua",
    ["quicksilver.util"] = "lua/quicksilver/util.lua",
  },
  install = {
    bin = { quicksilver = "bin/quicksilver" },
  },
}
