#!/bin/bash
# Clients on the nodes themselves, in pods behind them, and hairpin (issue 8,
# kind 7): every client class reaches svc1 (192.168.10.10:31615 -> webpod1 on
# k8s-w1) as a Kubernetes NodePort is reachable, in one VM boot, first with
# dispatch opt (examples/reference-lab.yaml) and then after applying
# examples/reference-lab-ipip.yaml:
#  - k8s-s itself, k8s-w1's host: nat output -> conntrack path (DNAT);
#  - client0, a pod behind k8s-s: nat prerouting of k8s-s -> conntrack path
#    (the DSR chains let it pass), the pod's own address kept;
#  - webpod1 (hairpin: a backend calling its own service): DNAT on k8s-w1,
#    SNAT to k8s-w1 since it picked itself;
#  - webpod0 -> local1 (192.168.10.10:31617), hairpin on the entry node;
#  - test-pc: still DSR (RemoteAddr 192.168.10.200, no reply through k8s-s).
# Each is a PASS/FAIL line; the script fails if any failed.
source "$NFDSR_SRC_DIR/tests/e2e/common.sh"
e2e_up
lab_add_pod client0 172.16.0.20 k8s-s || lab_fail "cannot add pod client0"

SVC1=http://192.168.10.10:31615/
LOCAL1=http://192.168.10.10:31617/

# check MODE NAME CLIENT URL NEEDLE...: one curl from CLIENT, PASS if the
# answer holds every NEEDLE
check() {
  local mode=$1 name=$2 client=$3 url=$4 out n r=0
  shift 4
  out=$(lab_exec "$client" curl -sS --max-time 10 "$url" 2>&1) || true
  for n in "$@"; do [[ $out == *"$n"* ]] || r=1; done
  e2e_observe "[$mode] $name: $* " $r
  ((r == 0)) || echo "    got: ${out//$'\n'/ | }"
}

run_checks() {
  local mode=$1
  check "$mode" "k8s-s itself -> svc1" k8s-s "$SVC1" "Hostname: webpod1" "RemoteAddr: 192.168.10.10:"
  check "$mode" "pod client0 behind k8s-s -> svc1 (own address kept)" client0 "$SVC1" \
    "Hostname: webpod1" "RemoteAddr: 172.16.0.20:"
  check "$mode" "k8s-w1's host -> svc1" k8s-w1 "$SVC1" "Hostname: webpod1" "RemoteAddr: 192.168.10.101:"
  check "$mode" "webpod1 -> svc1 (hairpin, SNAT to k8s-w1)" webpod1 "$SVC1" \
    "Hostname: webpod1" "RemoteAddr: 192.168.10.101:"
  check "$mode" "k8s-w2's host -> svc1" k8s-w2 "$SVC1" "Hostname: webpod1" "RemoteAddr: 192.168.10.102:"
  check "$mode" "webpod0 -> local1 on its own node k8s-s (hairpin, SNAT to k8s-s)" webpod0 "$LOCAL1" \
    "Hostname: webpod0" "RemoteAddr: 192.168.10.10:"

  # test-pc keeps the DSR path: real client address, no reply through k8s-s
  local pcap=$E2E_OUT/k8s-s-$mode.pcap fwd_filter out r=0 from_client replies forwarded
  fwd_filter="tcp and src host 192.168.10.200 and dst host 172.16.2.214"
  [[ $mode == ipip ]] && fwd_filter="ip proto 4 and src host 192.168.10.10 and dst host 192.168.10.101"
  lab_capture_start k8s-s eth0 "" "$pcap"
  out=$(lab_exec test-pc curl -sS --max-time 10 "$SVC1" 2>&1) || true
  lab_capture_stop "$pcap"
  from_client=$(e2e_pkts "$pcap" "tcp and src host 192.168.10.200" | wc -l)
  replies=$(e2e_pkts "$pcap" "tcp and dst host 192.168.10.200" | wc -l)
  forwarded=$(e2e_pkts "$pcap" "$fwd_filter" | wc -l)
  [[ $out == *"Hostname: webpod1"* && $out == *"RemoteAddr: 192.168.10.200:"* ]] || r=1
  ((from_client > 0 && forwarded > 0 && replies == 0)) || r=1
  e2e_observe "[$mode] test-pc -> svc1 stays DSR: webpod1 sees 192.168.10.200, k8s-s got $from_client from the client, forwarded $forwarded ($fwd_filter), $replies replies to the client" $r
  ((r == 0)) || echo "    got: ${out//$'\n'/ | }"
}

run_checks opt
e2e_expect_counter k8s-s opt_added 1

modprobe ipip || lab_fail "cannot load the ipip module"
E2E_CONFIG=$NFDSR_SRC_DIR/examples/reference-lab-ipip.yaml
e2e_apply_all
run_checks ipip

echo "=== k8s-w1: local-client chains"
lab_exec k8s-w1 nft list chain ip nfdsr local_hairpin
e2e_finish
