#!/bin/bash
# interop_lvs_tun_backend (issue 3): nfdsr's entry node k8s-s with dispatch
# ipip / ipip_mode classic serves a backend that runs no nfdsr, set up like an
# LVS-TUN real server (lvs-rs1 192.168.10.103: VIP 192.168.10.50 on lo, tunl0
# up, arp_ignore=1/arp_announce=2, rp_filter 0 on tunl0 and all). test-pc
# routes the VIP via k8s-s. The real server answers the client directly with
# the VIP as source; k8s-s sees no reply.
E2E_CONFIG=$NFDSR_SRC_DIR/tests/e2e/configs/interop-lab.yaml
source "$NFDSR_SRC_DIR/tests/e2e/common.sh"
modprobe ipip || lab_fail "cannot load the ipip module"
e2e_up
lab_add_lvs_rs lvs-rs1 192.168.10.103 192.168.10.50 80 || lab_fail "cannot add the LVS-TUN real server"
lab_exec test-pc ip route add 192.168.10.50/32 via 192.168.10.10

ks_pcap=$E2E_OUT/k8s-s.pcap
rs_pcap=$E2E_OUT/lvs-rs1.pcap
lab_capture_start k8s-s eth0 "host 192.168.10.200 or ip proto 4" "$ks_pcap"
lab_capture_start lvs-rs1 eth0 "" "$rs_pcap"
response=$(lab_exec test-pc curl -sS --max-time 10 http://192.168.10.50:80/) || true
lab_capture_stop
echo "=== curl http://192.168.10.50/ from test-pc"
echo "$response"
lab_expect_contains "$response" "Hostname: lvs-rs1" "answered by the LVS-TUN real server"
[[ $response =~ RemoteAddr:\ 192\.168\.10\.200:[0-9]+ ]] || lab_fail "real server did not see the client address"
lab_ok "real server saw RemoteAddr 192.168.10.200"
lab_expect_contains "$response" "LocalAddr: 192.168.10.50:80" "accepted on the VIP (classic: inner destination is the VIP)"

echo "=== first IPIP packet k8s-s -> lvs-rs1"
tcpdump -nn -v -r "$ks_pcap" -c 1 "ip proto 4" 2>/dev/null
tunneled=$(e2e_pkts "$ks_pcap" "ip proto 4 and src host 192.168.10.10 and dst host 192.168.10.103" | wc -l)
inner_vip=$(tcpdump -nn -r "$ks_pcap" "ip proto 4" 2>/dev/null | grep -c '> 192.168.10.50.80:' || true)
replies_ks=$(e2e_pkts "$ks_pcap" "ip and dst host 192.168.10.200" | wc -l)
direct=$(e2e_pkts "$rs_pcap" "tcp and src host 192.168.10.50 and src port 80 and dst host 192.168.10.200" | wc -l)
other_src=$(e2e_pkts "$rs_pcap" "tcp and dst host 192.168.10.200 and not src host 192.168.10.50" | wc -l)
echo "k8s-s: $tunneled IPIP packets to 192.168.10.103 ($inner_vip with inner destination 192.168.10.50:80), $replies_ks to test-pc; lvs-rs1: $direct replies from 192.168.10.50:80 to test-pc, $other_src from another source"
((tunneled > 0 && inner_vip == tunneled)) || lab_fail "k8s-s did not send classic IPIP to lvs-rs1"
lab_ok "k8s-s sent classic IPIP 192.168.10.10 -> 192.168.10.103, inner destination the VIP"
((replies_ks == 0)) || lab_fail "$replies_ks replies passed k8s-s"
lab_ok "no reply through k8s-s"
((direct > 0 && other_src == 0)) || lab_fail "replies did not leave lvs-rs1 straight to test-pc as 192.168.10.50:80"
lab_ok "lvs-rs1 answered test-pc directly as 192.168.10.50:80"
