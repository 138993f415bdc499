#!/usr/bin/env bash
# Start openfm in the foreground on an emulated DGX/HGX H100 (the README's
# main command). Usage: scripts/run-emulated-h100.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
bin="$build/bin"
root=${OPENFM_EMU_ROOT:-${XDG_RUNTIME_DIR:-/tmp}/openfm-demo-$(id -u)}
mkdir -p "$root"
export OPENFM_EMU_DIR="$root/hgx-h100"
cfg="$root/fabricmanager.cfg"
cat >"$cfg" <<CFG
# written by scripts/run-emulated-h100.sh
DAEMONIZE=0
LOG_FILE_NAME=
FABRIC_MODE=0
FM_CMD_UNIX_SOCKET_PATH=$root/fm.sock
OPENFM_PID_FILE=$root/openfm.pid
CFG
cat <<MSG
openfm on an emulated HGX H100 ($OPENFM_EMU_DIR), logging to this terminal.
In another terminal, try:
  export OPENFM_EMU_DIR=$OPENFM_EMU_DIR PATH=$PWD/$bin:\$PATH
  fmctl status --socket $root/fm.sock        # fabric state, per-GPU Fabric section
  fmctl emu probe 1 2                        # walk GPU 1 -> GPU 2 through the switches
  fmctl emu probe --all --quiet              # all pairs: NV18 everywhere
  fmctl audit                                # GPU reachability from the programmed tables
  fmctl topo matrix                          # what the model says
  fmctl emu inject sxid --switch 1 --port 40 --code 12028   # watch it being logged here
Stop with Ctrl-C.

MSG
exec "$bin/openfm" -c "$cfg" --emulate hgx-h100
