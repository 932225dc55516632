#!/bin/bash
# UDP that no longer fits once the 8-byte option is added, with DF: the client
# gets ICMP fragmentation-needed (MTU - 8) that quotes the header it sent
# (destination 192.168.10.10:31616).
#
#   udp_mtu_icmp.sh [opt|ipip]
#
# opt (default): the reference lab, eth0 MTU 1500 -> mtu 1492, and the client's
# stack lowers the path MTU.
# ipip (ipip_udp_mtu_icmp.sh): dispatch ipip xlate, the datagram does not fit
# tunl0 (MTU 1480): nfdsr.ko's MTU check on k8s-s sees tunl0's MTU through the
# routing mark (set at -280, before the check at -270) and sends mtu
# 1480 - 8 = 1472.
dispatch=${1:-opt}
case $dispatch in
  opt)
    big=1472       # 20 + 8 + 1472 = 1500: + 8 option = 1508 > 1500
    mtu=1492
    fit=1464
    fits_where=""
    ;;
  ipip)
    big=1445       # 20 + 8 + 1445 = 1473 bytes: + 8 option = 1481 > 1480
    mtu=1472
    fit=1444
    fits_where=" tunl0"
    ;;
  *)
    echo "usage: $0 [opt|ipip]" >&2
    exit 2
    ;;
esac
if [[ $dispatch == ipip ]]; then
  source "$NFDSR_SRC_DIR/tests/e2e/ipip_common.sh"
else
  source "$NFDSR_SRC_DIR/tests/e2e/common.sh"
fi
e2e_up

pcap=$E2E_OUT/test-pc-icmp.pcap
lab_capture_start test-pc eth0 "icmp" "$pcap"
out=$(lab_exec test-pc nfdsr-udp-probe --df --size "$big" 192.168.10.10 31616) || true
lab_capture_stop
echo "$out"
lab_expect_contains "$out" "ICMP_FRAG_NEEDED mtu=$mtu" "client told: MTU $mtu"
lab_expect_contains "$out" "quoted_dst=192.168.10.10:31616" "quote names the service address"
icmp=$(tcpdump -nn -v -r "$pcap" 2>/dev/null)
echo "$icmp"
lab_expect_contains "$icmp" "unreachable - need to frag (mtu $mtu)" "ICMP frag-needed on the wire"
lab_expect_contains "$icmp" "> 192.168.10.10.31616" "quoted header is the original one"
e2e_expect_counter k8s-s icmp_frag_sent 1
if [[ $dispatch == opt ]]; then
  route=$(lab_exec test-pc ip route get 192.168.10.10)
  lab_expect_contains "$route" "mtu $mtu" "test-pc cached the lower path MTU"
fi

# a datagram that fits (tunl0 with ipip) with the option goes through
out=$(lab_exec test-pc nfdsr-udp-probe --df --size "$fit" 192.168.10.10 31616)
lab_expect_contains "$out" "Hostname: webpod1" "$fit-byte payload + 8-byte option fits$fits_where"
