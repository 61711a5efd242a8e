#!/usr/bin/env bash
# pg_standby.sh: a PostgreSQL 15 primary and a streaming standby made from it
# (pg_basebackup -R), on loopback, non-default ports, in a temporary directory:
# the replicas and failover specs run against them.
#
#   pg_standby.sh start      start both; prints QS_PG_PRIMARY_URL=... and QS_PG_STANDBY_URL=...
#                            (and QS_STANDBY_DIR / QS_PG_PRIMARY_PORT / QS_PG_STANDBY_PORT for the specs)
#   pg_standby.sh promote    promote the standby (pg_ctl promote) and wait until it writes
#   pg_standby.sh stop-primary   stop the primary (fast), keeping its data
#   pg_standby.sh start-primary  start the stopped primary again (as it was: a primary)
#   pg_standby.sh stop-standby / start-standby   stop the standby keeping its data / start it again
#   pg_standby.sh pause-replay / resume-replay   hold / resume WAL replay on the standby (lag)
#   pg_standby.sh stop       stop both and remove every file
#
# PostgreSQL refuses to run as root: the servers run as the postgres user
# (NOTES: servers.sh does the same). initdb's pg_hba lets loopback replicate
# (its "host replication all 127.0.0.1/32" line), so -A trust is all it needs.
# A server that does not come up is an error (exit 1), never a skip.
set -u
STATE=${QS_STANDBY_DIR:-/tmp/qs-scale-standby}
PRIMARY_PORT=${QS_PG_PRIMARY_PORT:-54461}
STANDBY_PORT=${QS_PG_STANDBY_PORT:-54462}
PG_BIN=${QS_PG_BIN:-/usr/lib/postgresql/15/bin}
RUN_AS_PG=(runuser -u postgres --)
[ "$(id -u)" = 0 ] || RUN_AS_PG=()

server_opts() {   # port, socket dir
  echo "-k $2 -c listen_addresses=127.0.0.1 -p $1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c wal_level=replica -c max_wal_senders=5 -c hot_standby=on -c wal_keep_size=64MB"
}

psql_at() {   # port, sql...
  local port=$1
  shift
  "${RUN_AS_PG[@]}" "$PG_BIN/psql" -X -q -At -h 127.0.0.1 -p "$port" -U postgres -d postgres "$@"
}

start_server() {   # name, port
  local dir=$STATE/$1
  "${RUN_AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "$(server_opts "$2" "$dir/sock")" >/dev/null 2>&1 || { cat "$dir/server.log" >&2; return 1; }
}

start() {
  rm -rf "$STATE"
  mkdir -p "$STATE/primary/sock" "$STATE/standby/sock"
  chmod 755 "$STATE"
  [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$STATE"
  "${RUN_AS_PG[@]}" "$PG_BIN/initdb" -D "$STATE/primary/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    >"$STATE/primary/initdb.log" 2>&1 || { cat "$STATE/primary/initdb.log" >&2; return 1; }
  start_server primary "$PRIMARY_PORT" || return 1
  psql_at "$PRIMARY_PORT" -c "CREATE ROLE qs LOGIN SUPERUSER" -c "CREATE DATABASE qs_test OWNER qs" >/dev/null \
    || { echo "pg_standby.sh: could not create the test database" >&2; return 1; }
  "${RUN_AS_PG[@]}" "$PG_BIN/pg_basebackup" -D "$STATE/standby/data" -R -X stream -c fast \
    -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres >"$STATE/standby/basebackup.log" 2>&1 \
    || { cat "$STATE/standby/basebackup.log" >&2; return 1; }
  start_server standby "$STANDBY_PORT" || return 1
  local i
  for i in $(seq 1 100); do
    [ "$(psql_at "$PRIMARY_PORT" -c "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")" = 1 ] && break
    sleep 0.1
  done
  [ "$i" -lt 100 ] || { echo "pg_standby.sh: the standby is not streaming" >&2; return 1; }
  # what a spec needs to drive this pair with the script again (promote,
  # pause-replay, ...): the same directory and ports
  echo "QS_STANDBY_DIR=$STATE"
  echo "QS_PG_PRIMARY_PORT=$PRIMARY_PORT"
  echo "QS_PG_STANDBY_PORT=$STANDBY_PORT"
  echo "QS_PG_PRIMARY_URL=postgresql://qs@127.0.0.1:$PRIMARY_PORT/qs_test"
  echo "QS_PG_STANDBY_URL=postgresql://qs@127.0.0.1:$STANDBY_PORT/qs_test"
}

promote() {
  "${RUN_AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$STATE/standby/data" -w -t 60 promote >/dev/null || return 1
  local i
  for i in $(seq 1 100); do
    [ "$(psql_at "$STANDBY_PORT" -c "SELECT pg_is_in_recovery()")" = f ] && return 0
    sleep 0.1
  done
  echo "pg_standby.sh: the standby did not leave recovery" >&2
  return 1
}

stop_all() {
  local n
  for n in standby primary; do
    if [ -f "$STATE/$n/data/postmaster.pid" ]; then
      "${RUN_AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$STATE/$n/data" -m immediate -w stop >/dev/null 2>&1
    fi
  done
  rm -rf "$STATE"
}

cmd=${1:-}
case "$cmd" in
  start) start || { stop_all; exit 1; } ;;
  promote) promote ;;
  stop-primary) "${RUN_AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$STATE/primary/data" -m fast -w stop >/dev/null ;;
  start-primary) start_server primary "$PRIMARY_PORT" ;;
  stop-standby) "${RUN_AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$STATE/standby/data" -m fast -w stop >/dev/null ;;
  start-standby) start_server standby "$STANDBY_PORT" ;;
  pause-replay) psql_at "$STANDBY_PORT" -c "SELECT pg_wal_replay_pause()" >/dev/null ;;
  resume-replay) psql_at "$STANDBY_PORT" -c "SELECT pg_wal_replay_resume()" >/dev/null ;;
  stop) stop_all ;;
  *) echo "usage: pg_standby.sh start | promote | stop-primary | start-primary | stop-standby | start-standby | pause-replay | resume-replay | stop" >&2; exit 2 ;;
esac
