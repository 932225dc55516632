#!/bin/bash
# A UDP NodePort service end to end (dispatch opt): every datagram carries the
# option, the backend answers the client directly as 192.168.10.10:31616.
source "$NFDSR_SRC_DIR/tests/e2e/common.sh"
e2e_up

pcap=$E2E_OUT/w1-udp.pcap
lab_capture_start k8s-w1 eth0 "udp and host 192.168.10.200" "$pcap"
for i in 1 2 3; do
  out=$(lab_exec test-pc nfdsr-udp-probe --size 200 192.168.10.10 31616)
  lab_expect_contains "$out" "Hostname: webpod1" "datagram $i answered by webpod1"
  lab_expect_contains "$out" "RemoteAddr: 192.168.10.200:" "webpod1 sees the client address"
done
lab_capture_stop

to_client=$(e2e_pkts "$pcap" "dst host 192.168.10.200" | wc -l)
as_service=$(e2e_pkts "$pcap" "dst host 192.168.10.200 and src host 192.168.10.10 and src port 31616" | wc -l)
((to_client == 3 && as_service == 3)) || lab_fail "replies on k8s-w1: $to_client, as the service: $as_service"
lab_ok "k8s-w1 answered 3 datagrams as 192.168.10.10:31616"
# the option arrives on every datagram, not only the first
with_opt=$(tcpdump -nn -v -r "$pcap" "dst host 172.16.2.214 and ip[0] & 0xf = 7" 2>/dev/null | grep -c 'proto UDP' || true)
((with_opt == 3)) || lab_fail "datagrams with IHL 7 on k8s-w1: $with_opt"
lab_ok "all 3 datagrams carried the option"
e2e_expect_counter k8s-s opt_added 3
e2e_expect_counter k8s-w1 opt_stripped 3
e2e_expect_counter k8s-w1 reply_rewritten 3
