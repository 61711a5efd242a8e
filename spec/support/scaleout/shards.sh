#!/usr/bin/env bash
# shards.sh: one PostgreSQL 15 server holding two databases, shard_a and
# shard_b, on loopback, a non-default port, in a temporary directory: the
# horizontal sharding specs (spec/scaleout/horizontal_shard_spec.lua) use
# them as two shards.
#
#   shards.sh start   start it; prints QS_SHARD_URL_A=... and QS_SHARD_URL_B=...
#   shards.sh stop    stop it and remove every file
#
# PostgreSQL refuses to run as root: the server runs as the postgres user
# (as servers.sh and pg_standby.sh do). A server that does not come up is an
# error (exit 1), never a skip.
set -u
STATE=${QS_SCALE_DIR:-/tmp/qs-scale}/shards
PORT=${QS_SHARD_PG_PORT:-54478}
PG_BIN=${QS_PG_BIN:-/usr/lib/postgresql/15/bin}
RUN_AS_PG=(runuser -u postgres --)
[ "$(id -u)" = 0 ] || RUN_AS_PG=()

psql_at() {   # sql...
  "${RUN_AS_PG[@]}" "$PG_BIN/psql" -X -q -At -h 127.0.0.1 -p "$PORT" -U postgres -d postgres "$@"
}

start() {
  rm -rf "$STATE"
  mkdir -p "$STATE/sock"
  chmod 755 "$STATE" "$(dirname "$STATE")"
  [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$STATE"
  "${RUN_AS_PG[@]}" "$PG_BIN/initdb" -D "$STATE/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    >"$STATE/initdb.log" 2>&1 || { cat "$STATE/initdb.log" >&2; return 1; }
  # the port may be held for a while by a client connection's TIME_WAIT
  # (loopback ports in the ephemeral range are also clients' source ports):
  # that one cause is waited out, for up to 90 s
  local i
  for i in $(seq 1 45); do
    "${RUN_AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$STATE/data" -l "$STATE/server.log" -w -t 60 start \
      -o "-k $STATE/sock -c listen_addresses=127.0.0.1 -p $PORT -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      >/dev/null 2>&1 && break
    grep -q "Address already in use" "$STATE/server.log" || { cat "$STATE/server.log" >&2; return 1; }
    [ "$i" = 45 ] && { cat "$STATE/server.log" >&2; return 1; }
    : >"$STATE/server.log"
    sleep 2
  done
  psql_at -c "CREATE ROLE qs LOGIN SUPERUSER" -c "CREATE DATABASE shard_a OWNER qs" \
    -c "CREATE DATABASE shard_b OWNER qs" >/dev/null \
    || { echo "shards.sh: could not create the shard databases" >&2; return 1; }
  echo "QS_SHARD_URL_A=postgresql://qs@127.0.0.1:$PORT/shard_a"
  echo "QS_SHARD_URL_B=postgresql://qs@127.0.0.1:$PORT/shard_b"
}

stop_all() {
  if [ -f "$STATE/data/postmaster.pid" ]; then
    "${RUN_AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$STATE/data" -m immediate -w stop >/dev/null 2>&1
  fi
  rm -rf "$STATE"
}

case "${1:-}" in
  start) start || { stop_all; exit 1; } ;;
  stop) stop_all ;;
  *) echo "usage: shards.sh start | stop" >&2; exit 2 ;;
esac
