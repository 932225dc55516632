#!/usr/bin/env bash
# host_systemd_verify: the installed nfdsr.service passes `systemd-analyze
# verify`, and its `systemd-analyze security` exposure stays at or below the
# level recorded in README.md ("systemd unit and hardening").
#   systemd_verify.sh BUILD_DIR SOURCE_DIR
#
# The unit is taken as `cmake --install` writes it (prefix /usr) into a temp
# DESTDIR; verify checks that ExecStart= exists, so the copy checked has
# /usr/sbin/ rewritten to DESTDIR/usr/sbin/ -- nothing else is changed.
set -euo pipefail
BUILD=$1 SRC=$2
MAX_EXPOSURE=15 # 1.5, in systemd-analyze's tenths; README.md records it
TMP=$(mktemp -d /tmp/nfdsr-systemd.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

command -v systemd-analyze >/dev/null || { echo "FAIL: systemd-analyze missing (scripts/deps installs systemd)"; exit 1; }

DESTDIR=$TMP/root cmake --install "$BUILD" --prefix /usr --component runtime >/dev/null
unit=$TMP/root/usr/lib/systemd/system/nfdsr.service
[[ -f $unit ]] || { echo "FAIL: cmake --install did not install lib/systemd/system/nfdsr.service"; exit 1; }
[[ -x $TMP/root/usr/sbin/nfdsrd ]] || { echo "FAIL: nfdsrd not installed in sbin"; exit 1; }
grep -q '^ExecStart=/usr/sbin/nfdsrd ' "$unit" || { echo "FAIL: installed unit's ExecStart does not name /usr/sbin/nfdsrd"; exit 1; }

mkdir "$TMP/units"
sed "s|/usr/sbin/|$TMP/root/usr/sbin/|g" "$unit" >"$TMP/units/nfdsr.service"
cd "$TMP/units"

fail=0
out=$(systemd-analyze verify "$TMP/units/nfdsr.service" 2>&1) || { echo "FAIL: systemd-analyze verify exit $?"; fail=1; }
if [[ -n $out ]]; then
  echo "FAIL: systemd-analyze verify reported:"
  echo "$out"
  fail=1
else
  echo "ok: systemd-analyze verify: no findings"
fi

for key in Type=notify ExecReload= Restart=on-failure 'ExecStartPre=+/sbin/modprobe' CapabilityBoundingSet=CAP_NET_ADMIN \
           NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes RestrictAddressFamilies= SystemCallFilter=; do
  grep -q "^$key" "$unit" || { echo "FAIL: unit lacks $key"; fail=1; }
done

report=$(systemd-analyze security --offline=yes "$TMP/units/nfdsr.service" 2>&1 || true)
level=$(sed -n 's/.*Overall exposure level for nfdsr.service: \([0-9.]*\).*/\1/p' <<<"$report")
echo "systemd-analyze security: overall exposure $level"
grep '✗' <<<"$report" || true
if ! systemd-analyze security --offline=yes --threshold=$MAX_EXPOSURE "$TMP/units/nfdsr.service" >/dev/null 2>&1; then
  echo "FAIL: exposure $level is above $((MAX_EXPOSURE / 10)).$((MAX_EXPOSURE % 10))"
  fail=1
fi
readme_level=$(sed -n 's/.*`systemd-analyze security` exposure: \*\*\([0-9.]*\)\*\*.*/\1/p' "$SRC/README.md")
if [[ $readme_level != "$level" ]]; then
  echo "FAIL: README.md records exposure '${readme_level}', systemd-analyze says $level"
  fail=1
fi

((fail == 0)) && echo PASS || echo FAILED
exit $fail
