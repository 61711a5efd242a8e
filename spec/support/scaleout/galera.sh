#!/usr/bin/env bash
# galera.sh: a three-node MariaDB Galera cluster (Debian's galera-4) on
# loopback, for spec/scaleout/galera_spec.lua (docs/SCALING.md, Galera).
#
#   galera.sh start   bootstrap node 1, join nodes 2 and 3 (SST by rsync), wait
#                     until wsrep_cluster_size = 3 on every node; creates the
#                     user qs (password qs) and the database qs_test; prints
#                     QS_GALERA_URL_1..3=mysql://qs:qs@127.0.0.1:<port>/qs_test
#   galera.sh env     prints those lines again
#   galera.sh stop    stops the three nodes and removes every file they made
#
# Ports (override with the environment; the defaults are the project's range
# for this component): QS_GALERA_PORTS (the MariaDB ports), QS_GALERA_GCOMM_PORTS
# (group communication), QS_GALERA_IST_PORTS (incremental state transfer),
# QS_GALERA_SST_PORTS (the joiner's rsync daemon during a full state transfer).
# Files: QS_GALERA_DIR (default /tmp/qs-scale-galera). A node that does not come
# up, or a cluster that does not reach three nodes, is an error (exit 1).
#
# A joiner's data directory is replaced by the donor's during SST (rsync), so
# nothing this script needs may live there: each node's pid file and the pid
# the shell saw at launch ($!, kept as nodeN.pid) are beside it, not in it.
set -u
STATE=${QS_GALERA_DIR:-/tmp/qs-scale-galera}
read -r -a MY_PORTS <<<"${QS_GALERA_PORTS:-33451 33452 33453}"
read -r -a GCOMM_PORTS <<<"${QS_GALERA_GCOMM_PORTS:-45671 45672 45673}"
read -r -a IST_PORTS <<<"${QS_GALERA_IST_PORTS:-45681 45682 45683}"
read -r -a SST_PORTS <<<"${QS_GALERA_SST_PORTS:-45691 45692 45693}"
PROVIDER=${QS_GALERA_PROVIDER:-/usr/lib/galera/libgalera_smm.so}
USER_OPT=()
[ "$(id -u)" = 0 ] && USER_OPT=(--user=mysql)

urls() {
  local i
  for i in 1 2 3; do echo "QS_GALERA_URL_$i=mysql://qs:qs@127.0.0.1:${MY_PORTS[$((i - 1))]}/qs_test"; done
}

cluster_address() {
  local p out=""
  for p in "${GCOMM_PORTS[@]}"; do out="$out${out:+,}127.0.0.1:$p"; done
  echo "gcomm://$out"
}

sock() { echo "$STATE/node$1/mysqld.sock"; }

# sql N "statement": runs it as root over node N's socket, prints the rows.
sql() { mariadb --no-defaults -uroot -S "$(sock "$1")" -N -B -e "$2" 2>/dev/null; }

# The status variable of node N, or nothing when it does not answer.
status_of() { sql "$1" "SHOW GLOBAL STATUS LIKE '$2'" | awk '{print $2}'; }

# Starts node N in the background (extra mariadbd options after N).
launch() {
  local n=$1 i=$(($1 - 1))
  shift
  local dir=$STATE/node$n
  mariadbd --no-defaults "${USER_OPT[@]}" --datadir="$dir/data" --socket="$(sock "$n")" \
    --pid-file="$dir/mysqld.pid" --bind-address=127.0.0.1 --port="${MY_PORTS[$i]}" \
    --log-error="$dir/server.log" \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --innodb-buffer-pool-size=64M --innodb-log-file-size=48M --innodb-flush-log-at-trx-commit=0 \
    --innodb-lock-wait-timeout=5 --performance-schema=OFF --skip-name-resolve \
    --binlog-format=ROW --default-storage-engine=InnoDB --innodb-autoinc-lock-mode=2 \
    --wsrep-on=ON --wsrep-provider="$PROVIDER" --wsrep-cluster-name=qs_galera \
    --wsrep-cluster-address="$(cluster_address)" \
    --wsrep-node-name="node$n" --wsrep-node-address="127.0.0.1:${GCOMM_PORTS[$i]}" \
    --wsrep-node-incoming-address="127.0.0.1:${MY_PORTS[$i]}" \
    --wsrep-provider-options="gmcast.listen_addr=tcp://127.0.0.1:${GCOMM_PORTS[$i]};ist.recv_addr=127.0.0.1:${IST_PORTS[$i]};gcache.size=64M" \
    --wsrep-sst-method=rsync --wsrep-sst-receive-address="127.0.0.1:${SST_PORTS[$i]}" \
    --wsrep-slave-threads=2 \
    "$@" >/dev/null 2>&1 &
  echo $! >"$STATE/node$n.pid"
}

