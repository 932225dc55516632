#!/usr/bin/env bash
# The manager, end to end on this kernel: `nfdsrctl apply` of the reference
# lab config on each node (in a throw-away network namespace, without the
# module) installs exactly the reviewed ruleset in rules/reference-lab/<node>.nft.
#   reference_rules.sh NFDSRCTL SOURCE_DIR        (NFDSR_UPDATE_GOLDEN=1 rewrites)
set -euo pipefail
ctl=$1 src=$2
cfg=$src/examples/reference-lab.yaml
ns=nfdsr-host-ref-$$
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
fail=0
for node in k8s-s k8s-w1 k8s-w2; do
  ip netns add "$ns"
  ip netns exec "$ns" "$ctl" apply --no-module --node "$node" "$cfg" >/dev/null
  got=$(ip netns exec "$ns" nft list table ip nfdsr)
  golden=$src/rules/reference-lab/$node.nft
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
