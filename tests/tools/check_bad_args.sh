#!/bin/sh
# Bad command-line values at the tools' trust boundary: each row is the exit
# status expected, a piece of the one-line message that must name the value,
# and the command. A crash, a sanitizer report, a silent exit or a different
# status fails. Nothing here needs a running daemon or an emulated system:
# every value is refused before either is touched.
# Usage: check_bad_args.sh BIN_DIR
set -u
bin=$1
fail=0
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
export OPENFM_EMU_ROOT="$tmp/emu" # never the caller's systems
long=$(printf '%0300d' 7 | tr 0 9)

row() {
    want_rc=$1 want_msg=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" != "$want_rc" ]; then
        echo "FAIL: $* exited $rc, expected $want_rc; stderr: $(head -c 300 "$tmp/err")"
        fail=1
    elif ! grep -qF -- "$want_msg" "$tmp/err"; then
        echo "FAIL: $*: stderr lacks '$want_msg': $(head -c 300 "$tmp/err")"
        fail=1
    elif grep -qE 'Sanitizer|runtime error' "$tmp/err"; then
        echo "FAIL: $*: sanitizer report: $(head -c 300 "$tmp/err")"
        fail=1
    fi
}

f=$bin/fmctl
row 2 "'1,,2': expected a GPU physical ID at ',2'" $f partition create 1,,2
row 2 "'5-3': range 5-3 is reversed" $f partition create 5-3
row 2 "GPU 1 is listed twice" $f partition create 1,1
row 2 "GPU physical IDs are at most 1023" $f partition create "$long"
row 2 "'abc' is not a partition ID" $f partition create 1,2 --id abc
row 2 "is not a partition ID" $f partition activate 99999999999999
row 2 "is not a PCI address DDDD:BB:DD.F" $f partition activate 1 --vf zz
row 2 "fmctl partition: invalid option" $f partition delete -1
row 2 "'abc' is not a physical ID" $f reset gpu abc
row 2 "is not a physical ID" $f reset gpu "$long"
row 2 "--port: '999' is not a number in 0-71" $f emu inject link-down --switch 1 --port 999
row 2 "--switch: 'abc' is not a number" $f emu inject link-down --switch abc --port 1
row 2 "--code: '-1' is not a number" $f emu inject xid --gpu 1 --code -1
row 2 "emulator directory path longer than" $f emu create --platform hgx-h100 --emu-dir "/$long/$long/$long/$long/$long/$long/$long/$long/$long/$long/$long/$long/$long/$long"
row 2 "--timeout: '0' is not a number of milliseconds" $f status --timeout 0
row 2 "'1.2.3' is not a.b.c.d" $f status --address 1.2.3
row 2 "--since: 'abc' is not a sequence number" $f events --since abc
row 2 "is not a sequence number" $f events --since 99999999999999999999999
row 2 "-s: 'x' is not a GPU physical ID" $f audit -s x -d 1
row 2 "-d: '99999999999999999999' is not a GPU physical ID" $f audit -s 1 -d 99999999999999999999
row 2 "-i: 'x' is not a GPU index" $f nvlink status -i x
row 2 "list longer than 255 characters" $f mig -i "$long" -lgi
row 2 "--gpus '1,,2': expected a GPU physical ID" $f passthrough plan --gpus 1,,2 --platform hgx-a100
row 2 "is not a VM size" $f passthrough plan --gpus abc --platform hgx-a100
row 2 "unknown platform 'nosuch'" $f topo show nosuch
row 2 "cannot open topology file" $f topo show /nonexistent/x.topo
row 2 "'bogus' is not a device kind: gpu or switch" $f exclude bogus 1
row 2 "the ID is empty" $f include gpu ""
row 2 "is too long (at most" $f exclude gpu "$long"
row 2 "unknown command 'bogus'" $f bogus

o=$bin/openfm
printf 'OPENFM_METRICS_LISTEN=127.0.0.1\n' >"$tmp/m.cfg"
row 1 "OPENFM_METRICS_LISTEN=127.0.0.1: expected IPV4:PORT" $o -n -c "$tmp/m.cfg"
printf 'FABRIC_MODE=1\nFABRIC_MODE=0\n' >"$tmp/d.cfg"
row 1 "d.cfg:2: duplicate key 'FABRIC_MODE' (first set on line 1)" $o -n -c "$tmp/d.cfg"
printf 'FABRIC_MODE=1 # shared\n' >"$tmp/c.cfg"
row 1 "c.cfg:1: FABRIC_MODE: value '1 # shared' is not a number" $o -n -c "$tmp/c.cfg"
row 1 "configuration file is a directory" $o -n -c "$tmp"
row 1 "unknown platform" $o -n --emulate nosuch -c "$tmp/m.cfg"
row 2 "unexpected argument 'extra'" $o extra

[ $fail = 0 ] && echo "every bad value refused with its message and exit status"
exit $fail