# Waits (up to secs) until node N answers and is Synced; 1 when it never does.
wait_synced() {
  local n=$1 secs=$2 t=0 state
  while [ "$t" -lt $((secs * 4)) ]; do
    state=$(status_of "$n" wsrep_local_state_comment)
    [ "$state" = "Synced" ] && return 0
    kill -0 "$(cat "$STATE/node$n.pid")" 2>/dev/null || return 1   # it died
    sleep 0.25
    t=$((t + 1))
  done
  return 1
}

fail() {
  local n
  echo "galera.sh: $1" >&2
  for n in 1 2 3; do
    [ -f "$STATE/node$n/server.log" ] && { echo "--- node$n/server.log (tail)" >&2; tail -n 25 "$STATE/node$n/server.log" >&2; }
  done
  exit 1
}

start() {
  local n
  if [ -f "$STATE/node1.pid" ] && [ "$(status_of 1 wsrep_cluster_size)" = 3 ]; then
    urls
    return 0
  fi
  stop_all
  for n in 1 2 3; do mkdir -p "$STATE/node$n/data"; done
  chmod 755 "$STATE"
  [ "$(id -u)" = 0 ] && chown -R mysql:mysql "$STATE"
  # only node 1 needs system tables: the joiners receive node 1's data by SST
  mariadb-install-db --no-defaults --datadir="$STATE/node1/data" "${USER_OPT[@]}" \
    --auth-root-authentication-method=normal --skip-test-db >"$STATE/node1/install.log" 2>&1 \
    || { cat "$STATE/node1/install.log" >&2; fail "mariadb-install-db failed"; }
  launch 1 --wsrep-new-cluster
  wait_synced 1 60 || fail "node 1 did not bootstrap the cluster"
  sql 1 "CREATE DATABASE qs_test CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
    CREATE USER 'qs'@'127.0.0.1' IDENTIFIED BY 'qs';
    CREATE USER 'qs'@'localhost' IDENTIFIED BY 'qs';
    GRANT ALL ON *.* TO 'qs'@'127.0.0.1';
    GRANT ALL ON *.* TO 'qs'@'localhost';" || fail "could not create the test user and database"
  # one joiner at a time: two SSTs from one donor would queue anyway
  for n in 2 3; do
    launch "$n"
    wait_synced "$n" 120 || fail "node $n did not join (SST)"
  done
  for n in 1 2 3; do
    [ "$(status_of "$n" wsrep_cluster_size)" = 3 ] || fail "node $n does not see three nodes"
  done
  urls
}

stop_all() {
  local n pid
  for n in 1 2 3; do
    [ -f "$STATE/node$n.pid" ] || continue
    pid=$(cat "$STATE/node$n.pid")
    kill "$pid" 2>/dev/null
  done
  for n in 1 2 3; do
    [ -f "$STATE/node$n.pid" ] || continue
    pid=$(cat "$STATE/node$n.pid")
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  done
  # an SST's rsync daemon outlives a joiner killed in the middle of one:
  # its pid file is in the joiner's data directory
  for n in 1 2 3; do
    for pid in "$STATE/node$n/data/rsync_sst.pid"; do
      [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null
    done
  done
  rm -rf "$STATE"
}

case "${1:-}" in
  # a node that misses its deadline on a busy machine (an SST racing the
  # ports the previous cluster left in TIME_WAIT) gets one more try: the
  # first attempt's logs go to stderr, a second failure is the error
  start) ( start ) || { echo "galera.sh: starting again once" >&2; stop_all; sleep 2; start; } ;;
  env) urls ;;
  stop) stop_all ;;
  *) echo "usage: galera.sh start|env|stop" >&2; exit 2 ;;
esac
