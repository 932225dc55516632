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
# (c) Limits (docs/config.md, "Limits"), configs generated here: one service
#     with 1,000,000 backends (64 MB), a file over 64 MiB, a 1 KB file whose
#     aliases expand to ~10^7 values. `nfdsrctl validate` rejects each with its
#     first line under `ulimit -v 1048576` (1 GiB of address space: without
#     the limits the first one needs ~4.6 GB).
# (d) Error output stays short, also under `ulimit -v 1048576`: 10 services
#     of 10,000 backends with port 70000 (100,000 errors) print 20 lines and
#     "... and 99980 more errors"; a 10 MB scalar is echoed clipped.
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

# (c) limits, in bounded memory
gen=$TMP/limits
mkdir -p "$gen"
header='nodes:
  - {name: a, address: 192.168.10.10}
  - {name: w, address: 192.168.10.101, pod_cidr: 10.128.0.0/9}'
{
  printf '%s\nservices:\n  - name: s\n    protocol: tcp\n    vip: 10.96.0.1\n    port: 80\n    backends:\n' "$header"
  awk 'BEGIN { for (j = 1; j <= 1000000; j++)
    printf "      - {name: b%d, address: 10.%d.%d.%d, port: 80, node: w}\n", j, 128 + int(j / 65536), int(j / 256) % 256, j % 256 }'
} >"$gen/million-backends.yaml"
truncate -s $((64 * 1024 * 1024 + 1)) "$gen/too-large.yaml"
{
  printf '%s\nservices: []\nbomb:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n' "$header"
  for l in 1 2 3 4 5 6; do
    p="*a$((l - 1))"
    printf '  a%d: &a%d [%s, %s, %s, %s, %s, %s, %s, %s, %s, %s]\n' "$l" "$l" "$p" "$p" "$p" "$p" "$p" "$p" "$p" "$p" "$p" "$p"
  done
} >"$gen/alias-bomb.yaml"
limited() { (ulimit -v 1048576 && exec "$@"); }
cd "$gen" || exit 1
check_rejected "validate million-backends (ulimit -v 1 GiB)" \
  "million-backends.yaml:10:7: services[0].backends: found more than 10000 backends, expected at most 10000 per service (docs/config.md, Limits)" \
  limited "$CTL" validate million-backends.yaml
check_rejected "validate too-large (ulimit -v 1 GiB)" \
  "too-large.yaml: found more than 67108864 bytes, expected at most 67108864 in a config file (docs/config.md, Limits)" \
  limited "$CTL" validate too-large.yaml
check_rejected "validate alias-bomb (ulimit -v 1 GiB)" \
  "alias-bomb.yaml:12:22: bomb.a6: found more than 4194304 YAML values (aliases expanded), expected at most 4194304 per config (docs/config.md, Limits)" \
  limited "$CTL" validate alias-bomb.yaml
check_rejected "apply million-backends (ulimit -v 1 GiB)" \
  "million-backends.yaml:10:7: services[0].backends: found more than 10000 backends, expected at most 10000 per service (docs/config.md, Limits)" \
  in_ns bash -c 'ulimit -v 1048576 && exec "$@"' - "$CTL" apply --no-module million-backends.yaml --node a
unchanged "apply million-backends"
echo "limits: 3 generated configs rejected under ulimit -v 1048576"

# (d) a screenful of errors, short lines
{
  printf '%s\nservices:\n' "$header"
  awk 'BEGIN { for (s = 0; s < 10; s++) {
    printf "  - name: s%d\n    protocol: tcp\n    vip: 10.96.0.%d\n    port: 80\n    backends:\n", s, s + 1
    for (j = 0; j < 10000; j++)
      printf "      - {name: b%d, address: 10.%d.%d.%d, port: 70000, node: w}\n", j, 128 + s, int(j / 256), j % 256 } }'
} >bad-ports.yaml
check_rejected "validate bad-ports (ulimit -v 1 GiB)" \
  "bad-ports.yaml:10:47: services[0].backends[0].port: found '70000', expected a port 1..65535" \
  limited "$CTL" validate bad-ports.yaml
lines=$(wc -l <"$TMP/err")
last=$(tail -n1 "$TMP/err")
((lines <= 25)) || bad "bad-ports: $lines lines on stderr, expected at most 25"
[[ $last == "... and 99980 more errors" ]] || bad "bad-ports: last line '$last', expected '... and 99980 more errors'"
{
  printf '%s\nservices:\n  - name: s\n    protocol: tcp\n    vip: 10.96.0.1\n    port: ' "$header"
  head -c $((10 * 1024 * 1024)) /dev/zero | tr '\0' 7
  printf '\n    backends:\n      - {name: b, address: 10.128.0.1, port: 80, node: w}\n'
} >big-scalar.yaml
check_rejected "validate big-scalar (ulimit -v 1 GiB)" \
  "big-scalar.yaml:8:11: services[0].port: found '$(printf '7%.0s' {1..64})'... (10485760 bytes), expected a port 1..65535" \
  limited "$CTL" validate big-scalar.yaml
(($(wc -c <"$TMP/err") < 200)) || bad "big-scalar: $(wc -c <"$TMP/err") bytes on stderr, expected one short line"
echo "errors: 100,000 bad ports print $lines lines; a 10 MB scalar one line of $(wc -c <"$TMP/err") bytes"

((fail == 0)) && echo "PASS" || echo "FAILED"
exit $fail
