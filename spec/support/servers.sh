#!/usr/bin/env bash
# servers.sh: throwaway PostgreSQL 15 and MariaDB servers for the test suite, on
# loopback, on non-default ports, in temporary data directories.
#
#   servers.sh start [pg|mysql ...]   start them (all by default); prints the URLs
#   servers.sh env                    prints QS_PG_URL=... and QS_MYSQL_URL=... lines
#   servers.sh stop                   stop them and remove every file they made
#   servers.sh down|up pg|mysql       stop one keeping its data / start it again
#
# PostgreSQL refuses to run as root: it runs as the postgres user, with a data
# directory that user owns (NOTES.md). MariaDB starts with --no-defaults, so utf8mb4
# and a short lock wait are set here. A server that does not come up is an error
# (exit 1), never a silent skip.
set -u
STATE=${QS_SERVERS_DIR:-/tmp/quicksilver-servers}
PG_PORT=${QS_PG_PORT:-54329}
MY_PORT=${QS_MYSQL_PORT:-33069}
PG_BIN=${QS_PG_BIN:-/usr/lib/postgresql/15/bin}
RUN_AS_PG=(runuser -u postgres --)
[ "$(id -u)" = 0 ] || RUN_AS_PG=()

pg_url() { echo "postgresql://qs@127.0.0.1:$PG_PORT/qs_test"; }
my_url() { echo "mysql://qs:qs@127.0.0.1:$MY_PORT/qs_test"; }

start_pg() {
  local dir=$STATE/pg
  if [ -f "$dir/data/postmaster.pid" ] && "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
    return 0
  fi
  rm -rf "$dir"
  mkdir -p "$dir/sock"
  chmod 755 "$STATE"
  [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$dir"
  "${RUN_AS_PG[@]}" "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
  "${RUN_AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start \
    -o "-k $dir/sock -c listen_addresses=127.0.0.1 -p $PG_PORT -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_prepared_transactions=10" \
    >/dev/null 2>&1 || { cat "$dir/server.log" >&2; return 1; }
  "${RUN_AS_PG[@]}" "$PG_BIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
    -c "CREATE ROLE qs LOGIN SUPERUSER" -c "CREATE DATABASE qs_test OWNER qs" >/dev/null \
    || { echo "servers.sh: could not create the PostgreSQL test database" >&2; return 1; }
  # Roles with passwords for the wire driver's authentication specs: their
  # pg_hba lines go before initdb's trust lines (the first match wins).
  "${RUN_AS_PG[@]}" "$PG_BIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
    -c "SET password_encryption = 'md5'" -c "CREATE ROLE qs_md5 LOGIN PASSWORD 'qs_md5_pw'" \
    -c "SET password_encryption = 'scram-sha-256'" -c "CREATE ROLE qs_scram LOGIN PASSWORD 'qs_scram_pw'" \
    -c "GRANT ALL ON DATABASE qs_test TO qs_md5, qs_scram" >/dev/null \
    || { echo "servers.sh: could not create the PostgreSQL password roles" >&2; return 1; }
  local hba=$dir/data/pg_hba.conf
  { printf '%s\n' "local all qs_md5 md5" "host all qs_md5 127.0.0.1/32 md5" \
      "local all qs_scram scram-sha-256" "host all qs_scram 127.0.0.1/32 scram-sha-256"
    cat "$hba"; } >"$hba.new" && cat "$hba.new" >"$hba" && rm -f "$hba.new"
  "${RUN_AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" reload >/dev/null 2>&1 \
    || { echo "servers.sh: PostgreSQL did not reload pg_hba.conf" >&2; return 1; }
}

start_mysql() {
  local dir=$STATE/mysql
  if [ -S "$dir/mysqld.sock" ] && mariadb --no-defaults -uroot -S "$dir/mysqld.sock" -e "SELECT 1" >/dev/null 2>&1; then
    return 0
  fi
  rm -rf "$dir"
  mkdir -p "$dir/data"
  chmod 755 "$STATE"
  local user_opt=()
  if [ "$(id -u)" = 0 ]; then chown -R mysql:mysql "$dir"; user_opt=(--user=mysql); fi
  mariadb-install-db --no-defaults --datadir="$dir/data" "${user_opt[@]}" --auth-root-authentication-method=normal \
    --skip-test-db >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; return 1; }
  mariadbd --no-defaults "${user_opt[@]}" --datadir="$dir/data" --socket="$dir/mysqld.sock" \
    --pid-file="$dir/mysqld.pid" --bind-address=127.0.0.1 --port="$MY_PORT" \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --innodb-lock-wait-timeout=2 --innodb-flush-log-at-trx-commit=0 --skip-log-bin \
    --log-error="$dir/server.log" >/dev/null 2>&1 &
  local i
  for i in $(seq 1 60); do
    mariadb --no-defaults -uroot -S "$dir/mysqld.sock" -e "SELECT 1" >/dev/null 2>&1 && break
    sleep 0.5
  done
  mariadb --no-defaults -uroot -S "$dir/mysqld.sock" -e "
    CREATE DATABASE qs_test CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
    CREATE USER 'qs'@'127.0.0.1' IDENTIFIED BY 'qs';
    CREATE USER 'qs'@'localhost' IDENTIFIED BY 'qs';
    GRANT ALL ON *.* TO 'qs'@'127.0.0.1';
    GRANT ALL ON *.* TO 'qs'@'localhost';" \
    || { echo "servers.sh: MariaDB did not start" >&2; cat "$dir/server.log" >&2; return 1; }
}

