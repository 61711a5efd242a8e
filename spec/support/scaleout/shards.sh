#!/usr/bin/env bash
# shards.sh: one PostgreSQL 15 server and one MariaDB server, each holding
# two databases, shard_a and shard_b, on loopback, non-default ports, in a
# temporary directory: the horizontal sharding specs
# (spec/scaleout/horizontal_shard_spec.lua) use each pair as two shards.
#
#   shards.sh start   start both; prints QS_SHARD_URL_A=... and QS_SHARD_URL_B=...
#                     (PostgreSQL), QS_SHARD_MYSQL_URL_A=... and QS_SHARD_MYSQL_URL_B=...
#   shards.sh stop    stop both and remove every file
#
# PostgreSQL refuses to run as root: the server runs as the postgres user
# (as servers.sh and pg_standby.sh do); MariaDB runs as the mysql user. A
# server that does not come up is an error (exit 1), never a skip.
set -u
STATE=${QS_SHARDS_DIR:-/tmp/qs-scale-shards}
PORT=${QS_SHARD_PG_PORT:-54478}
MY_PORT=${QS_SHARD_MYSQL_PORT:-33478}
PG_BIN=${QS_PG_BIN:-/usr/lib/postgresql/15/bin}
RUN_AS_PG=(runuser -u postgres --)
[ "$(id -u)" = 0 ] || RUN_AS_PG=()

psql_at() {   # sql...
  "${RUN_AS_PG[@]}" "$PG_BIN/psql" -X -q -At -h 127.0.0.1 -p "$PORT" -U postgres -d postgres "$@"
}

start() {
  rm -rf "$STATE"
  mkdir -p "$STATE/sock"
  chmod 755 "$STATE"
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
  start_mysql || return 1
  echo "QS_SHARD_URL_A=postgresql://qs@127.0.0.1:$PORT/shard_a"
  echo "QS_SHARD_URL_B=postgresql://qs@127.0.0.1:$PORT/shard_b"
  echo "QS_SHARD_MYSQL_URL_A=mysql://qs:qs@127.0.0.1:$MY_PORT/shard_a"
  echo "QS_SHARD_MYSQL_URL_B=mysql://qs:qs@127.0.0.1:$MY_PORT/shard_b"
}

# MariaDB as servers.sh starts it (its own data directory and socket)
start_mysql() {
  local dir=$STATE/mysql
  mkdir -p "$dir/data"
  local user_opt=()
  if [ "$(id -u)" = 0 ]; then chown -R mysql:mysql "$dir"; user_opt=(--user=mysql); fi
  mariadb-install-db --no-defaults --datadir="$dir/data" "${user_opt[@]}" --auth-root-authentication-method=normal \
    --skip-test-db >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; return 1; }
  mariadbd --no-defaults "${user_opt[@]}" --datadir="$dir/data" --socket="$dir/mysqld.sock" \
    --pid-file="$dir/mysqld.pid" --bind-address=127.0.0.1 --port="$MY_PORT" \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --innodb-flush-log-at-trx-commit=0 --skip-log-bin --log-error="$dir/server.log" >/dev/null 2>&1 &
  local i
  for i in $(seq 1 120); do
    mariadb --no-defaults -uroot -S "$dir/mysqld.sock" -e "SELECT 1" >/dev/null 2>&1 && break
    sleep 0.5
  done
  mariadb --no-defaults -uroot -S "$dir/mysqld.sock" -e "
    CREATE DATABASE shard_a CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
    CREATE DATABASE shard_b CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
    CREATE USER 'qs'@'127.0.0.1' IDENTIFIED BY 'qs';
    GRANT ALL ON *.* TO 'qs'@'127.0.0.1';" \
    || { echo "shards.sh: MariaDB did not start" >&2; cat "$dir/server.log" >&2; return 1; }
}

stop_all() {
  if [ -f "$STATE/mysql/mysqld.pid" ]; then
    kill "$(cat "$STATE/mysql/mysqld.pid")" 2>/dev/null
    for _ in $(seq 1 100); do [ -f "$STATE/mysql/mysqld.pid" ] || break; sleep 0.1; done
  fi
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
