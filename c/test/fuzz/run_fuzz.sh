#!/usr/bin/env bash
# run_fuzz.sh: the runner behind `make fuzz`. Runs each libFuzzer target of
# c/test/fuzz/ (built by the Makefile into $FUZZ_BUILD) for $FUZZ_SECONDS
# from its seed corpus, with its dictionary when there is one, then every
# spec/fuzz/*_fuzz.lua for as long. New inputs go to a working corpus under
# $FUZZ_BUILD/corpus/<target> (kept between runs, never committed); a
# finding leaves its input in $FUZZ_BUILD/findings/<target>/ and fails the
# run: copy it into c/test/fuzz/regress/<target>/ once fixed, so `make test`
# replays it from then on. Environment (set by the Makefile): FUZZ_BUILD,
# FUZZ_SECONDS, FUZZ_TARGETS, LUA, LUA_PATH_DEV, LUA_CPATH_DEV.
set -u
cd "$(dirname "$0")/../../.."
findings=0
for t in $FUZZ_TARGETS; do
  bin=$FUZZ_BUILD/fuzz_$t
  work=$FUZZ_BUILD/corpus/$t
  art=$FUZZ_BUILD/findings/$t
  mkdir -p "$work" "$art"
  dict=() regress=()
  [ -d "c/test/fuzz/regress/$t" ] && regress=("c/test/fuzz/regress/$t")
  [ -f "c/test/fuzz/dict/$t.dict" ] && dict=(-dict="c/test/fuzz/dict/$t.dict")
  echo "== fuzz_$t for ${FUZZ_SECONDS}s"
  # -rss_limit_mb: the JSON target's Lua state lives across inputs
  ASAN_OPTIONS=detect_leaks=1 "$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$art/" "${dict[@]}" "$work" "c/test/fuzz/corpus/$t" \
    "${regress[@]}" > "$FUZZ_BUILD/fuzz_$t.log" 2>&1
  rc=$?
  grep -E '^stat::number_of_executed_units|^Done [0-9]+ runs' "$FUZZ_BUILD/fuzz_$t.log" | tail -n 2
  if [ $rc -ne 0 ]; then
    echo "fuzz_$t: FINDING (exit $rc); the input is in $art/, the log $FUZZ_BUILD/fuzz_$t.log:"
    grep -E 'ERROR|SUMMARY|fuzz property|runtime error' "$FUZZ_BUILD/fuzz_$t.log" | head -n 8
    findings=$((findings + 1))
  fi
done
for f in spec/fuzz/*_fuzz.lua; do
  [ -e "$f" ] || continue
  echo "== $f for ${FUZZ_SECONDS}s"
  LUA_PATH="$LUA_PATH_DEV" LUA_CPATH="$LUA_CPATH_DEV" "$LUA" "$f" --seconds "$FUZZ_SECONDS"
  rc=$?
  if [ $rc -ne 0 ]; then
    echo "$f: FINDING (exit $rc)"
    findings=$((findings + 1))
  fi
done
if [ $findings -gt 0 ]; then
  echo "make fuzz: $findings target(s) with findings"
  exit 1
fi
echo "make fuzz: no finding"
