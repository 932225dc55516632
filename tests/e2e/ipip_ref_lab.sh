#!/bin/bash
# The reference scenario (BRIEF §2) with dispatch ipip (xlate): curl test-pc ->
# k8s-s:31615 reaches webpod1 with the client address intact, k8s-s sends the
# SYN inside an outer IPv4 header (protocol 4) 192.168.10.10 -> 192.168.10.101
# whose inner packet is exactly the opt-mode one (rewritten to 172.16.2.214:80,
# Cilium's option), and k8s-w1 answers the client directly as 192.168.10.10:31615.
source "$NFDSR_SRC_DIR/tests/e2e/ipip_common.sh"
e2e_up
# strict reverse-path filtering on the backend node, as many distributions set
# it (all=1), then apply again: tunl0 has no address, so any effective value
# max(all, tunl0) > 0 drops what it decapsulates; nfdsrctl sets tunl0 to 0 and
# moves `all` into default and the other interfaces (eth0 keeps its filter)
lab_exec k8s-w1 sysctl -qw net.ipv4.conf.all.rp_filter=1
lab_exec k8s-w1 nfdsrctl apply "$E2E_CONFIG" || lab_fail "re-apply on k8s-w1"

ks_pcap=$E2E_OUT/k8s-s.pcap
w1_pcap=$E2E_OUT/k8s-w1.pcap
lab_capture_start k8s-s eth0 "host 192.168.10.200 or ip proto 4" "$ks_pcap"
lab_capture_start k8s-w1 eth0 "tcp and host 192.168.10.200" "$w1_pcap"

response=$(lab_exec test-pc curl -sS --max-time 10 http://192.168.10.10:31615/) || true
lab_capture_stop

echo "=== curl http://192.168.10.10:31615/ from test-pc (dispatch ipip)"
echo "$response"
echo "=== observations"

# (1) the backend answers and sees the real client address
if [[ $response == *"Hostname: webpod1"* && $response =~ RemoteAddr:\ 192\.168\.10\.200:[0-9]+ ]]; then r=0; else r=1; fi
e2e_observe "(1) curl answered by webpod1 with RemoteAddr 192.168.10.200:<port>" $r

# (2) k8s-s: client packets in, IPIP to k8s-w1 out, no reply passes back
from_client=$(e2e_pkts "$ks_pcap" "src host 192.168.10.200 and tcp" | wc -l)
tunneled=$(e2e_pkts "$ks_pcap" "ip proto 4 and src host 192.168.10.10 and dst host 192.168.10.101" | wc -l)
replies=$(e2e_pkts "$ks_pcap" "ip and (dst host 192.168.10.200 or (ip proto 4 and src host 192.168.10.101))" | wc -l)
if [[ $from_client -gt 0 && $tunneled -gt 0 && $replies == 0 ]]; then r=0; else r=1; fi
e2e_observe "(2) k8s-s saw $from_client packets from the client, sent $tunneled IPIP packets to 192.168.10.101, $replies replies" $r

# (3) k8s-w1 answers the client as 192.168.10.10:31615
to_client=$(e2e_pkts "$w1_pcap" "dst host 192.168.10.200" | wc -l)
as_service=$(e2e_pkts "$w1_pcap" "dst host 192.168.10.200 and src host 192.168.10.10 and src port 31615" | wc -l)
if [[ $to_client -gt 0 && $to_client == "$as_service" ]]; then r=0; else r=1; fi
e2e_observe "(3) k8s-w1 sent $to_client packets to test-pc, $as_service of them from 192.168.10.10:31615" $r

# (4) the first IPIP packet is the SYN: outer 45 .. proto 04 192.168.10.10 -> 192.168.10.101,
# inner IHL 7, TTL 63, 192.168.10.200 -> 172.16.2.214:80, option 9a087f7b0a0aa8c0
hex=$(e2e_hex "$ks_pcap" "ip proto 4 and src host 192.168.10.10")
in=${hex:40}
ok=1
if [[ ${#hex} -ge 96 && ${hex:0:2} == 45 && ${hex:18:2} == 04 && ${hex:24:8} == c0a80a0a && ${hex:32:8} == c0a80a65 &&
      ${in:0:2} == 47 && ${in:16:2} == 3f && ${in:18:2} == 06 && ${in:24:8} == c0a80ac8 && ${in:32:8} == ac1002d6 &&
      ${in:40:16} == 9a087f7b0a0aa8c0 && ${in:60:4} == 0050 && $(( 0x${in:82:2} & 0x02 )) != 0 ]]; then ok=0; fi
e2e_observe "(4) SYN to k8s-w1: IPIP 192.168.10.10 -> 192.168.10.101, inner 192.168.10.200 -> 172.16.2.214:80 with option 9a 08 7f 7b 0a 0a a8 c0" $ok

echo "=== first SYN on the k8s-s -> k8s-w1 link (tcpdump -x: outer IPv4 header, then the inner packet)"
tcpdump -nn -v -x -c 1 -r "$ks_pcap" "ip proto 4 and src host 192.168.10.10" 2>/dev/null
# the same bytes split: the 20-byte outer header, then the inner packet (as in opt mode)
words() { sed 's/..../& /g; s/ $//' <<<"$1" | fold -w 40 | sed 's/ $//'; }
echo "outer IPv4 header (20 bytes, protocol 4, 192.168.10.10 -> 192.168.10.101):"
words "${hex:0:40}" | sed 's/^/    /'
echo "inner packet (IHL 7, DSR option 9a08 7f7b 0a0a a8c0, to 172.16.2.214:80):"
words "$in" | sed 's/^/    /'

echo "=== k8s-s policy routing"
lab_exec k8s-s ip rule show | grep -F 'proto 245' || lab_fail "no nfdsr ip rule on k8s-s"
lab_exec k8s-s ip route show table all proto 245 | grep -F 'dev tunl0' || lab_fail "no nfdsr route via tunl0"
lab_exec k8s-w1 sysctl net.ipv4.conf.tunl0.rp_filter net.ipv4.conf.all.rp_filter net.ipv4.conf.eth0.rp_filter \
  net.ipv4.conf.default.rp_filter
rpf=$(lab_exec k8s-w1 sh -c 'cd /proc/sys/net/ipv4/conf && echo $(cat tunl0/rp_filter all/rp_filter eth0/rp_filter default/rp_filter)')
[[ $rpf == "0 0 1 1" ]] || lab_fail "k8s-w1 rp_filter tunl0/all/eth0/default is $rpf, expected 0 0 1 1"
lab_ok "k8s-w1: tunl0 rp_filter 0; all=1 moved to eth0 and default (their effective value unchanged)"

echo "=== module counters"
e2e_expect_counter k8s-s opt_added 1
e2e_expect_counter k8s-w1 opt_stripped 1
e2e_expect_counter k8s-w1 reply_rewritten 1
e2e_finish

# flush removes exactly nfdsr's rules and routes
lab_exec k8s-s nfdsrctl flush || lab_fail "flush"
[[ -z $(lab_exec k8s-s ip rule show | grep -F 'proto 245') ]] || lab_fail "ip rule left after flush"
[[ -z $(lab_exec k8s-s ip route show table all proto 245) ]] || lab_fail "route left after flush"
lab_ok "flush removed nfdsr's rules and routes"