# down/up: stop a server keeping its data, and start it again (fault specs:
# the engine must recover without being recreated).
down() {
  case "$1" in
    pg|postgresql) "${RUN_AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$STATE/pg/data" -m fast -w stop >/dev/null ;;
    mysql|mariadb)
      kill "$(cat "$STATE/mysql/mysqld.pid")" 2>/dev/null
      for _ in $(seq 1 80); do [ -f "$STATE/mysql/mysqld.pid" ] || break; sleep 0.1; done
      [ ! -f "$STATE/mysql/mysqld.pid" ] ;;   # the status says whether it stopped
  esac
}

up() {
  case "$1" in
    pg|postgresql)
      "${RUN_AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$STATE/pg/data" -l "$STATE/pg/server.log" -w -t 30 start \
        -o "-k $STATE/pg/sock -c listen_addresses=127.0.0.1 -p $PG_PORT -c fsync=off" >/dev/null ;;
    mysql|mariadb)
      local user_opt=()
      [ "$(id -u)" = 0 ] && user_opt=(--user=mysql)
      mariadbd --no-defaults "${user_opt[@]}" --datadir="$STATE/mysql/data" --socket="$STATE/mysql/mysqld.sock" \
        --pid-file="$STATE/mysql/mysqld.pid" --bind-address=127.0.0.1 --port="$MY_PORT" \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
        --innodb-lock-wait-timeout=2 --skip-log-bin --log-error="$STATE/mysql/server.log" >/dev/null 2>&1 &
      for _ in $(seq 1 60); do
        mariadb --no-defaults -uroot -S "$STATE/mysql/mysqld.sock" -e "SELECT 1" >/dev/null 2>&1 && return 0
        sleep 0.25
      done
      return 1 ;;
  esac
}

stop_all() {
  if [ -d "$STATE/pg/data" ]; then
    "${RUN_AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$STATE/pg/data" -m immediate -w stop >/dev/null 2>&1
  fi
  if [ -f "$STATE/mysql/mysqld.pid" ]; then
    kill "$(cat "$STATE/mysql/mysqld.pid")" 2>/dev/null
    for _ in $(seq 1 40); do [ -f "$STATE/mysql/mysqld.pid" ] || break; sleep 0.25; done
  fi
  rm -rf "$STATE"
}

cmd=${1:-}
shift || true
case "$cmd" in
  start)
    which=("$@")
    [ ${#which[@]} -gt 0 ] || which=(pg mysql)
    mkdir -p "$STATE"
    for s in "${which[@]}"; do
      case "$s" in
        pg|postgresql) start_pg || { echo "servers.sh: PostgreSQL did not start" >&2; exit 1; }
                       echo "QS_PG_URL=$(pg_url)" ;;
        mysql|mariadb) start_mysql || exit 1
                       echo "QS_MYSQL_URL=$(my_url)" ;;
        *) echo "servers.sh: unknown server '$s'" >&2; exit 2 ;;
      esac
    done
    ;;
  env) echo "QS_PG_URL=$(pg_url)"; echo "QS_MYSQL_URL=$(my_url)" ;;
  down) down "$1" ;;
  up) up "$1" ;;
  stop) stop_all ;;
  *) echo "usage: servers.sh start [pg|mysql ...] | env | stop" >&2; exit 2 ;;
esac
