#!/bin/bash
# The backend flow table is bounded and expires idle flows: with flows.max 4
# and udp_timeout 5 s, ten UDP flows evict six, and all expire when idle.
source "$NFDSR_SRC_DIR/tests/e2e/common.sh"
E2E_CONFIG=$E2E_OUT/small-flow-table.yaml
{ echo "flows: {max: 4, udp_timeout: 5}"; grep -v '^flows:' "$NFDSR_SRC_DIR/examples/reference-lab.yaml"; } >"$E2E_CONFIG"
e2e_up

for port in $(seq 40001 40010); do
  out=$(lab_exec test-pc nfdsr-udp-probe --src "192.168.10.200:$port" --size 32 192.168.10.10 31616)
  lab_expect_contains "$out" "Hostname: webpod1" "UDP flow from port $port"
done
e2e_expect_counter k8s-w1 flow_created 10
e2e_expect_counter k8s-w1 flow_evicted 6
flows=$(e2e_counter k8s-w1 flow_count)
((flows == 4)) || lab_fail "flow table holds $flows flows, expected the limit 4"
lab_ok "flow table holds $flows flows (max 4)"
sleep 8
e2e_expect_counter k8s-w1 flow_expired 1
flows=$(e2e_counter k8s-w1 flow_count)
((flows == 0)) || lab_fail "$flows flows left after the idle timeout"
lab_ok "idle flows expired"
# an expired flow's replies are no longer rewritten, but a new datagram re-creates it
out=$(lab_exec test-pc nfdsr-udp-probe --src 192.168.10.200:40001 --size 32 192.168.10.10 31616)
lab_expect_contains "$out" "Hostname: webpod1" "a new datagram records the flow again"
