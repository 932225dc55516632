#!/bin/bash
# The backend flow table is bounded and expires idle flows. With flows.max 4,
# ten UDP flows evict six and the table sits at its limit; after a reload
# with udp_timeout 1 s, the idle flows expire.
source "$NFDSR_SRC_DIR/tests/e2e/common.sh"
small_table() { # UDP_TIMEOUT OUTFILE: the reference lab with a 4-entry flow table
  { echo "flows: {max: 4, udp_timeout: $1}"; grep -v '^flows:' "$NFDSR_SRC_DIR/examples/reference-lab.yaml"; } >"$2"
}
E2E_CONFIG=$E2E_OUT/flows-max4.yaml
small_table 600 "$E2E_CONFIG"
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

small_table 1 "$E2E_OUT/flows-max4-short.yaml"
lab_exec k8s-w1 nfdsrctl apply "$E2E_OUT/flows-max4-short.yaml" >/dev/null
sleep 3
e2e_expect_counter k8s-w1 flow_expired 4
flows=$(e2e_counter k8s-w1 flow_count)
((flows == 0)) || lab_fail "$flows flows left after the idle timeout"
lab_ok "idle flows expired"
# a new datagram records its flow again
out=$(lab_exec test-pc nfdsr-udp-probe --src 192.168.10.200:40001 --size 32 192.168.10.10 31616)
lab_expect_contains "$out" "Hostname: webpod1" "a new datagram is answered as the service again"
e2e_expect_counter k8s-w1 flow_created 11
