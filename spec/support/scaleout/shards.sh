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
# Both servers are made by spec/support/servers.sh (PostgreSQL as the postgres
# user, MariaDB as the mysql user), in a directory of their own, and the shard
# databases are added to them. A server that does not come up is an error
# (exit 1), never a skip.
#
# Environment: QS_SHARDS_DIR (default /tmp/qs-scale-shards), QS_SHARD_PG_PORT
# (54478), QS_SHARD_MYSQL_PORT (33478).
set -u
STATE=${QS_SHARDS_DIR:-/tmp/qs-scale-shards}
PORT=${QS_SHARD_PG_PORT:-54478}
MY_PORT=${QS_SHARD_MYSQL_PORT:-33478}
PG_BIN=${QS_PG_BIN:-/usr/lib/postgresql/15/bin}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SERVERS=$HERE/../servers.sh
RUN_AS_PG=(runuser -u postgres --)
[ "$(id -u)" = 0 ] || RUN_AS_PG=()

servers() { QS_SERVERS_DIR=$STATE/servers QS_PG_PORT=$PORT QS_MYSQL_PORT=$MY_PORT bash "$SERVERS" "$@"; }

start() {
  rm -rf "$STATE"
  mkdir -p "$STATE"
  servers start pg mysql >/dev/null || { echo "shards.sh: a server did not start" >&2; return 1; }
  "${RUN_AS_PG[@]}" "$PG_BIN/psql" -X -q -At -h 127.0.0.1 -p "$PORT" -U postgres -d postgres \
    -c "CREATE DATABASE shard_a OWNER qs" -c "CREATE DATABASE shard_b OWNER qs" >/dev/null \
    || { echo "shards.sh: could not create the PostgreSQL shard databases" >&2; return 1; }
  mariadb --no-defaults -uroot -S "$STATE/servers/mysql/mysqld.sock" -e "
    CREATE DATABASE shard_a CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
    CREATE DATABASE shard_b CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;" \
    || { echo "shards.sh: could not create the MariaDB shard databases" >&2; return 1; }
  echo "QS_SHARD_URL_A=postgresql://qs@127.0.0.1:$PORT/shard_a"
  echo "QS_SHARD_URL_B=postgresql://qs@127.0.0.1:$PORT/shard_b"
  echo "QS_SHARD_MYSQL_URL_A=mysql://qs:qs@127.0.0.1:$MY_PORT/shard_a"
  echo "QS_SHARD_MYSQL_URL_B=mysql://qs:qs@127.0.0.1:$MY_PORT/shard_b"
}

stop_all() {
  [ -d "$STATE/servers" ] && servers stop
  rm -rf "$STATE"
}

case "${1:-}" in
  start) start || { stop_all; exit 1; } ;;
  stop) stop_all ;;
  *) echo "usage: shards.sh start | stop" >&2; exit 2 ;;
esac
