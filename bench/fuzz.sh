#!/usr/bin/env bash
# Run every libFuzzer target in fuzz/ for DURATION seconds each and print, per
# target, the executions, the coverage (libFuzzer's "cov" edge count and "ft"
# feature count) and the corpus size.
#
#   bench/fuzz.sh DURATION [BUILD_DIR]
#
# BUILD_DIR (default build-fuzz) is configured with CC=clang -DOPENFM_FUZZ=ON
# and built when needed. Each target keeps a corpus in BUILD_DIR/corpus/NAME
# that grows run after run (seeded from the project's own inputs: shipped
# topologies, configuration, MIG files), so repeated runs accumulate; the
# cumulative figures belong in docs/fuzzing.md. Exit status 1 if a target
# crashed (its reproducer is left in BUILD_DIR/crashes/), 2 on usage errors.
# .ci/run uses a few seconds per target as a smoke test.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ] || ! [[ $1 =~ ^[0-9]+$ ]] || [ "$1" -lt 1 ]; then
  echo "usage: bench/fuzz.sh DURATION_SECONDS [BUILD_DIR]" >&2
  exit 2
fi
duration=$1
build=${2:-build-fuzz}

if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOPENFM_FUZZ=ON >/dev/null
fi
targets=$(for f in fuzz/fuzz_*.c; do basename "$f" .c; done)
# shellcheck disable=SC2086 # one argument per target
cmake --build "$build" -j "${JOBS:-2}" --target $targets >/dev/null

# Seeds: the inputs each parser is meant for.
seeds_for() {
  case $1 in
    fuzz_topology) echo share/topologies ;;
    fuzz_config) echo etc ;;
    fuzz_mig_config) echo share/mig ;;
    fuzz_state_file) echo fuzz/seeds/state_file ;;
    *) ;;
  esac
}

mkdir -p "$build/crashes"
status=0
printf '%-20s %12s %10s %8s %8s %s\n' target executions exec/s cov ft corpus
for name in $targets; do
  bin="$build/bin/$name"
  corpus="$build/corpus/$name"
  mkdir -p "$corpus"
  seeds=$(seeds_for "$name")
  log="$build/corpus/$name.log"
  # shellcheck disable=SC2086 # seeds is a list of directories (or empty)
  if ! "$bin" -max_total_time="$duration" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$build/crashes/$name-" "$corpus" $seeds >"$log" 2>&1; then
    echo "$name: CRASHED; reproducer and log: $build/crashes/$name-*, $log" >&2
    tail -n 30 "$log" >&2
    status=1
    continue
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -n1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  files=$(find "$corpus" -type f | wc -l)
  printf '%-20s %12s %10s %8s %8s %s files\n' "$name" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
    "${ft:-?}" "$files"
done
exit $status
