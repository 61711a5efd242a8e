#!/usr/bin/env bash
# run_tests.sh: the test runner behind `make test`. Runs the C unit tests and
# the busted specs (on Lua 5.4, and on LuaJIT against the compat build), sums
# their counts and ends with the plain line "N passed, N failed" (busted
# errors count as failures; pending tests are only reported). Exit status 1
# on any failure. Environment (set by the Makefile): BUILD, LUA (the
# interpreter busted runs in: lua5.4, or the sanitized one), CTESTS (empty when
# there are no C tests), ALLOC_TESTS, FUZZ_REPLAY, BINDING_TESTS, VG, RUN_PREFIX, JIT_MODULE, LUA_PATH_DEV,
# LUA_CPATH_DEV; QS_BACKENDS passes through to the specs.
# Specs that start a Lua of their own should use $QS_LUA (set below): under
# SANITIZE=1 only that interpreter can load the sanitized core.so.
set -u
cd "$(dirname "$0")/../.."
counts=$(mktemp)
trap 'rm -f "$counts"' EXIT
passed=0
failed=0
pending=0

export QS_LUA=$LUA

# Several checkouts (git worktrees) may run make test at the same time: each
# gets its own server directory and ports, from its path, unless the caller
# chose them (or points at servers of its own with QS_PG_URL/QS_MYSQL_URL).
slot=$(( $(pwd | cksum | cut -d' ' -f1) % 100 ))
export QS_SERVERS_DIR=${QS_SERVERS_DIR:-/tmp/quicksilver-servers-$slot}
export QS_PG_PORT=${QS_PG_PORT:-$((54230 + slot))}
export QS_MYSQL_PORT=${QS_MYSQL_PORT:-$((33170 + slot))}
lua_name=$(basename "$LUA")
# The test servers listen on fixed ports inside Linux's ephemeral range
# (32768-60999): an outgoing connection the kernel numbers at random can hold
# one of them just when a server starts. Where this runs as root, those port
# ranges are taken out of the automatic choice (explicit binds still work;
# the setting is appended to, never replaced).
reserved=/proc/sys/net/ipv4/ip_local_reserved_ports
if [ -w "$reserved" ]; then
  current=$(cat "$reserved")
  want=33170-33499,45671-45699,54230-54499
  case ",$current," in *",$want,"*) ;; *) echo "${current:+$current,}$want" > "$reserved" 2>/dev/null || true ;; esac
fi

