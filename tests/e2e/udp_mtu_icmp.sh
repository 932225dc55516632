#!/bin/bash
# UDP that no longer fits once the option is added, with DF: the client gets
# ICMP fragmentation-needed (MTU - 8) that quotes the header it sent
# (destination 192.168.10.10:31616), so its stack lowers the path MTU.
source "$NFDSR_SRC_DIR/tests/e2e/common.sh"
e2e_up

pcap=$E2E_OUT/test-pc-icmp.pcap
lab_capture_start test-pc eth0 "icmp" "$pcap"
out=$(lab_exec test-pc nfdsr-udp-probe --df --size 1472 192.168.10.10 31616) || true
lab_capture_stop
echo "$out"
lab_expect_contains "$out" "ICMP_FRAG_NEEDED mtu=1492" "client told: MTU 1492"
lab_expect_contains "$out" "quoted_dst=192.168.10.10:31616" "quote names the service address"
icmp=$(tcpdump -nn -v -r "$pcap" 2>/dev/null)
echo "$icmp"
lab_expect_contains "$icmp" "unreachable - need to frag (mtu 1492)" "ICMP frag-needed on the wire"
lab_expect_contains "$icmp" "> 192.168.10.10.31616" "quoted header is the original one"
e2e_expect_counter k8s-s icmp_frag_sent 1
route=$(lab_exec test-pc ip route get 192.168.10.10)
lab_expect_contains "$route" "mtu 1492" "test-pc cached the lower path MTU"

# a datagram that fits with the option goes through
out=$(lab_exec test-pc nfdsr-udp-probe --df --size 1464 192.168.10.10 31616)
lab_expect_contains "$out" "Hostname: webpod1" "1464-byte payload + 8-byte option fits"
