#!/usr/bin/env bash
# host_package: CPack builds the two .debs into BUILD/packages, with the
# expected contents and dependencies.
#   package.sh BUILD_DIR VERSION
set -euo pipefail
BUILD=$1 VERSION=$2
OUT=$BUILD/packages
fail=0
bad() { echo "FAIL: $*"; fail=1; }

rm -f "$OUT"/*.deb
(cd "$BUILD" && cpack --config CPackConfig.cmake -B "$OUT") >"$BUILD/cpack.log" 2>&1 || {
  cat "$BUILD/cpack.log"; echo "FAIL: cpack"; exit 1; }
rt=$OUT/nfdsr_${VERSION}_amd64.deb
dk=$OUT/nfdsr-dkms_${VERSION}_all.deb
[[ -f $rt && -f $dk ]] || { ls -l "$OUT"; echo "FAIL: expected $rt and $dk"; exit 1; }

contents=$(dpkg-deb -c "$rt")
for f in ./usr/sbin/nfdsrctl ./usr/sbin/nfdsrd ./usr/lib/systemd/system/nfdsr.service \
         ./usr/share/doc/nfdsr/README.md ./usr/share/doc/nfdsr/docs/config.md \
         ./usr/share/doc/nfdsr/examples/reference-lab.yaml; do
  grep -q " $f\$" <<<"$contents" || bad "nfdsr .deb lacks $f"
done
grep -q '^-rwxr-xr-x root/root .* ./usr/sbin/nfdsrd$' <<<"$contents" || bad "nfdsrd not root-owned 0755"
grep -q '/usr/src/' <<<"$contents" && bad "nfdsr .deb contains module sources"

info=$(dpkg-deb -I "$rt")
depends=$(dpkg-deb -f "$rt" Depends)
echo "nfdsr Depends: $depends"
for p in libnftnl11 libmnl0 libnl-3-200 libnl-genl-3-200 libnl-route-3-200 libboost-log1.74.0 libyaml-cpp0.7 libsystemd0; do
  grep -Eq "(^|, )$p( |,|$)" <<<"$depends" || bad "nfdsr Depends lacks $p"
done
[[ $(dpkg-deb -f "$rt" Package) == nfdsr ]] || bad "package name"
[[ $(dpkg-deb -f "$rt" Version) == "$VERSION" ]] || bad "version"
# the unit inside runs the packaged binary
dpkg-deb --fsys-tarfile "$rt" | tar -xO ./usr/lib/systemd/system/nfdsr.service | grep -q '^ExecStart=/usr/sbin/nfdsrd ' ||
  bad "packaged unit's ExecStart is not /usr/sbin/nfdsrd"
# binaries are stripped and run
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$rt" "$tmp"
"$tmp/usr/sbin/nfdsrctl" --help >/dev/null || bad "packaged nfdsrctl does not run"
file "$tmp/usr/sbin/nfdsrd" 2>/dev/null | grep -q 'not stripped' && bad "nfdsrd not stripped"

dcontents=$(dpkg-deb -c "$dk")
src=./usr/src/nfdsr-$VERSION
for f in dkms.conf Kbuild nfdsr_main.c nfdsr_entry.c nfdsr_backend.c nfdsr_flow.c nfdsr_bindings.c nfdsr_genl.c nfdsr_icmp.c \
         nfdsr_internal.h nfdsr_compat.h include/nfdsr/dsr_option.h include/nfdsr/uapi/nfdsr.h; do
  grep -q "^-.* $src/$f\$" <<<"$dcontents" || bad "nfdsr-dkms .deb lacks regular file $src/$f"
done
grep -q '^l' <<<"$dcontents" && bad "nfdsr-dkms .deb contains symlinks"
[[ $(dpkg-deb -f "$dk" Architecture) == all ]] || bad "nfdsr-dkms Architecture is not all"
grep -q 'dkms' <<<"$(dpkg-deb -f "$dk" Depends)" || bad "nfdsr-dkms does not depend on dkms"
dpkg-deb --fsys-tarfile "$dk" | tar -xO "$src/dkms.conf" | grep -q "^PACKAGE_VERSION=\"$VERSION\"" ||
  bad "dkms.conf PACKAGE_VERSION is not $VERSION"
ctrl=$(mktemp -d -p "$tmp")
dpkg-deb -e "$dk" "$ctrl"
grep -q "dkms add -m \"\$NAME\" -v \"\$VERSION\"" "$ctrl/postinst" && grep -q "^VERSION=$VERSION$" "$ctrl/postinst" ||
  bad "postinst does not dkms add nfdsr/$VERSION"
grep -q 'dkms install' "$ctrl/postinst" || bad "postinst does not dkms install"
grep -q 'dkms remove .*--all' "$ctrl/prerm" || bad "prerm does not dkms remove --all"
sh -n "$ctrl/postinst" && sh -n "$ctrl/prerm" || bad "maintainer scripts do not parse"
[[ -x $ctrl/postinst && -x $ctrl/prerm ]] || bad "maintainer scripts not executable"

echo "$(basename "$rt"): $(wc -l <<<"$contents") entries; $(basename "$dk"): $(wc -l <<<"$dcontents") entries"
((fail == 0)) && echo PASS || echo FAILED
exit $fail