# count_c LABEL RC OUTPUT: adds a C test binary's "N passed, N failed" (its
# last such line: leak reports may follow it) to the totals; a binary that
# printed none, or exited non-zero with no failure counted, is one failure.
count_c() {
  local label=$1 rc=$2 line
  line=$(printf '%s\n' "$3" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
  if [[ "$line" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    passed=$((passed + BASH_REMATCH[1]))
    failed=$((failed + BASH_REMATCH[2]))
    if [ "$rc" -ne 0 ] && [ "${BASH_REMATCH[2]}" = 0 ]; then
      echo "$label exited with $rc although every test passed (a leak or sanitizer report)"
      failed=$((failed + 1))
    fi
  else
    echo "$label did not finish (exit $rc)"
    failed=$((failed + 1))
  fi
}

if [ -n "${CTESTS:-}" ]; then
  echo "== C unit tests"
  out=$(env $RUN_PREFIX $VG "$CTESTS" 2>&1)
  rc=$?
  echo "$out"
  count_c "C tests" $rc "$out"
else
  echo "== C unit tests: none yet (no c/test/test_main.c), 0 counted"
fi

# The binding under a failing allocator: its own program (it links Lua).
if [ -n "${ALLOC_TESTS:-}" ] && [ -x "$ALLOC_TESTS" ]; then
  echo "== C binding tests under a failing allocator"
  out=$(env $RUN_PREFIX $VG "$ALLOC_TESTS" 2>&1)
  rc=$?
  echo "$out" | tail -n 12
  count_c "Failing-allocator tests" $rc "$out"
fi

# The fuzz targets' seed corpora and crash reproducers (c/test/fuzz/), each
# target's replay program built under ASan + UBSan whatever the run (not under
# valgrind: ASan and valgrind do not mix). One test per target.
if [ -n "${FUZZ_REPLAY:-}" ]; then
  echo "== fuzz corpora and reproducers replayed under ASan + UBSan"
  for prog in $FUZZ_REPLAY; do
    target=${prog##*/replay_}
    if [ ! -x "$prog" ]; then
      echo "$prog was not built"
      failed=$((failed + 1))
      continue
    fi
    out=$(ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
      "$prog" "c/test/fuzz/corpus/$target" "c/test/fuzz/regress/$target" 2>&1)
    rc=$?
    if [ $rc -eq 0 ]; then
      echo "$out" | grep -v '^replaying ' | grep -v '^[0-9]* passed, [0-9]* failed$'
    else
      echo "$out" | tail -n 40
    fi
    count_c "Fuzz replay ($target)" $rc "$out"
  done
fi

# The compiler and the ORM accelerators through the Lua C API: its own
# program (it links Lua), counted like the C unit tests.
if [ -n "${BINDING_TESTS:-}" ]; then
  echo "== C binding tests (compiler, unit of work, loader)"
  if [ -x "$BINDING_TESTS" ]; then
    out=$(env $RUN_PREFIX $VG "$BINDING_TESTS" 2>&1)
    rc=$?
    echo "$out"
    count_c "Binding tests" $rc "$out"
  else
    echo "$BINDING_TESTS was not built"
    failed=$((failed + 1))
  fi
fi

# The pool's thread test under ThreadSanitizer (its own build), unless the
# run is already a sanitizer or valgrind run.
if [ -n "${CTESTS:-}" ] && [ -z "$RUN_PREFIX" ] && [ -z "$VG" ]; then
  echo "== C pool tests under ThreadSanitizer"
  out=$(make --no-print-directory -s tsan 2>&1)
  rc=$?
  echo "$out" | tail -n 8
  count_c "ThreadSanitizer run" $rc "$out"
fi

# run_busted LABEL CPATH COMMAND...: one busted run inside the given Lua (so
# sanitizers and valgrind see the process that loads quicksilver.core), its
# counts read from the file the output handler writes.
run_busted() {
  local label=$1 cpath=$2 dir=spec extra=
  shift 2
  if [ "${!#}" = "--backend" ]; then   # the behaviour suite, the ORM specs, the docs' server blocks
    dir="spec/backend spec/orm spec/docs_spec.lua"
    set -- "${@:1:$(($# - 1))}"
  elif [ "${!#}" = "--backend-only" ]; then   # the behaviour suite alone (the wire driver's pass)
    dir="spec/backend"
    set -- "${@:1:$(($# - 1))}"
  elif [ "${!#}" = "--async" ]; then   # the coroutine specs (docs/ASYNC.md)
    dir="spec/async"
    set -- "${@:1:$(($# - 1))}"
  elif [ "${!#}" = "--openresty" ]; then   # quicksilver inside nginx (docs/OPENRESTY.md)
    dir="spec/openresty"
    set -- "${@:1:$(($# - 1))}"
  elif [ "${!#}" = "--scaleout" ]; then   # replicas, pgbouncer, failover, Galera (docs/SCALING.md)
    dir="spec/scaleout"
    set -- "${@:1:$(($# - 1))}"
  else
    # the nginx specs need the servers: they run on their own once those
    # started; the scale-out specs need their clusters (run_scaleout)
    extra=--exclude-pattern=^ngx_
    dir=$(for d in spec/*_spec.lua spec/*/; do [ "$d" = spec/scaleout/ ] || printf '%s ' "${d%/}"; done)
  fi
  echo "== busted specs ($label)"
  : > "$counts"
  env QS_COUNTS_FILE="$counts" LUA_PATH="$LUA_PATH_DEV" LUA_CPATH="$cpath" \
    "$@" spec/support/busted_main.lua -o spec/support/count_handler.lua $extra $dir
  local rc=$?
  if [ -s "$counts" ]; then
    local p f e n
    # one line per suite run (several with --repeat): sum them
    read -r p f e n < <(awk '{p += $1; f += $2; e += $3; n += $4} END {print p, f, e, n}' "$counts")
    passed=$((passed + p))
    failed=$((failed + f + e))
    pending=$((pending + n))
    if [ $rc -ne 0 ] && [ $((f + e)) -eq 0 ]; then
      echo "busted ($label) exited with $rc although every test passed (a crash, or a leak report)"
      failed=$((failed + 1))
    fi
  else
    echo "busted ($label) did not report (exit $rc)"
    failed=$((failed + 1))
  fi
}

run_busted "$lua_name" "$LUA_CPATH_DEV" env $RUN_PREFIX $VG "$LUA"
if [ -n "${JIT_MODULE:-}" ]; then
  run_busted luajit "$(pwd)/$BUILD/jit/?.so;;" luajit
fi

# run_program TITLE PROGRAM URL ARG...: runs a C program of c/test/server
# against the server at URL, each ARG being a literal or one of HOST PORT USER
# PASSWORD DB taken from the URL; its last line, "N passed, N failed", counts.
run_program() {
  local title=$1 prog=$BUILD/$2 url=$3 out line a
  local -a args=()
  shift 3
  if [ ! -x "$prog" ]; then
    echo "$prog was not built"
    failed=$((failed + 1))
    return
  fi
  if [[ ! "$url" =~ ^[a-z]+://([^@:/]+)(:([^@]*))?@([^:/]+):([0-9]+)/([^?]+) ]]; then
    echo "cannot read the server URL $url for $title"
    failed=$((failed + 1))
    return
  fi
  local user=${BASH_REMATCH[1]} password=${BASH_REMATCH[3]} host=${BASH_REMATCH[4]}
  local port=${BASH_REMATCH[5]} db=${BASH_REMATCH[6]}
  for a in "$@"; do
    case "$a" in
      HOST) args+=("$host") ;; PORT) args+=("$port") ;; USER) args+=("$user") ;;
      PASSWORD) args+=("$password") ;; DB) args+=("$db") ;; *) args+=("$a") ;;
    esac
  done
  echo "== $title"
  out=$(env $RUN_PREFIX "$prog" "${args[@]}" 2>&1)
  echo "$out"
  line=$(echo "$out" | tail -n 1)
  if [[ "$line" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    passed=$((passed + BASH_REMATCH[1]))
    failed=$((failed + BASH_REMATCH[2]))
  else
    failed=$((failed + 1))
  fi
}

# run_async BACKEND [LABEL]: the coroutine specs (spec/async/) on a server, in Lua 5.4
# (built-in loop, cqueues, luv) and in LuaJIT (the schedulers installed there).
run_async() {
  local what=${2:-$1}   # the label: the backend, or what else it says (the driver)
  run_busted "$lua_name async on $what" "$LUA_CPATH_DEV" env QS_BACKEND="$1" $RUN_PREFIX $VG "$LUA" --async
  if [ -n "${JIT_MODULE:-}" ]; then
    run_busted "luajit async on $what" "$(pwd)/$BUILD/jit/?.so;;" env QS_BACKEND="$1" luajit --async
  fi
}

# The shared behaviour suite (spec/backend/) once more per server backend, on
# servers started here unless QS_PG_URL / QS_MYSQL_URL point at existing ones.
# A server that does not start is a failure, never a skip.
backends=${QS_BACKENDS:-sqlite postgresql mysql}
started=0
for backend in $backends; do
  case "$backend" in
    sqlite) ;;   # the whole suite above ran on SQLite
    postgresql)
      if [ -z "${QS_PG_URL:-}" ]; then
        out=$(bash spec/support/servers.sh start pg) || { echo "PostgreSQL did not start"; failed=$((failed + 1)); continue; }
        started=1
        export QS_SERVERS_OWNED=1   # the fault specs may stop and start them
        export "$(echo "$out" | grep '^QS_PG_URL=')"
      fi
      QS_BACKEND=postgresql run_busted "$lua_name on postgresql" "$LUA_CPATH_DEV" env QS_BACKEND=postgresql \
        $RUN_PREFIX $VG "$LUA" --backend
      run_async postgresql
      # fault spec 7: a pool of server connections across fork()
      run_program "pool across fork() on postgresql" pool_fork_server "$QS_PG_URL" HOST PORT USER DB
      run_program "timeouts and cancels on postgresql" cancel_server "$QS_PG_URL" postgresql HOST PORT USER PASSWORD DB
      run_program "operations as steps on postgresql" pg_steps_server "$QS_PG_URL" HOST PORT USER PASSWORD DB
      # The wire driver (c/driver/wire_pg.c, no libpq) through the behaviour
      # suite and the coroutine specs once more, in Lua 5.4: the same URL as
      # postgresql+wire:// (the ORM specs and LuaJIT ran on libpq above).
      wire_url=${QS_PG_URL/#postgresql:\/\//postgresql+wire://}
      QS_BACKEND=postgresql QS_PG_URL=$wire_url run_busted "$lua_name on postgresql+wire" "$LUA_CPATH_DEV" \
        env QS_BACKEND=postgresql QS_PG_URL="$wire_url" $RUN_PREFIX $VG "$LUA" --backend-only
      run_busted "$lua_name async on postgresql+wire" "$LUA_CPATH_DEV" \
        env QS_BACKEND=postgresql QS_PG_URL="$wire_url" $RUN_PREFIX $VG "$LUA" --async
      ;;
    mysql|mariadb)
      if [ -z "${QS_MYSQL_URL:-}" ]; then
        out=$(bash spec/support/servers.sh start mysql) || { echo "MariaDB did not start"; failed=$((failed + 1)); continue; }
        started=1
        export QS_SERVERS_OWNED=1
        export "$(echo "$out" | grep '^QS_MYSQL_URL=')"
      fi
      QS_BACKEND=mysql run_busted "$lua_name on mysql" "$LUA_CPATH_DEV" env QS_BACKEND=mysql \
        $RUN_PREFIX $VG "$LUA" --backend
      run_async mysql
      run_program "timeouts and cancels on mysql" cancel_server "$QS_MYSQL_URL" mysql HOST PORT USER PASSWORD DB
      run_program "the mysql driver as steps" my_steps_server "$QS_MYSQL_URL" HOST PORT USER PASSWORD DB
      # the wire driver (mywire, c/driver/wire_my.c) through the backend and coroutine
      # suites once more: the same specs, a mysql+wire:// URL
      wire_url=$(echo "$QS_MYSQL_URL" | sed -E 's|^[a-z]+(\+[a-z]+)?://|mysql+wire://|')
      QS_BACKEND=mysql run_busted "$lua_name on mysql (wire driver)" "$LUA_CPATH_DEV" env QS_BACKEND=mysql \
        QS_MYSQL_URL="$wire_url" $RUN_PREFIX $VG "$LUA" --backend
      QS_MYSQL_URL="$wire_url" run_async mysql "mysql (wire driver)"
      run_program "timeouts and cancels on mysql (wire driver)" cancel_server "$QS_MYSQL_URL" mywire HOST PORT USER PASSWORD DB
      ;;
    *) echo "unknown backend '$backend' in QS_BACKENDS"; failed=$((failed + 1)) ;;
  esac
