#!/usr/bin/env bash
# run.sh: `make bench`. On SQLite it runs bench/run.lua directly; with
# BACKEND=postgresql it first starts a throwaway PostgreSQL server (the test
# suite's script, on its own port and directory so a running test server is
# left alone), points bench/run.lua at it and stops it afterwards.
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
  *) echo "run.sh: BACKEND must be sqlite or postgresql, not $BACKEND" >&2; exit 2 ;;
esac
