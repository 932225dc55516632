#!/usr/bin/env bash
# The manager, end to end on this kernel: `nfdsrctl apply` of a reference lab
# config on each node (in a throw-away network namespace, without the module)
# installs exactly the reviewed ruleset in GOLDEN_DIR/<node>.nft.
#   reference_rules.sh NFDSRCTL SOURCE_DIR [CONFIG GOLDEN_DIR [NODE...]]
# CONFIG and GOLDEN_DIR are relative to SOURCE_DIR (default
# examples/reference-lab.yaml and rules/reference-lab; nodes k8s-s k8s-w1
# k8s-w2). NFDSR_UPDATE_GOLDEN=1 rewrites the golden files.
# This kernel has no ipip: a veth named tunl0 stands in for the ipip fallback
# device (apply sets it up, sets its rp_filter and routes into it), and the
# node's address goes on lo (the routes' source).
set -euo pipefail
ctl=$1 src=$2
cfg=$src/${3:-examples/reference-lab.yaml}
gdir=$src/${4:-rules/reference-lab}
shift $(($# < 4 ? $# : 4))
nodes=("$@")
((${#nodes[@]})) || nodes=(k8s-s k8s-w1 k8s-w2)
ns=nfdsr-host-ref-$$
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
fail=0
for node in "${nodes[@]}"; do
  addr=$("$ctl" plan --node "$node" "$cfg" | sed -n '1s/^node [^ ]* (\(.*\))$/\1/p')
  [[ -n $addr ]] || { echo "FAIL: no address for $node in $cfg"; exit 1; }
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$addr/32" dev lo
  ip -n "$ns" link add tunl0 type veth peer name tunl0-peer
  ip netns exec "$ns" "$ctl" apply --no-module --node "$node" "$cfg" >/dev/null
  got=$(ip netns exec "$ns" nft list table ip nfdsr)
  golden=$gdir/$node.nft
  if [[ ${NFDSR_UPDATE_GOLDEN:-0} == 1 ]]; then
    mkdir -p "$(dirname "$golden")"
    printf '%s\n' "$got" >"$golden"
    echo "updated $golden"
  elif diff -u "$golden" <(printf '%s\n' "$got"); then
    echo "ok: $node matches $golden"
  else
    echo "FAIL: $node differs from $golden"
    fail=1
  fi
  ip netns del "$ns"
done
exit $fail
