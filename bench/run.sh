#!/usr/bin/env bash
# Run every benchmark present: `make bench` calls this with the build dir.
# Usage: bench/run.sh [BUILD_DIR]   (RUNS=N overrides the start-up run count)
set -euo pipefail
build=${1:-build}
bin="$build/bin"
if [[ ! -x "$bin/openfm" ]]; then
    echo "bench/run.sh: $bin/openfm not found; build first (make)" >&2
    exit 2
fi
status=0
ran=0
for src in "$(dirname "$0")"/*.c; do
    name=$(basename "$src" .c)
    for exe in "$bin/bench_$name" "$bin/$name"; do
        [[ -x "$exe" ]] || continue
        echo "== $(basename "$exe")"
        case $name in
            startup) args=(--bin "$bin" --runs "${RUNS:-30}") ;;
            sdk_rtt) args=(--daemon "$bin/openfm") ;; # the real daemon on an emulated H100
            ops) args=(--build "$build") ;;
            *) args=() ;;
        esac
        "$exe" "${args[@]}" || status=1
        echo
        ran=$((ran + 1))
        break
    done
done
if [[ $ran -eq 0 ]]; then
    echo "bench/run.sh: no benchmark binaries in $bin" >&2
    exit 2
fi
exit $status
