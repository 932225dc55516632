#!/usr/bin/env bash
# host_config_corpus: every config in tests/host/configs/broken/ is rejected
# with its own message, and rejecting it changes nothing that is installed.
#   config_corpus.sh NFDSRCTL SOURCE_DIR
#
# Each broken/NAME.yaml has NAME.expect: the exact first line nfdsrctl prints
# on stderr ("NAME.yaml:line:col: field: message"); a line ending in "..." is
# matched as a prefix (for messages that list keys other work may extend).
#
# (a) `nfdsrctl validate NAME.yaml` exits 1 with that first line (as Ansible's
#     `validate:` runs it).
# (b) In a fresh network namespace with examples/reference-lab.yaml applied as
#     k8s-s, `nfdsrctl apply --no-module NAME.yaml --node k8s-s` exits 1 with
#     the same first line and `nft list ruleset` is unchanged byte for byte.
#     So is a valid config on a machine that is none of its nodes (the error
#     names the addresses looked for) and an unknown --node.
set -uo pipefail
CTL=$1 SRC=$2
DIR=$SRC/tests/host/configs/broken
NS=nfdsr-corpus-$$
TMP=$(mktemp -d /tmp/nfdsr-corpus.XXXXXX)
fail=0
cleanup() { ip netns del "$NS" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

bad() { echo "FAIL: $*"; fail=1; }

# first_line_matches ACTUAL EXPECTED
first_line_matches() {
  local actual=$1 want=$2
  if [[ $want == *... ]]; then
    [[ ${actual:0:${#want}-3} == "${want%...}" ]]
  else
    [[ $actual == "$want" ]]
  fi
}

# check_rejected LABEL EXPECTED_FIRST_LINE CMD...: exit 1 and the message
check_rejected() {
  local label=$1 want=$2
  shift 2
  "$@" >"$TMP/out" 2>"$TMP/err"
  local rc=$?
  local first
  first=$(head -n1 "$TMP/err")
  if [[ $rc != 1 ]]; then
    bad "$label: exit $rc, expected 1 (stdout: $(cat "$TMP/out"))"
  elif ! first_line_matches "$first" "$want"; then
    bad "$label: first error line"
    echo "   got:      $first"
    echo "   expected: $want"
  fi
}

shopt -s nullglob
configs=("$DIR"/*.yaml)
((${#configs[@]} >= 20)) || bad "only ${#configs[@]} broken configs in $DIR, expected at least 20"

# (a) validate
cd "$DIR" || exit 1
for f in "${configs[@]}"; do
  name=$(basename "$f" .yaml)
  [[ -f $name.expect ]] || { bad "$name: no $name.expect"; continue; }
  check_rejected "validate $name" "$(head -n1 "$name.expect")" "$CTL" validate "$name.yaml"
done
echo "validate: ${#configs[@]} broken configs checked"

# (b) apply in a namespace with a good config installed
ip netns add "$NS" || exit 1
ip -n "$NS" link set lo up
in_ns() { ip netns exec "$NS" "$@"; }
in_ns "$CTL" apply --no-module "$SRC/examples/reference-lab.yaml" --node k8s-s >/dev/null || { echo "FAIL: good apply"; exit 1; }
in_ns nft list ruleset >"$TMP/before" || exit 1
grep -q '^table ip nfdsr' "$TMP/before" || { echo "FAIL: good apply installed no table ip nfdsr"; exit 1; }

unchanged() {
  in_ns nft list ruleset >"$TMP/after"
  cmp -s "$TMP/before" "$TMP/after" || { bad "$1: ruleset changed"; diff "$TMP/before" "$TMP/after" | head -20; }
}

for f in "${configs[@]}"; do
  name=$(basename "$f" .yaml)
  [[ -f $name.expect ]] || continue
  check_rejected "apply $name" "$(head -n1 "$name.expect")" in_ns "$CTL" apply --no-module "$name.yaml" --node k8s-s
  unchanged "apply $name"
done

# A valid config, but this namespace has none of its nodes' addresses.
cd "$SRC" || exit 1
check_rejected "apply without a matching node" \
  "nfdsrctl: no node of the config has an address of this machine: looked for k8s-s 192.168.10.10, k8s-w1 192.168.10.101, k8s-w2 192.168.10.102; this machine has 127.0.0.1 (in this network namespace); pass --node NAME or fix nodes[].address" \
  in_ns "$CTL" apply --no-module examples/reference-lab.yaml
unchanged "apply without a matching node"
check_rejected "apply --node nope" \
  "nfdsrctl: node 'nope' (from --node) is not in the config's nodes list, expected one of: k8s-s, k8s-w1, k8s-w2" \
  in_ns "$CTL" apply --no-module examples/reference-lab.yaml --node nope
unchanged "apply --node nope"
echo "apply: ${#configs[@]} broken configs + 2 unresolvable nodes rejected, ruleset unchanged"

((fail == 0)) && echo "PASS" || echo "FAILED"
exit $fail
