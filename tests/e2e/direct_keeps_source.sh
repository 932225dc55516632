#!/bin/bash
# Traffic that did not come through DSR keeps its own source: k8s-s (e.g. a
# health check) and test-pc talking to webpod1's address directly get answers
# from 172.16.2.214:80, even while DSR flows to the same backend exist.
source "$NFDSR_SRC_DIR/tests/e2e/common.sh"
e2e_up

out=$(lab_exec test-pc curl -sS --max-time 10 http://192.168.10.10:31615/)
lab_expect_contains "$out" "Hostname: webpod1" "DSR connection through the NodePort"

pcap=$E2E_OUT/w1-direct.pcap
lab_capture_start k8s-w1 eth0 "tcp and (port 80 or port 31615)" "$pcap"
out=$(lab_exec k8s-s curl -sS --max-time 10 http://172.16.2.214:80/)
lab_expect_contains "$out" "RemoteAddr: 192.168.10.10:" "k8s-s -> 172.16.2.214:80 directly"
lab_exec test-pc ip route add 172.16.2.0/24 via 192.168.10.101
out=$(lab_exec test-pc curl -sS --max-time 10 http://172.16.2.214:80/)
lab_expect_contains "$out" "RemoteAddr: 192.168.10.200:" "test-pc -> 172.16.2.214:80 directly"
lab_capture_stop

own=$(e2e_pkts "$pcap" "src host 172.16.2.214 and src port 80" | wc -l)
rewritten=$(e2e_pkts "$pcap" "src port 31615" | wc -l)
((own > 0 && rewritten == 0)) || lab_fail "direct replies: $own from 172.16.2.214:80, $rewritten rewritten"
lab_ok "direct replies left k8s-w1 as 172.16.2.214:80 ($own packets, none rewritten)"
