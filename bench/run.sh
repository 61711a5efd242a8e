#!/usr/bin/env bash
# run.sh: `make bench`. On SQLite it runs bench/run.lua directly; with
# BACKEND=postgresql it first starts a throwaway PostgreSQL server (the test
# suite's script, on its own port and directory so a running test server is
# left alone), points bench/run.lua at it and stops it afterwards. With
# BACKEND=async it starts a PostgreSQL and a MariaDB the same way and runs
# bench/async/run.lua (the non-blocking measurements of docs/ASYNC.md). With
# BACKEND=openresty it starts a PostgreSQL and runs bench/openresty/run.lua
# (one nginx worker: docs/PERFORMANCE_OPENRESTY.md). With BACKEND=streaming
# it starts both servers and runs bench/streaming/run.lua (peak RSS of
# streamed results, issue 21).
set -eu
LUA=${LUA:-lua5.4}
BACKEND=${BACKEND:-sqlite}
case "$BACKEND" in
  sqlite) exec "$LUA" bench/run.lua ;;
  postgresql)
    export QS_SERVERS_DIR=${QS_BENCH_SERVERS_DIR:-/tmp/quicksilver-bench-servers}
    export QS_PG_PORT=${QS_BENCH_PG_PORT:-55777}
    trap 'bash spec/support/servers.sh stop >/dev/null 2>&1 || true' EXIT
    bash spec/support/servers.sh start pg >/dev/null
    QS_BENCH_PG_URL="postgresql://qs@127.0.0.1:$QS_PG_PORT/qs_test" BACKEND=postgresql "$LUA" bench/run.lua ;;
  async)
    # issue 19's measurements: a throwaway PostgreSQL and MariaDB, both
    export QS_SERVERS_DIR=${QS_BENCH_SERVERS_DIR:-/tmp/quicksilver-bench-servers}
    export QS_PG_PORT=${QS_BENCH_PG_PORT:-55777}
    export QS_MYSQL_PORT=${QS_BENCH_MYSQL_PORT:-33777}
    trap 'bash spec/support/servers.sh stop >/dev/null 2>&1 || true' EXIT
    bash spec/support/servers.sh start >/dev/null
    QS_BENCH_PG_URL="postgresql://qs@127.0.0.1:$QS_PG_PORT/qs_test" \
      QS_BENCH_MYSQL_URL="mysql://qs:qs@127.0.0.1:$QS_MYSQL_PORT/qs_test" "$LUA" bench/async/run.lua ;;
  streaming)
    # issue 21's measurement: peak RSS of streamed results on every driver
    export QS_SERVERS_DIR=${QS_BENCH_SERVERS_DIR:-/tmp/quicksilver-bench-servers}
    export QS_PG_PORT=${QS_BENCH_PG_PORT:-55777}
    export QS_MYSQL_PORT=${QS_BENCH_MYSQL_PORT:-33777}
    trap 'bash spec/support/servers.sh stop >/dev/null 2>&1 || true' EXIT
    bash spec/support/servers.sh start >/dev/null
    QS_BENCH_PG_URL="postgresql://qs@127.0.0.1:$QS_PG_PORT/qs_test" \
      QS_BENCH_MYSQL_URL="mysql://qs:qs@127.0.0.1:$QS_MYSQL_PORT/qs_test" "$LUA" bench/streaming/run.lua ;;
  openresty)
    # issue 20's measurements: one nginx worker (bench/openresty/run.lua) on a
    # throwaway PostgreSQL
    export QS_SERVERS_DIR=${QS_BENCH_SERVERS_DIR:-/tmp/quicksilver-bench-servers}
    export QS_PG_PORT=${QS_BENCH_PG_PORT:-55777}
    trap 'bash spec/support/servers.sh stop >/dev/null 2>&1 || true' EXIT
    bash spec/support/servers.sh start pg >/dev/null
    QS_NGINX_CPATH="$(pwd)/${BUILD:-build}/jit" QS_BENCH_PG_URL="postgresql://qs@127.0.0.1:$QS_PG_PORT/qs_test" \
      "$LUA" bench/openresty/run.lua ;;
  *) echo "run.sh: BACKEND must be sqlite, postgresql, async, streaming or openresty, not $BACKEND" >&2; exit 2 ;;
esac
