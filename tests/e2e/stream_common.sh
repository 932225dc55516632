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

# stream_dispatch_of NODE: opt or ipip, from nfdsr.ko's service table
# (the stream service at the node's own address)
stream_dispatch_of() {
  e2e_svc "$1" "${LAB_NODE_IP[$1]}" "$STREAM_PORT" dispatch
}

# stream_watch_resets: capture the TCP resets and ICMP errors test-pc receives,
# so a lost connection can be traced to the node that ended it
STREAM_RESETS_PCAP=$E2E_OUT/test-pc-resets.pcap
stream_watch_resets() {
  # (not the ICMP redirects k8s-s sends in labs without nfdsrd: noise here)
  lab_capture_start test-pc eth0 "(tcp[tcpflags] & tcp-rst != 0) or (icmp and icmp[icmptype] != icmp-redirect)" \
    "$STREAM_RESETS_PCAP" ||
    lab_fail "cannot capture on test-pc"
}

# _stream_resets_sent NS: TCP resets NS's own stack sent (TcpOutRsts), "?" if unknown
_stream_resets_sent() {
  local n
  n=$(lab_exec "$1" nstat -asz TcpOutRsts 2>/dev/null | awk '$1 == "TcpOutRsts" {print $2}')
  echo "${n:-?}"
}

# stream_explain_resets: which namespace sent resets (TcpOutRsts) and the
# captured ones with their link-layer source (the node that sent them)
stream_explain_resets() {
  local ns
  for ns in "${LAB_NODES[@]}" "${LAB_PODS[@]}"; do
    echo "resets sent by $ns: $(_stream_resets_sent "$ns")"
  done
  lab_capture_stop "$STREAM_RESETS_PCAP"
  lab_exec test-pc ip neigh show dev eth0
  # sed reads to the end (head would stop early and, under pipefail, fail
  # the script with tcpdump's broken pipe)
  tcpdump -nn -e -r "$STREAM_RESETS_PCAP" 2>/dev/null | sed -n '1,30p'
}

# stream_expect_no_resets_from NODE: NODE's own stack answered no service
# traffic with a reset (an entry node that does is one where a packet missed
# its entry path)
stream_expect_no_resets_from() {
  local n
  n=$(_stream_resets_sent "$1")
  [[ $n == 0 ]] || lab_fail "$1 sent $n TCP resets itself: service packets reached its own stack"
  lab_ok "$1 sent no TCP resets itself"
}
