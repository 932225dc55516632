#!/usr/bin/env bash
# host_check: `nfdsrctl check` on a deliberately misconfigured node (fresh
# network namespace, --no-module): the expected problems, exit 1; running
# the printed fix commands makes it exit 0. A dispatch ipip config on this
# kernel (no ipip module) reports the missing tunl0 with `modprobe ipip`.
#   check.sh NFDSRCTL
set -uo pipefail
ctl=$1
ns=nfdsr-host-check-$$
dir=$(mktemp -d)
trap 'ip netns del "$ns" 2>/dev/null; rm -rf "$dir"' EXIT
fail=0
ok() { echo "ok:   $1"; }
bad() { echo "FAIL: $1"; fail=1; }
expect() { # expect PATTERN FILE WHAT
  if grep -qE -- "$1" "$2"; then ok "$3"; else bad "$3"; fi
}

cat >"$dir/opt.yaml" <<'YAML'
nodes:
  - {name: n1, address: 10.0.0.1}
  - {name: n2, address: 10.0.0.2}
services:
  # n1 is the entry node of web (backend on n2) ...
  - name: web
    protocol: tcp
    vip: 10.9.9.9
    port: 80
    entry_nodes: [n1]
    backends:
      - {name: w2, address: 10.0.0.2, port: 8080, node: n2}
  # ... and a backend node of api, whose VIP sits on its loopback.
  - name: api
    protocol: tcp
    vip: 10.9.9.10
    port: 80
    entry_nodes: [n2]
    backends:
      - {name: a1, address: 10.0.0.1, port: 8080, node: n1}
YAML
sed -e 's/^nodes:/dispatch: ipip\nnodes:/' "$dir/opt.yaml" >"$dir/ipip.yaml"

ip netns add "$ns"
x() { ip netns exec "$ns" "$@"; }
x ip link set lo up
x ip link add eth0 type veth peer name eth1
x ip addr add 10.0.0.1/24 dev eth0
x ip link set eth0 up
x ip link set eth1 up
x ip link set eth0 mtu 1400
x ip addr add 10.9.9.10/32 dev lo
x sysctl -qw net.ipv4.ip_forward=0 net.ipv4.conf.all.send_redirects=1 net.ipv4.conf.eth0.send_redirects=1 \
  net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.all.arp_announce=0

out=$dir/out1
x "$ctl" check --no-module --config "$dir/opt.yaml" --node n1 >"$out" 2>&1
rc=$?
cat "$out"
[[ $rc == 1 ]] && ok "misconfigured: exit 1" || bad "misconfigured: exit $rc, expected 1"
expect '^FAIL net.ipv4.ip_forward = 0' "$out" "ip_forward reported"
expect '^     fix: sysctl -w net.ipv4.ip_forward=1$' "$out" "ip_forward fix"
expect '^FAIL send_redirects .*not 0 on all, eth0' "$out" "send_redirects on all and the egress interface"
expect '^     fix: sysctl -w net.ipv4.conf.eth0.send_redirects=0$' "$out" "send_redirects fix for eth0"
expect '^FAIL arp_ignore' "$out" "arp_ignore (VIP on lo)"
expect '10\.9\.9\.10 are on lo' "$out" "names the VIP on lo"
expect '^     fix: sysctl -w net.ipv4.conf.all.arp_announce=2$' "$out" "arp_announce fix"
expect '^info MTU eth0 1400 .*TCP MSS up to 1360.*UDP payload up to 1364' "$out" "MTU headroom"
expect '^info nfdsr.ko: not checked' "$out" "module check skipped with --no-module"
expect '^4 problem\(s\)$' "$out" "exactly 4 problems"
if grep -q tunl0 "$out"; then bad "no tunl0 check without ipip"; else ok "no tunl0 check without ipip"; fi

# Apply the printed fixes, then everything passes.
grep '^     fix: ' "$out" | sed 's/^     fix: //' >"$dir/fixes"
while read -r cmd; do
  x $cmd >/dev/null || bad "fix failed: $cmd"
done <"$dir/fixes"
x "$ctl" check --no-module --config "$dir/opt.yaml" --node n1 >"$dir/out2" 2>&1
rc=$?
cat "$dir/out2"
[[ $rc == 0 ]] && ok "after the fixes: exit 0" || bad "after the fixes: exit $rc"
expect '^all checks passed$' "$dir/out2" "all checks passed"

# ipip on a kernel without the ipip module: tunl0 missing.
x "$ctl" check --no-module --config "$dir/ipip.yaml" --node n1 >"$dir/out3" 2>&1
rc=$?
cat "$dir/out3"
[[ $rc == 1 ]] && ok "ipip without tunl0: exit 1" || bad "ipip without tunl0: exit $rc"
expect '^FAIL tunl0 missing' "$dir/out3" "tunl0 missing reported"
expect '^     fix: modprobe ipip$' "$dir/out3" "tunl0 fix"
expect 'ipip: \+20 bytes.*TCP MSS up to 1340' "$dir/out3" "ipip MTU headroom"

# Module check without --no-module: the module cannot be loaded here.
x "$ctl" check --config "$dir/opt.yaml" --node n1 >"$dir/out4" 2>&1
rc=$?
[[ $rc == 1 ]] && ok "module missing: exit 1" || bad "module missing: exit $rc"
expect '^     fix: modprobe nfdsr$' "$dir/out4" "module fix"
exit $fail
