#!/bin/sh
# docs/ARCHITECTURE.md names every source, test and top-level folder that
# exists (so a new module cannot land undocumented) and every folder it names
# as a path exists; README.md lists every page of docs/.
# Usage: check_layout.sh SOURCE_DIR
set -u
cd "$1" || exit 1
doc=docs/ARCHITECTURE.md
fail=0
for d in src/* src/*/* tests/* bench fuzz man etc systemd scripts share/*; do
    [ -d "$d" ] || continue
    case $d in fuzz/seeds | */__pycache__) continue ;; esac
    # `src/hal/emu` or `tests/ops/` anywhere in the text
    if ! grep -qE -- "(^|[^A-Za-z0-9_/])$d(/|[^A-Za-z0-9_/]|\$)" "$doc"; then
        # tests/<module>/ covers test folders named after a src module
        m=${d#tests/}
        if [ "$m" != "$d" ] && [ -d "src/$m" ]; then continue; fi
        echo "FAIL: $d exists but $doc does not mention it"
        fail=1
    fi
done
for d in $(grep -oE '`(src|tests|share|include)/[A-Za-z0-9_/.-]*/?`' "$doc" | tr -d '`' | grep -v '<' | sort -u); do
    [ -e "$d" ] || { echo "FAIL: $doc names $d, which does not exist"; fail=1; }
done
# and README.md's documentation list names every page in docs/
for f in docs/*.md; do
    grep -qF -- "$f" README.md || { echo "FAIL: README.md does not list $f"; fail=1; }
done
[ $fail = 0 ] && echo "docs/ARCHITECTURE.md matches the folder layout; README.md lists every page"
exit $fail
