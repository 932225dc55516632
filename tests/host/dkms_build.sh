#!/usr/bin/env bash
# host_dkms_build: the module sources as `cmake --install` lays them out for
# DKMS (/usr/src/nfdsr-VERSION, also what the nfdsr-dkms .deb ships) build
# with `dkms build` against every installed kernel's headers.
#   dkms_build.sh BUILD_DIR VERSION
#
# Nothing system-wide is touched: the source tree is a temp copy
# (--sourcetree), the DKMS state lives in a temp --dkmstree, and the module
# signing key DKMS generates goes to a temp dir (mok_signing_key /
# mok_certificate from the environment) instead of /var/lib/dkms.
set -euo pipefail
BUILD=$1 VERSION=$2
TMP=$(mktemp -d /tmp/nfdsr-dkms.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
command -v dkms >/dev/null || { echo "FAIL: dkms missing (scripts/deps installs it)"; exit 1; }

DESTDIR=$TMP/root cmake --install "$BUILD" --component dkms >/dev/null
tree=$TMP/root/usr/src/nfdsr-$VERSION
[[ -f $tree/dkms.conf ]] || { echo "FAIL: no $tree/dkms.conf after cmake --install"; exit 1; }
if find "$tree" -type l | grep -q .; then echo "FAIL: symlinks in the DKMS tree"; exit 1; fi
mkdir -p "$TMP/src" "$TMP/dkms" "$TMP/keys"
cp -a "$tree" "$TMP/src/"
export mok_signing_key=$TMP/keys/mok.key mok_certificate=$TMP/keys/mok.pub
d=(--sourcetree "$TMP/src" --dkmstree "$TMP/dkms")

dkms add -m nfdsr -v "$VERSION" "${d[@]}"

kernels=()
for h in /usr/src/linux-headers-*; do
  [[ -f $h/.config && -f $h/Makefile ]] || continue # skip the -common halves
  kernels+=("${h#/usr/src/linux-headers-}")
done
((${#kernels[@]} > 0)) || { echo "FAIL: no kernel headers in /usr/src"; exit 1; }

fail=0
for k in "${kernels[@]}"; do
  if ! dkms build -m nfdsr -v "$VERSION" -k "$k" "${d[@]}" >"$TMP/build-$k.log" 2>&1; then
    cat "$TMP/build-$k.log"
    cat "$TMP/dkms/nfdsr/$VERSION/build/make.log" 2>/dev/null || true
    echo "FAIL: dkms build for $k"
    fail=1
    continue
  fi
  ko=$(find "$TMP/dkms/nfdsr/$VERSION/$k" -name 'nfdsr.ko*' | head -n1)
  if [[ -z $ko ]]; then
    echo "FAIL: dkms build for $k produced no nfdsr.ko"
    fail=1
    continue
  fi
  vermagic=$(modinfo -F vermagic "$ko")
  if [[ $vermagic != "$k "* ]]; then
    echo "FAIL: $ko vermagic '$vermagic' is not for $k"
    fail=1
    continue
  fi
  echo "ok: $k: ${ko#$TMP/dkms/} ($(modinfo -F version "$ko" 2>/dev/null || true))"
done
dkms status "${d[@]}" -m nfdsr || true

((fail == 0)) && echo PASS || echo FAILED
exit $fail
