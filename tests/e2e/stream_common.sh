# shellcheck shell=bash
# Long-lived streams through the lab: tests/e2e/configs/stream-lab.yaml
# (svc1 and stream1 = NodePort 31618 -> nfdsr-stream echo on webpod1:7000),
# in both dispatch modes (generated with sed from the base file), plus the
# ipip kernel module so tunl0 exists on every node.
STREAM_BASE=$NFDSR_SRC_DIR/tests/e2e/configs/stream-lab.yaml
STREAM_CFG_DIR=${NFDSR_VM_OUT:-/tmp}/configs
STREAM_PORT=31618
mkdir -p "$STREAM_CFG_DIR"
for m in opt ipip; do
  sed "s/^dispatch: .*/dispatch: $m/" "$STREAM_BASE" >"$STREAM_CFG_DIR/stream-$m.yaml"
done
E2E_CONFIG=$STREAM_CFG_DIR/stream-${STREAM_START_MODE:-opt}.yaml
source "$NFDSR_SRC_DIR/tests/e2e/common.sh"
modprobe ipip || lab_fail "cannot load the ipip module"

# stream_up: the lab, the module, the config applied on every node, the echo server
stream_up() {
  e2e_up
  lab_spawn webpod1 webpod1-stream nfdsr-stream server --port 7000
  lab_wait_listen webpod1 tcp 7000 || lab_fail "no nfdsr-stream server in webpod1"
}

# stream_set NODE opt|ipip: apply the config with that dispatch on NODE
stream_set() {
  local out
  out=$(lab_exec "$1" nfdsrctl apply "$STREAM_CFG_DIR/stream-$2.yaml" 2>&1) || { echo "$out"; lab_fail "apply $2 on $1"; }
  echo "$(date +%T.%N | cut -c1-12) $1 -> dispatch $2"
}

# stream_dispatch_set NODE opt|ipip: the live switch, `nfdsrctl dispatch set`
# (the node's config stays the opt file; the override is what changes)
stream_dispatch_set() {
  local out
  out=$(lab_exec "$1" nfdsrctl dispatch set "$2" --config "$STREAM_CFG_DIR/stream-opt.yaml" 2>&1) ||
    { echo "$out"; lab_fail "dispatch set $2 on $1"; }
  echo "$(date +%T.%N | cut -c1-12) $1 -> dispatch $2 (nfdsrctl dispatch set)"
}

# stream_dispatch_of NODE: opt or ipip, from the installed ruleset
stream_dispatch_of() {
  local set # (no `| grep -q` under pipefail: nft may die of SIGPIPE)
  set=$(lab_exec "$1" nft list set ip nfdsr ipip_xlate_services)
  if [[ $set == *" . $STREAM_PORT"* ]]; then echo ipip; else echo opt; fi
}
