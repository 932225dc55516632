#!/bin/bash
# vm_lab_smoke: the lab topology, nftables and tunl0 work in the VM kernel.
set -euo pipefail
source "$NFDSR_SRC_DIR/tests/lab/lab.sh"
trap lab_down EXIT

t0=$(date +%s.%N)
lab_up
echo "lab_up took $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}')s"

out=$(lab_exec k8s-w1 curl -sS --max-time 5 http://172.16.2.214:80/)
echo "$out"
lab_expect_contains "$out" "Hostname: webpod1" "k8s-w1 -> webpod1 http"
lab_expect_contains "$out" "RemoteAddr: 192.168.10.101:" "webpod1 sees k8s-w1's node address"

# native routing: k8s-s reaches webpod1 through k8s-w1, webpod0 locally
out=$(lab_exec k8s-s curl -sS --max-time 5 http://172.16.2.214/)
lab_expect_contains "$out" "RemoteAddr: 192.168.10.10:" "k8s-s -> webpod1 routed via k8s-w1"
out=$(lab_exec k8s-w2 curl -sS --max-time 5 http://172.16.0.10/)
lab_expect_contains "$out" "Hostname: webpod0" "k8s-w2 -> webpod0 routed via k8s-s"

# test-pc has no pod routes: this must fail
if lab_exec test-pc curl -sS --max-time 3 http://172.16.2.214/ >/dev/null 2>&1; then
  lab_fail "test-pc reached a pod without a route"
fi
lab_ok "test-pc has no route to pods"
lab_exec test-pc busybox ping -c1 -W2 192.168.10.10 >/dev/null && lab_ok "L2 segment"

# the probes
out=$(lab_exec k8s-w1 nfdsr-udp-probe --size 100 172.16.2.214 5353)
lab_expect_contains "$out" "Hostname: webpod1" "udp whoami"
lab_expect_contains "$out" "Size: 100" "udp size"
out=$(lab_exec k8s-w1 nfdsr-tcp-probe 172.16.2.214 80)
lab_expect_contains "$out" "Hostname: webpod1" "tcp probe"
# an IP option on the wire (NOP NOP NOP EOL: harmless)
out=$(lab_exec k8s-w1 nfdsr-tcp-probe --ip-option 01010100 172.16.2.214 80)
lab_expect_contains "$out" "Hostname: webpod1" "tcp probe with an IP option"
# PMTU: a DF datagram bigger than the path fails with an MTU error
lab_exec k8s-w1 ip route add 172.16.1.0/25 via 192.168.10.102 mtu 1200
set +e
out=$(lab_exec k8s-w1 nfdsr-udp-probe --df --size 1400 172.16.1.1 9)
set -e
lab_expect_contains "$out" "EMSGSIZE mtu=1200" "udp probe reports the path MTU"
# a router on the path with a smaller MTU: ICMP frag-needed back to the client
lab_exec k8s-w1 ip link set lxc-webpod1 mtu 1200
set +e
out=$(lab_exec k8s-s nfdsr-udp-probe --df --size 1400 172.16.2.214 5353)
set -e
lab_expect_contains "$out" "ICMP_FRAG_NEEDED mtu=1200 offender=192.168.10.101 quoted_dst=172.16.2.214:5353" \
  "udp probe reports ICMP frag-needed"
lab_exec k8s-w1 ip link set lxc-webpod1 mtu 1500
# concurrent clients
pids=()
for i in 1 2 3 4 5 6 7 8; do
  lab_exec k8s-s curl -sS --max-time 10 -o "$NFDSR_VM_OUT/conc-$i.txt" http://172.16.2.214/ & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || lab_fail "concurrent curl failed"; done
n=$(cat "$NFDSR_VM_OUT"/conc-*.txt | grep -c "Hostname: webpod1")
((n == 8)) || lab_fail "concurrent: $n/8 answers"
lab_ok "8 concurrent clients"

# capture helper
lab_capture_start k8s-w1 eth0 "tcp port 80" "$NFDSR_VM_OUT/smoke-w1.pcap"
lab_exec k8s-s curl -sS --max-time 5 -o /dev/null http://172.16.2.214/
lab_capture_stop
n=$(tcpdump -nn -r "$NFDSR_VM_OUT/smoke-w1.pcap" 2>/dev/null | wc -l)
((n >= 6)) || lab_fail "capture has $n packets"
lab_ok "capture: $n packets"

# nftables and ipip
lab_exec k8s-s nft add table ip t
lab_exec k8s-s nft list tables | grep -q 'table ip t' && lab_ok "nft"
modprobe ipip
lab_exec k8s-w1 ip link show tunl0 >/dev/null || lab_exec k8s-w1 ip link add name tunl0 type ipip
lab_exec k8s-w1 ip link set tunl0 up
lab_exec k8s-w1 ip -d link show tunl0 | grep -q ipip && lab_ok "tunl0"

lab_down
trap - EXIT
lab_check_dmesg
echo "smoke: all ok"
