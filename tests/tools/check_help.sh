#!/bin/sh
# Every fmctl subcommand's --help (and openfm --help, and the man page of each
# command that has one) names exactly the long options its parser accepts.
# The parser's options are read from the `struct option` tables of the command's
# source file (one table per file, src/tools/fmctl_<command>.c); the help text
# is what the built binary prints. man/fmctl.1 lists exactly the commands of
# `fmctl --help`. Usage: check_help.sh SOURCE_DIR BIN_DIR
set -u
src=$1
bin=$2
fail=0
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# long option names of every `struct option` table in FILE, one per line
parser_opts() {
    awk '/struct option/ {p = 1} p {print} p && /};/ {p = 0}' "$1" |
        grep -o '{"[a-z0-9-]*",' | tr -d '{",' | sort -u
}

# --words a text mentions (man pages write '\-\-word'), one per line
mentioned_opts() {
    sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' "$1" | grep -oE -- '(^|[^A-Za-z0-9-])--[a-z][a-z0-9-]*' |
        sed 's/^[^-]*--//' | sort -u
}

bad() {
    echo "FAIL: $*"
    fail=1
}

# shows WHAT PARSER_OPTS_FILE TEXT_FILE SINGLE_DASH_OK [SKIP]: every option
# the parser accepts (but SKIP) is in the text
shows() {
    what=$1 opts=$2 single=$4 skip=${5:-}
    text=$tmp/text
    sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' "$3" >"$text"
    while read -r o; do
        [ -n "$o" ] && [ "$o" != "$skip" ] || continue
        if grep -qE -- "(^|[^A-Za-z0-9-])--$o([^A-Za-z0-9-]|\$)" "$text"; then continue; fi
        # nvidia-smi style single-dash words (fmctl mig -lgip, -f) count too
        if [ "$single" = 1 ] && grep -qE -- "(^|[^A-Za-z0-9-])-$o([^A-Za-z0-9-]|\$)" "$text"; then
            continue
        fi
        bad "$what does not show --$o, which the parser accepts"
    done <"$opts"
}

# check WHAT PARSER_OPTS_FILE TEXT_FILE SINGLE_DASH_OK: the text shows exactly
# the options the parser accepts
check() {
    shows "$@"
    mentioned_opts "$text" >"$tmp/mentioned"
    while read -r o; do
        grep -qx -- "$o" "$opts" || bad "$what shows --$o, which the parser does not accept"
    done <"$tmp/mentioned"
}

# a man page may refer to the options of the daemon or of another command
# (openfm --restart, fmctl emu probe --all): any option some parser accepts
cat "$src"/src/tools/fmctl_*.c "$src/src/daemon/main.c" >"$tmp/all_src"
parser_opts "$tmp/all_src" >"$tmp/any_opts"

for f in "$src"/src/tools/fmctl_*.c; do
    cmd=$(basename "$f" .c)
    cmd=${cmd#fmctl_}
    parser_opts "$f" >"$tmp/opts"
    [ -s "$tmp/opts" ] || continue # helpers (connect, backend) parse nothing
    cmds=$cmd
    [ "$cmd" = exclude ] && cmds="exclude include"
    single=0
    [ "$cmd" = mig ] && single=1
    for c in $cmds; do
        if ! "$bin/fmctl" "$c" --help >"$tmp/help" 2>"$tmp/err"; then
            bad "fmctl $c --help exits non-zero: $(cat "$tmp/err")"
            continue
        fi
        check "fmctl $c --help" "$tmp/opts" "$tmp/help" $single
        man="$src/man/fmctl-$c.1"
        if [ -f "$man" ]; then
            # its own options are all in it (-h aside); others only where they exist
            shows "man/fmctl-$c.1" "$tmp/opts" "$man" $single help
            mentioned_opts "$man" >"$tmp/mentioned_man"
            while read -r o; do
                grep -qx -- "$o" "$tmp/any_opts" || bad "man/fmctl-$c.1 shows --$o, which the parser does not accept"
            done <"$tmp/mentioned_man"
        fi
    done
done

# fmctl(1) lists exactly the commands `fmctl --help` lists, and every option it
# names exists
"$bin/fmctl" --help | awk '/^commands:/ {p = 1; next} p && /^  [a-z]/ {print $1}' | sort >"$tmp/cmds"
awk '/^\.SH COMMANDS/ {p = 1; next} /^\.SH/ {p = 0} p && prev == ".TP" {print} {prev = $0}' \
    "$src/man/fmctl.1" | sed -e 's/^\.BR* //' -e 's/ *"*, *"* */\n/g' | tr -d '"' | grep . | sort >"$tmp/man_cmds"
if ! cmp -s "$tmp/cmds" "$tmp/man_cmds"; then
    bad "man/fmctl.1 COMMANDS and 'fmctl --help' differ (< --help, > man page):"
    diff "$tmp/cmds" "$tmp/man_cmds"
fi
mentioned_opts "$src/man/fmctl.1" >"$tmp/mentioned_man"
while read -r o; do
    grep -qx -- "$o" "$tmp/any_opts" || bad "man/fmctl.1 shows --$o, which no parser accepts"
done <"$tmp/mentioned_man"

parser_opts "$src/src/daemon/main.c" >"$tmp/opts"
if "$bin/openfm" --help >"$tmp/help" 2>"$tmp/err"; then
    check "openfm --help" "$tmp/opts" "$tmp/help" 0
    check "man/openfm.8" "$tmp/opts" "$src/man/openfm.8" 0
else
    bad "openfm --help exits non-zero: $(cat "$tmp/err")"
fi

[ $fail = 0 ] && echo "every --help and man page matches its parser"
exit $fail
