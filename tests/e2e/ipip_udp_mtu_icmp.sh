#!/bin/bash
# dispatch ipip xlate, UDP with DF that does not fit tunl0 (MTU 1480) once the
# 8-byte option is on: nfdsr.ko's MTU check on k8s-s sees tunl0's MTU through
# the routing mark (set at -280, before the check at -270) and sends the client
# ICMP fragmentation-needed with mtu 1480 - 8 = 1472 quoting the header the
# client sent (192.168.10.10:31616).
source "$NFDSR_SRC_DIR/tests/e2e/ipip_common.sh"
e2e_up

pcap=$E2E_OUT/test-pc-icmp.pcap
lab_capture_start test-pc eth0 "icmp" "$pcap"
# 20 + 8 + 1445 = 1473 bytes: + 8 option = 1481 > 1480
out=$(lab_exec test-pc nfdsr-udp-probe --df --size 1445 192.168.10.10 31616) || true
lab_capture_stop
echo "$out"
lab_expect_contains "$out" "ICMP_FRAG_NEEDED mtu=1472" "client told: MTU 1472"
lab_expect_contains "$out" "quoted_dst=192.168.10.10:31616" "quote names the service address"
icmp=$(tcpdump -nn -v -r "$pcap" 2>/dev/null)
echo "$icmp"
lab_expect_contains "$icmp" "unreachable - need to frag (mtu 1472)" "ICMP frag-needed on the wire"
lab_expect_contains "$icmp" "> 192.168.10.10.31616" "quoted header is the original one"
e2e_expect_counter k8s-s icmp_frag_sent 1

# a datagram that fits tunl0 with the option goes through
out=$(lab_exec test-pc nfdsr-udp-probe --df --size 1444 192.168.10.10 31616)
lab_expect_contains "$out" "Hostname: webpod1" "1444-byte payload + 8-byte option fits tunl0"
