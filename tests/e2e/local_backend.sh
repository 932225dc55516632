#!/bin/bash
# A backend on the entry node itself: test-pc -> k8s-s:31617 -> webpod0 (on
# k8s-s). The option is attached and stripped on the same node; the reply
# still leaves as 192.168.10.10:31617.
source "$NFDSR_SRC_DIR/tests/e2e/common.sh"
e2e_up

pcap=$E2E_OUT/test-pc-local.pcap
lab_capture_start test-pc eth0 "tcp" "$pcap"
out=$(lab_exec test-pc curl -sS --max-time 10 http://192.168.10.10:31617/)
lab_capture_stop
echo "$out"
lab_expect_contains "$out" "Hostname: webpod0" "answered by webpod0 on the entry node"
lab_expect_contains "$out" "RemoteAddr: 192.168.10.200:" "webpod0 sees the client address"
bad=$(e2e_pkts "$pcap" "dst host 192.168.10.200 and not (src host 192.168.10.10 and src port 31617)" | wc -l)
((bad == 0)) || lab_fail "$bad reply packets not from 192.168.10.10:31617"
lab_ok "replies came from 192.168.10.10:31617"
e2e_expect_counter k8s-s opt_added 1
e2e_expect_counter k8s-s opt_stripped 1
e2e_expect_counter k8s-s reply_rewritten 1
