#!/bin/bash
# IPIP whose outer source is not an entry node (test-pc builds its own ipip
# tunnel to k8s-w1) is dropped and counted by the nft rule in k8s-w1's
# classify chain: without it, tunl0 would deliver any inner source to webpod1.
source "$NFDSR_SRC_DIR/tests/e2e/ipip_common.sh"
e2e_up

lab_exec test-pc ip link add forge type ipip remote 192.168.10.101 local 192.168.10.200
lab_exec test-pc ip link set forge up
lab_exec test-pc ip route add 172.16.2.214/32 dev forge
pod_pcap=$E2E_OUT/webpod1.pcap
w1_pcap=$E2E_OUT/k8s-w1-ipip.pcap
lab_capture_start webpod1 eth0 "host 192.168.10.200" "$pod_pcap"
lab_capture_start k8s-w1 eth0 "ip proto 4" "$w1_pcap"
lab_exec test-pc curl -sS --max-time 3 http://172.16.2.214:80/ && lab_fail "forged IPIP reached webpod1"
lab_capture_stop

arrived=$(e2e_pkts "$w1_pcap" "ip proto 4 and src host 192.168.10.200" | wc -l)
((arrived > 0)) || lab_fail "no forged IPIP arrived at k8s-w1 (test setup)"
lab_ok "$arrived forged IPIP packets arrived at k8s-w1"
reached=$(e2e_pkts "$pod_pcap" | wc -l)
[[ $reached == 0 ]] || lab_fail "$reached packets reached webpod1"
lab_ok "nothing reached webpod1"
rule=$(lab_exec k8s-w1 nft list chain ip nfdsr classify | grep -F 'ip protocol ipencap')
echo "$rule"
[[ $rule =~ counter\ packets\ ([0-9]+) ]] && ((BASH_REMATCH[1] >= arrived)) ||
  lab_fail "guard rule did not count the $arrived packets"
lab_ok "guard rule dropped and counted ${BASH_REMATCH[1]} packets"

# the entry node's own IPIP still works
response=$(lab_exec test-pc curl -sS --max-time 10 http://192.168.10.10:31615/)
lab_expect_contains "$response" "Hostname: webpod1" "IPIP from the entry node k8s-s still accepted"
