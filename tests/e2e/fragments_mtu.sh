#!/bin/bash
# Issue 8, kinds 3, 4 and 10: IP fragments in both directions, datagrams
# without DF that grow past the MTU with the option, lone non-first
# fragments, and a path between entry and backend narrower than the client's,
# with dispatch opt and ipip in one boot. Control: the same traffic to the
# pod's own address (plain forwarding) gets through.
#   - a 2000-byte UDP request (the client fragments it; the 2000-byte echo
#     comes back fragmented by the pod) through the service: echoed;
#   - 1472 bytes without DF (1508 with the option): the entry node fragments
#     it, the backend node reassembles it before the option is checked;
#   - the kernel's default PMTU mode: DF first, nfdsr's frag-needed, then
#     the client fragments every retry: echoed;
#   - a lone non-first fragment whose payload reads as a UDP header to the
#     service port is never dispatched (classification looks at ports only
#     where there are ports);
#   - k8s-s's route to the pod CIDR at MTU 1400: a 300 kB TCP upload through
#     the service completes (the SYN's MSS is lowered to the route, the
#     backend's SYN-ACK to the SYN's), as it does through plain forwarding
#     with PMTU discovery.
source "$NFDSR_SRC_DIR/tests/e2e/traffic_common.sh"
traffic_up

lab_exec test-pc ip route add 172.16.2.0/24 via 192.168.10.101
check "control: plain forwarding echoes a 2000-byte datagram (fragmented both ways)" \
  traffic test-pc udp-echo 172.16.2.214 7003 2000 --no-df

for mode in opt ipip; do
  traffic_dispatch "$mode"
  lab_exec test-pc ip route flush cache
  check "$mode: 2000-byte request fragmented by the client, echo fragmented by the pod" \
    traffic test-pc udp-echo 192.168.10.10 31622 2000 --no-df
  check "$mode: 1472 bytes without DF, past the MTU with the option: fragmented on the way" \
    traffic test-pc udp-echo 192.168.10.10 31622 1472 --no-df
  check "$mode: default PMTU mode: frag-needed from the entry node, then fragments" \
    traffic test-pc udp-echo 192.168.10.10 31622 1472 --pmtu-want --timeout 10
  lab_exec test-pc ip route flush cache

  # a lone non-first fragment, then a marker datagram on the same path: the
  # marker reaches the pod link, the fragment must not (no wait involved:
  # had it been dispatched it would have been there before the marker)
  pcap=$E2E_OUT/frag-$mode.pcap
  lab_capture_start k8s-w1 lxc-webpod1 "src host 192.168.10.200" "$pcap"
  traffic test-pc lone-fragment 192.168.10.200 192.168.10.10 31622 >/dev/null
  check "$mode: marker datagram after the lone fragment" traffic test-pc udp-echo 192.168.10.10 31622 64
  lab_capture_stop "$pcap"
  e2e_pkts "$pcap" | sed 's/^/    /'
  frags=$(e2e_pkts "$pcap" "ip[6:2] & 0x1fff != 0" | wc -l)
  marker=$(e2e_pkts "$pcap" "udp and ip[6:2] & 0x1fff == 0" | wc -l)
  e2e_observe "$mode: the lone non-first fragment was not dispatched ($frags fragments, $marker marker datagrams at webpod1)" \
    $(( frags == 0 && marker >= 1 ? 0 : 1 ))
done
e2e_expect_counter k8s-s icmp_frag_sent 2

# kind 4: a narrower path between entry and backend (k8s-s -> 172.16.2.0/24 at 1400)
lab_exec k8s-s ip route change 172.16.2.0/24 via 192.168.10.101 dev eth0 mtu 1400
lab_exec test-pc ip route change 172.16.2.0/24 via 192.168.10.10
check "control: a 300 kB upload through k8s-s by plain forwarding (PMTU discovery)" \
  traffic test-pc echo-bulk 172.16.2.214 7000 300000
for mode in opt ipip; do
  traffic_dispatch "$mode"
  lab_exec test-pc ip route flush cache
  check "$mode: a 300 kB upload through the service over the narrower path" \
    traffic test-pc echo-bulk 192.168.10.10 31618 300000
done
e2e_expect_counter k8s-s syn_mss_clamped 2
e2e_expect_counter k8s-w1 synack_mss_clamped 2
e2e_finish
