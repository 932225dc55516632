#!/bin/bash
# The reference scenario (BRIEF §2), dispatch opt: curl test-pc -> k8s-s:31615
# reaches webpod1 on k8s-w1 with the client address intact, the reply goes
# straight from k8s-w1 to test-pc as 192.168.10.10:31615, and the SYN that
# k8s-s forwards carries Cilium's option. Output (used by scripts/demo):
# the curl response, one PASS/FAIL line per observation, the SYN as hex.
source "$NFDSR_SRC_DIR/tests/e2e/common.sh"
e2e_up

ks_pcap=$E2E_OUT/k8s-s.pcap
w1_pcap=$E2E_OUT/k8s-w1.pcap
lab_capture_start k8s-s eth0 "tcp and (port 80 or port 31615)" "$ks_pcap"
lab_capture_start k8s-w1 eth0 "tcp and host 192.168.10.200" "$w1_pcap"

response=$(lab_exec test-pc curl -sS --max-time 10 http://192.168.10.10:31615/) || true
lab_capture_stop

echo "=== curl http://192.168.10.10:31615/ from test-pc"
echo "$response"
echo "=== observations"

# (1) the backend answers and sees the real client address
if [[ $response == *"Hostname: webpod1"* && $response =~ RemoteAddr:\ 192\.168\.10\.200:[0-9]+ ]]; then r=0; else r=1; fi
e2e_observe "(1) curl answered by webpod1 with RemoteAddr 192.168.10.200:<port>" $r

# (2) on k8s-s only client -> backend packets; no reply passes back
all=$(e2e_pkts "$ks_pcap" | wc -l)
from_client=$(e2e_pkts "$ks_pcap" "src host 192.168.10.200" | wc -l)
replies=$(e2e_pkts "$ks_pcap" "src host 172.16.2.214 or src port 31615 or src port 80" | wc -l)
forwarded=$(e2e_pkts "$ks_pcap" "src host 192.168.10.200 and dst host 172.16.2.214 and dst port 80" | wc -l)
if [[ $all -gt 0 && $all == "$from_client" && $replies == 0 && $forwarded -gt 0 ]]; then r=0; else r=1; fi
e2e_observe "(2) k8s-s saw $all packets, all from the client ($forwarded forwarded to 172.16.2.214:80), $replies replies" $r

# (3) k8s-w1 answers the client as 192.168.10.10:31615
to_client=$(e2e_pkts "$w1_pcap" "dst host 192.168.10.200" | wc -l)
as_service=$(e2e_pkts "$w1_pcap" "dst host 192.168.10.200 and src host 192.168.10.10 and src port 31615" | wc -l)
if [[ $to_client -gt 0 && $to_client == "$as_service" ]]; then r=0; else r=1; fi
e2e_observe "(3) k8s-w1 sent $to_client packets to test-pc, $as_service of them from 192.168.10.10:31615" $r

# (4) the forwarded SYN: IHL 7, TTL 63, 192.168.10.200 -> 172.16.2.214:80, option 9a087f7b0a0aa8c0
syn_filter="src host 192.168.10.200 and dst host 172.16.2.214 and tcp[tcpflags] & tcp-syn != 0"
hex=$(e2e_hex "$ks_pcap" "$syn_filter")
ok=1
if [[ ${#hex} -ge 56 && ${hex:0:2} == 47 && ${hex:16:2} == 3f && ${hex:18:2} == 06 &&
      ${hex:24:8} == c0a80ac8 && ${hex:32:8} == ac1002d6 && ${hex:40:16} == 9a087f7b0a0aa8c0 &&
      ${hex:60:4} == 0050 ]]; then ok=0; fi
e2e_observe "(4) forwarded SYN: IHL 7, TTL 63, 192.168.10.200 -> 172.16.2.214:80, option 9a 08 7f 7b 0a 0a a8 c0" $ok

# (5) checksums: the lab sends and checks real checksums (offload off), so the
# rewrites by nftables and nfdsr.ko must leave every TCP checksum correct
sums=$( (tcpdump -nn -vv -r "$ks_pcap"; tcpdump -nn -vv -r "$w1_pcap") 2>/dev/null | grep -oE 'cksum 0x[0-9a-f]+ \((correct|incorrect[^)]*)\)' || true)
good=$(grep -c '(correct)' <<<"$sums" || true)
bad=$(grep -c 'incorrect' <<<"$sums" || true)
if ((good > 0 && bad == 0)); then r=0; else r=1; fi
e2e_observe "(5) TCP checksums on both links: $good correct, $bad incorrect" $r

echo "=== first SYN on the k8s-s -> k8s-w1 link (tcpdump -x)"
tcpdump -nn -x -c 1 -r "$ks_pcap" "$syn_filter" 2>/dev/null

echo "=== module counters"
e2e_expect_counter k8s-s opt_added 1
e2e_expect_counter k8s-w1 opt_stripped 1
e2e_expect_counter k8s-w1 reply_rewritten 1
e2e_finish