done
# quicksilver inside a real nginx (spec/openresty/: LuaJIT in the nginx worker,
# the HTTP clients in Lua 5.4 with cqueues) on the servers above; a missing
# nginx fails there, never skips.
# nginx loads the LuaJIT build of the module, which sanitizer runs do not make.
case " $backends " in
  *" postgresql "*)
    if [ -n "${JIT_MODULE:-}" ]; then
      run_busted "nginx (OpenResty) on the servers" "$LUA_CPATH_DEV" \
        env QS_NGINX_CPATH="$(pwd)/$BUILD/jit" $RUN_PREFIX "$LUA" --openresty
    else
      echo "== nginx (OpenResty) specs: not in this run (no LuaJIT build of the module)"
    fi ;;
esac

[ "$started" = 1 ] && bash spec/support/servers.sh stop

# The scale-out suite (spec/scaleout/, docs/SCALING.md): every component of
# spec/support/scaleout/ (a PostgreSQL primary with a streaming standby, ...)
# started on its own ports, the specs run once with the URLs they printed,
# everything stopped. A component that does not start is a failure, never a
# skip. QS_SCALEOUT=0 leaves the suite out (a quick local run).
if [ "${QS_SCALEOUT:-1}" != 0 ]; then
  echo "== scale-out components"
  scale_t0=$(date +%s)
  scale_env=()
  for script in spec/support/scaleout/*.sh; do
    name=$(basename "$script" .sh)
    if out=$(bash "$script" start 2>&1); then
      while IFS= read -r line; do
        [[ "$line" =~ ^QS_[A-Z0-9_]+= ]] && scale_env+=("$line")
      done <<< "$out"
      echo "$name started ($(( $(date +%s) - scale_t0 )) s)"
    else
      echo "$out" | tail -n 20
      echo "scale-out component $name did not start"
      failed=$((failed + 1))
    fi
  done
  run_busted "$lua_name scale-out" "$LUA_CPATH_DEV" env "${scale_env[@]}" $RUN_PREFIX $VG "$LUA" --scaleout
  # the behaviour suite through pgbouncer in transaction pooling mode, on both
  # PostgreSQL drivers (prepared_statements = false; the specs that need a
  # server session of their own are pending there: docs/SCALING.md; the
  # fault specs that stop and start servers.sh's server do not apply: that
  # server is not the one behind pgbouncer)
  bouncer_url=$(printf '%s\n' "${scale_env[@]}" | sed -n 's/^QS_PGBOUNCER_URL=//p')
  if [ -n "$bouncer_url" ]; then
    pooled="$bouncer_url?prepared_statements=false"
    QS_BACKEND=postgresql run_busted "$lua_name on postgresql through pgbouncer" "$LUA_CPATH_DEV" \
      env -u QS_SERVERS_OWNED QS_BACKEND=postgresql QS_PG_POOLER=transaction QS_PG_URL="$pooled" $RUN_PREFIX $VG "$LUA" --backend-only
    pooled=${pooled/#postgresql:\/\//postgresql+wire://}
    QS_BACKEND=postgresql run_busted "$lua_name on postgresql+wire through pgbouncer" "$LUA_CPATH_DEV" \
      env -u QS_SERVERS_OWNED QS_BACKEND=postgresql QS_PG_POOLER=transaction QS_PG_URL="$pooled" $RUN_PREFIX $VG "$LUA" --backend-only
  fi
  for script in spec/support/scaleout/*.sh; do bash "$script" stop >/dev/null 2>&1; done
  echo "scale-out suite: $(( $(date +%s) - scale_t0 )) s"
fi

[ "$pending" -gt 0 ] && echo "$pending pending"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
