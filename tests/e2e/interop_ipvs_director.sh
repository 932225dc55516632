#!/bin/bash
# interop_ipvs_director (issue 3): a Linux IPVS director in tunnel mode
# (ipvs-dir 192.168.10.104: ipvsadm -A -t 192.168.10.60:80 -s rr;
# ipvsadm -a ... -r 192.168.10.101:80 -i) sends the client's packets as IPIP to
# the nfdsr backend node k8s-w1, inner destination still the VIP. nfdsr on
# k8s-w1 accepts IPIP from the director (listed in the service's entry_nodes,
# hence in tunnel_sources), serves it with webpod1 and rewrites the replies to
# 192.168.10.60:80, which go straight to the client: the director sees none.
E2E_CONFIG=$NFDSR_SRC_DIR/tests/e2e/configs/interop-lab.yaml
source "$NFDSR_SRC_DIR/tests/e2e/common.sh"
modprobe ipip || lab_fail "cannot load the ipip module"
e2e_up
lab_add_ipvs_director ipvs-dir 192.168.10.104 192.168.10.60 80 192.168.10.101:80 ||
  lab_fail "cannot set up the IPVS director"
lab_exec ipvs-dir ipvsadm -Ln
lab_exec test-pc ip route add 192.168.10.60/32 via 192.168.10.104
lab_exec k8s-w1 nft list set ip nfdsr tunnel_sources

dir_pcap=$E2E_OUT/ipvs-dir.pcap
w1_pcap=$E2E_OUT/k8s-w1.pcap
lab_capture_start ipvs-dir eth0 "" "$dir_pcap"
lab_capture_start k8s-w1 eth0 "host 192.168.10.200 or ip proto 4" "$w1_pcap"
response=$(lab_exec test-pc curl -sS --max-time 10 http://192.168.10.60:80/) || true
lab_capture_stop
echo "=== curl http://192.168.10.60/ from test-pc"
echo "$response"
lab_expect_contains "$response" "Hostname: webpod1" "answered by webpod1 behind the nfdsr node k8s-w1"
[[ $response =~ RemoteAddr:\ 192\.168\.10\.200:[0-9]+ ]] || lab_fail "webpod1 did not see the client address"
lab_ok "webpod1 saw RemoteAddr 192.168.10.200"

echo "=== first IPIP packet ipvs-dir -> k8s-w1"
tcpdump -nn -v -r "$w1_pcap" -c 1 "ip proto 4" 2>/dev/null
tunneled=$(e2e_pkts "$dir_pcap" "ip proto 4 and src host 192.168.10.104 and dst host 192.168.10.101" | wc -l)
replies_dir=$(e2e_pkts "$dir_pcap" "ip and dst host 192.168.10.200" | wc -l)
to_client=$(e2e_pkts "$w1_pcap" "tcp and dst host 192.168.10.200" | wc -l)
as_vip=$(e2e_pkts "$w1_pcap" "tcp and dst host 192.168.10.200 and src host 192.168.10.60 and src port 80" | wc -l)
echo "ipvs-dir: $tunneled IPIP packets to k8s-w1, $replies_dir packets to test-pc; k8s-w1: $to_client packets to test-pc, $as_vip from 192.168.10.60:80"
((tunneled > 0)) || lab_fail "the director sent no IPIP to k8s-w1"
lab_ok "the director tunneled to k8s-w1 (IPIP 192.168.10.104 -> 192.168.10.101)"
((replies_dir == 0)) || lab_fail "$replies_dir packets to the client passed the director"
lab_ok "the director saw no reply"
((to_client > 0 && to_client == as_vip)) || lab_fail "k8s-w1 did not answer the client as 192.168.10.60:80"
lab_ok "k8s-w1 answered test-pc directly as 192.168.10.60:80"
e2e_expect_counter k8s-w1 opt_stripped 1
e2e_expect_counter k8s-w1 reply_rewritten 1
