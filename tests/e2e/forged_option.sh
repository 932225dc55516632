#!/bin/bash
# A DSR option forged by test-pc and sent straight to webpod1 through k8s-w1
# must not make k8s-w1 answer as the address it names: dropped and counted.
source "$NFDSR_SRC_DIR/tests/e2e/common.sh"
e2e_up
lab_exec test-pc ip route add 172.16.2.0/24 via 192.168.10.101

opt_hex() { # IP PORT: Cilium's byte-swapped option
  local a b c d
  IFS=. read -r a b c d <<<"$1"
  printf '9a08%02x%02x%02x%02x%02x%02x' $(($2 & 255)) $(($2 >> 8)) "$d" "$c" "$b" "$a"
}

pcap=$E2E_OUT/test-pc-forged.pcap
lab_capture_start test-pc eth0 "tcp" "$pcap"
# an address nobody configured
if lab_exec test-pc nfdsr-tcp-probe --timeout 3000 --ip-option "$(opt_hex 192.168.10.99 8080)" 172.16.2.214 80; then
  lab_fail "forged option for 192.168.10.99:8080 got an answer"
fi
# a real service, but not one bound to webpod1 (local1 is served by webpod0)
if lab_exec test-pc nfdsr-tcp-probe --timeout 3000 --ip-option "$(opt_hex 192.168.10.10 31617)" 172.16.2.214 80; then
  lab_fail "option naming another service's address got an answer"
fi
# our option type with a wrong length (padded with NOPs to a multiple of 4)
if lab_exec test-pc nfdsr-tcp-probe --timeout 3000 --ip-option 9a06aaaabbbb0101 172.16.2.214 80; then
  lab_fail "malformed option got an answer"
fi
lab_capture_stop

answers=$(e2e_pkts "$pcap" "dst host 192.168.10.200" | wc -l)
((answers == 0)) || { e2e_pkts "$pcap"; lab_fail "test-pc received $answers packets"; }
lab_ok "k8s-w1 answered none of the forged SYNs (no packet as 192.168.10.99, 192.168.10.10 or 172.16.2.214)"
e2e_expect_counter k8s-w1 opt_rejected 2
e2e_expect_counter k8s-w1 opt_malformed 1

# and the node still serves real DSR traffic
out=$(lab_exec test-pc curl -sS --max-time 10 http://192.168.10.10:31615/)
lab_expect_contains "$out" "Hostname: webpod1" "legitimate DSR traffic still works"
