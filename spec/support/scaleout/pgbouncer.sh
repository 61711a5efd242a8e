#!/usr/bin/env bash
# pgbouncer.sh: a throwaway PostgreSQL 15 with pgbouncer (Debian's 1.18) in front
# of it in transaction pooling mode, on loopback, for spec/scaleout/pgbouncer_spec.lua
# and the behaviour suite run through a transaction pooler (docs/SCALING.md, pgbouncer).
#
#   pgbouncer.sh start   start both; prints QS_PGBOUNCER_URL=... (through pgbouncer)
#                        and QS_PGBOUNCER_DIRECT_URL=... (the server itself)
#   pgbouncer.sh env     prints the same lines (nothing started)
#   pgbouncer.sh stop    stop both and remove every file they made
#
# The server is made by spec/support/servers.sh (as the postgres user: PostgreSQL
# refuses root), in a directory of its own. pgbouncer refuses root too: it also
# runs as postgres. default_pool_size is small (2) so that the server connection
# a client gets really changes between its transactions; a reserve of 30 more
# opens only for clients that waited 0.1 s (specs running 20 statements at once),
# which also leaves pgbouncer 1.18 room for cancel requests: it sends each over a
# new server connection counted in the pool, and with the pool full a statement
# timeout's cancel would wait (query_wait_timeout) instead. Authentication through
# pgbouncer mirrors the server's: trust for qs, md5 and SCRAM for the password
# roles (an hba file of pgbouncer's own, the passwords in its userlist).
# A component that does not come up is an error (exit 1), never a skip.
#
# Environment: QS_SCALE_DIR (default /tmp/qs-scale-pgbouncer), QS_PGB_PG_PORT
# (54441), QS_PGB_PORT (54442), QS_PGB_POOL_MODE (transaction), QS_PGB_POOL_SIZE (2).
set -u
DIR=${QS_SCALE_DIR:-/tmp/qs-scale-pgbouncer}
PG_PORT=${QS_PGB_PG_PORT:-54441}
BOUNCER_PORT=${QS_PGB_PORT:-54442}
POOL_MODE=${QS_PGB_POOL_MODE:-transaction}
POOL_SIZE=${QS_PGB_POOL_SIZE:-2}
PGBOUNCER=${QS_PGBOUNCER_BIN:-/usr/sbin/pgbouncer}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SERVERS=$HERE/../servers.sh
RUN_AS_PG=(runuser -u postgres --)
[ "$(id -u)" = 0 ] || RUN_AS_PG=()

bouncer_url() { echo "postgresql://qs@127.0.0.1:$BOUNCER_PORT/qs_test"; }
direct_url() { echo "postgresql://qs@127.0.0.1:$PG_PORT/qs_test"; }

servers() { QS_SERVERS_DIR=$DIR/servers QS_PG_PORT=$PG_PORT bash "$SERVERS" "$@"; }

start_bouncer() {
  local b=$DIR/pgbouncer
  if [ -f "$b/pgbouncer.pid" ] && kill -0 "$(cat "$b/pgbouncer.pid")" 2>/dev/null; then return 0; fi
  [ -x "$PGBOUNCER" ] || { echo "pgbouncer.sh: $PGBOUNCER is missing (make deps installs pgbouncer)" >&2; return 1; }
  rm -rf "$b"
  mkdir -p "$b"
  cat >"$b/pgbouncer.ini" <<EOF
[databases]
* = host=127.0.0.1 port=$PG_PORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir = $b
auth_type = hba
auth_hba_file = $b/hba.conf
auth_file = $b/userlist.txt
pool_mode = $POOL_MODE
default_pool_size = $POOL_SIZE
min_pool_size = 0
reserve_pool_size = 30
reserve_pool_timeout = 0.1
max_client_conn = 500
max_db_connections = 0
server_reset_query = DISCARD ALL
server_check_delay = 0
server_login_retry = 1
ignore_startup_parameters = extra_float_digits,options
admin_users = postgres
logfile = $b/pgbouncer.log
pidfile = $b/pgbouncer.pid
EOF
  printf '%s\n' '"qs" ""' '"postgres" ""' '"qs_md5" "qs_md5_pw"' '"qs_scram" "qs_scram_pw"' >"$b/userlist.txt"
  printf '%s\n' "host all qs_md5 127.0.0.1/32 md5" "host all qs_scram 127.0.0.1/32 scram-sha-256" \
    "host all all 127.0.0.1/32 trust" "local all all trust" >"$b/hba.conf"
  [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$b"
  chmod 755 "$DIR"
  "${RUN_AS_PG[@]}" "$PGBOUNCER" -d -q "$b/pgbouncer.ini" >"$b/start.log" 2>&1 \
    || { cat "$b/start.log" "$b/pgbouncer.log" >&2 2>/dev/null; return 1; }
  local i
  for i in $(seq 1 50); do
    if "${RUN_AS_PG[@]}" psql -q -X -h 127.0.0.1 -p "$BOUNCER_PORT" -U qs -d qs_test -c "SELECT 1" \
      >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.2
  done
  echo "pgbouncer.sh: pgbouncer does not answer on 127.0.0.1:$BOUNCER_PORT" >&2
  cat "$b/pgbouncer.log" >&2 2>/dev/null
  return 1
}

stop_all() {
  local b=$DIR/pgbouncer
  if [ -f "$b/pgbouncer.pid" ]; then
    local pid
    pid=$(cat "$b/pgbouncer.pid")
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  [ -d "$DIR/servers" ] && servers stop
  rm -rf "$DIR"
}

cmd=${1:-}
case "$cmd" in
  start)
    mkdir -p "$DIR"
    chmod 755 "$DIR"
    servers start pg >/dev/null || { echo "pgbouncer.sh: PostgreSQL did not start" >&2; exit 1; }
    start_bouncer || { echo "pgbouncer.sh: pgbouncer did not start" >&2; exit 1; }
    echo "QS_PGBOUNCER_URL=$(bouncer_url)"
    echo "QS_PGBOUNCER_DIRECT_URL=$(direct_url)"
    ;;
  env) echo "QS_PGBOUNCER_URL=$(bouncer_url)"; echo "QS_PGBOUNCER_DIRECT_URL=$(direct_url)" ;;
  stop) stop_all ;;
  *) echo "usage: pgbouncer.sh start | env | stop" >&2; exit 2 ;;
esac
