#!/bin/sh
# The shipped systemd units: valid for systemd (systemd-analyze verify), and
# sandboxed (docs/security.md): no new privileges, read-only system, device
# access only to the NVIDIA nodes, no PrivateTmp while the state file's
# default is in /tmp, and an exposure score of at most 3.0. The binaries are
# pointed at the build tree so that verify can check they exist.
# Usage: check_units.sh SOURCE_DIR BUILD_DIR. Exit 77 (skipped) without
# systemd-analyze (Debian package: systemd).
set -u
src=$1 build=$2
if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "systemd-analyze not found (Debian package 'systemd'): unit checks skipped"
    exit 77
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
for unit in "$src"/systemd/*.service; do
    name=$(basename "$unit")
    sed -e "s|/usr/local/sbin/openfm|$build/bin/openfm|g" \
        -e "s|/usr/local/bin/fmctl|$build/bin/fmctl|g" "$unit" > "$tmp/$name"
    if ! out=$(systemd-analyze verify --man=no "$tmp/$name" 2>&1) || [ -n "$out" ]; then
        echo "$name: systemd-analyze verify: $out"
        fail=1
    fi
    for want in NoNewPrivileges=yes ProtectSystem=strict DevicePolicy=closed ProtectHome=yes \
                CapabilityBoundingSet= RestrictAddressFamilies= SystemCallFilter=@system-service; do
        grep -q "^$want" "$unit" || { echo "$name: missing $want"; fail=1; }
    done
    if grep -q '^PrivateTmp=yes' "$unit"; then
        echo "$name: PrivateTmp=yes hides the resiliency state file (default /tmp/fabricmanager.state)"
        fail=1
    fi
    if grep -q '^DeviceAllow=' "$unit" && grep '^DeviceAllow=' "$unit" | grep -qv nvidia; then
        echo "$name: DeviceAllow= names a non-NVIDIA device"
        fail=1
    fi
    score=$(systemd-analyze security --offline=yes "$tmp/$name" 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    echo "$name: exposure $score"
    if ! systemd-analyze security --offline=yes --threshold=30 "$tmp/$name" >/dev/null 2>&1; then
        echo "$name: exposure $score is above 3.0"
        fail=1
    fi
done
[ "$fail" = 0 ] && echo "all units verified"
exit $fail
