#!/bin/bash
# dispatch ipip and TCP segment sizes, both directions:
# - the SYN that k8s-s sends into tunl0 has its MSS clamped to the route MTU
#   - 40 (tunl0 1480 -> 1440) by the nft forward chain tunnel_mss;
# - the SYN-ACK that k8s-w1 sends to the client as the service address has its
#   MSS capped at ipip_mss (1440) by the postrouting chain backend_mss (after
#   nfdsr.ko's reply rewrite): that is what limits the client's segments, which
#   go through tunl0 (1500 - 20 outer - 40 = 1440);
# - so a bulk upload of 4 MB through the tunnel completes; without the cap
#   (chain flushed) a connection opened in opt mode (SYN MSS 1460) stalls
#   after a switch to ipip: its 1460-byte segments exceed tunl0 and the entry
#   node's ICMP frag-needed quotes the rewritten header the client cannot
#   match.
STREAM_START_MODE=ipip
source "$NFDSR_SRC_DIR/tests/e2e/stream_common.sh"
stream_up

pcap=$E2E_OUT/k8s-s-tunl0.pcap
pc_pcap=$E2E_OUT/test-pc-syn.pcap
lab_capture_start k8s-s tunl0 "tcp" "$pcap"
lab_capture_start test-pc eth0 "tcp[tcpflags] & tcp-syn != 0" "$pc_pcap"
response=$(lab_exec test-pc curl -sS --max-time 10 http://192.168.10.10:31615/) || true
lab_capture_stop
lab_expect_contains "$response" "Hostname: webpod1" "curl through tunl0"
syn=$(e2e_pkts "$pcap" "tcp[tcpflags] & tcp-syn != 0" | head -n1)
echo "$syn"
[[ $syn =~ mss\ ([0-9]+) ]] || lab_fail "no SYN with an MSS option on tunl0"
((BASH_REMATCH[1] <= 1440)) || lab_fail "MSS ${BASH_REMATCH[1]} > 1440"
lab_ok "SYN in tunl0 has MSS ${BASH_REMATCH[1]} <= 1440"
synack=$(e2e_pkts "$pc_pcap" "src host 192.168.10.10 and src port 31615 and tcp[tcpflags] & tcp-ack != 0" | head -n1)
echo "$synack"
[[ $synack =~ mss\ ([0-9]+) ]] || lab_fail "no SYN-ACK from 192.168.10.10:31615 with an MSS option at test-pc"
((BASH_REMATCH[1] <= 1440)) || lab_fail "SYN-ACK MSS ${BASH_REMATCH[1]} > 1440"
lab_ok "SYN-ACK from the service address has MSS ${BASH_REMATCH[1]} <= 1440"
lab_exec k8s-s nft list chain ip nfdsr tunnel_mss
lab_exec k8s-w1 nft list chain ip nfdsr backend_mss

# bulk upload (and echo) of 4 MB through tunl0
out=$(lab_exec test-pc nfdsr-stream client --label upload --conns 1 --bytes 4194304 --rate 0 --stall 5 \
  192.168.10.10 $STREAM_PORT 2>&1) || { echo "$out"; lab_fail "4 MB upload through ipip did not complete"; }
echo "$out" | tail -n1
lab_ok "4 MB upload through ipip completed, every byte echoed"

# control: the SYN-ACK cap is what keeps a connection opened in opt mode
# working after a switch to ipip (nfdsr.ko also caps a SYN-ACK at the MSS its
# SYN arrived with, which covers connections opened with ipip, but an opt
# SYN carries 1460): without it (chain flushed on k8s-w1), such a
# connection's full-sized segments no longer fit tunl0, the entry node's
# frag-needed quotes the rewritten header the client cannot match, and the
# stream stalls
lab_exec k8s-w1 nft flush chain ip nfdsr backend_mss
stream_set k8s-s opt
lab_spawn test-pc nocap sh -c "exec nfdsr-stream client --label nocap --conns 1 --duration 600 --rate 0 \
  --stall 2 192.168.10.10 $STREAM_PORT >'$E2E_OUT/nocap.txt'"
for ((i = 0; i < 100; i++)); do grep -q streaming "$LAB_LOG/nocap.log" 2>/dev/null && break; sleep 0.1; done
stream_set k8s-s ipip
for ((i = 0; i < 600; i++)); do grep -q 'stalled' "$LAB_LOG/nocap.log" && break; sleep 0.1; done
kill -USR1 "$(cat "$LAB_RUN/nocap.pid")"
for ((i = 0; i < 600; i++)); do grep -q '^total:' "$E2E_OUT/nocap.txt" 2>/dev/null && break; sleep 0.1; done
grep -E 'stalled' "$LAB_LOG/nocap.log" | head -n 2
total=$(grep '^total:' "$E2E_OUT/nocap.txt") || lab_fail "no result from the control stream"
echo "$total"
[[ $total =~ stalls=([0-9]+) ]] && ((BASH_REMATCH[1] >= 1)) ||
  lab_fail "a connection opened in opt mode kept streaming through tunl0 without the SYN-ACK cap (control)"
lab_ok "control: without the SYN-ACK MSS cap an opt-mode connection stalls after the switch to ipip"
