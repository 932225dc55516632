#!/bin/bash
# local_only (issue 4, Health): local1 = NodePort 31621, local_only: true,
# one backend webpod1 on k8s-w1, health_check_node_port 32001. nfdsrd runs
# on k8s-s (no local backend) and k8s-w1. k8s-s drops and counts the
# service's traffic, k8s-w1 serves it from its own pod; the health endpoint
# answers 503 on k8s-s and 200 on k8s-w1, and 503 on k8s-w1 once webpod1's
# server is down.
source "$NFDSR_SRC_DIR/tests/e2e/health_common.sh"
health_up
daemon_start k8s-s
daemon_start k8s-w1

drops() { e2e_svc k8s-s 192.168.10.10 31621 no_backend_drops; }
d0=$(drops)
if lab_exec test-pc curl -sS --max-time 2 http://192.168.10.10:31621/ >/dev/null 2>&1; then
  lab_fail "k8s-s served a local_only service without a local backend"
fi
d1=$(drops)
echo "k8s-s local1 drops: $d0 -> $d1"
((d1 > d0)) || lab_fail "k8s-s did not count the dropped packets"
lab_ok "k8s-s (no local backend) drops local1 and counts it"

out=$(lab_exec test-pc curl -sS --max-time 5 http://192.168.10.101:31621/) || lab_fail "k8s-w1 does not serve local1"
lab_expect_contains "$out" "Hostname: webpod1" "k8s-w1 serves local1 from its own pod"
lab_expect_contains "$out" "RemoteAddr: 192.168.10.200:" "the client address is kept"

code() { lab_exec test-pc curl -sS -o "$E2E_OUT/hc-$1.json" -w '%{http_code}' --max-time 5 "http://$1:32001/"; }
c=$(code 192.168.10.10) body=$(cat "$E2E_OUT/hc-192.168.10.10.json")
echo "k8s-s :32001 -> $c $body"
[[ $c == 503 && $body == *'"localEndpoints": 0'* ]] || lab_fail "k8s-s health endpoint: expected 503"
c=$(code 192.168.10.101) body=$(cat "$E2E_OUT/hc-192.168.10.101.json")
echo "k8s-w1 :32001 -> $c $body"
[[ $c == 200 && $body == *'"service": "local1"'* && $body == *'"localEndpoints": 1'* ]] ||
  lab_fail "k8s-w1 health endpoint: expected 200 with 1 local endpoint"
lab_ok "health endpoint: 503 on k8s-s, 200 on k8s-w1"

kill "$(cat "$LAB_RUN/webpod1-http.pid")"
wait_log k8s-w1 'local1/webpod1 .* is down' 10 || lab_fail "k8s-w1 did not mark webpod1 down"
c=$(code 192.168.10.101)
echo "k8s-w1 :32001 after webpod1 died -> $c $(cat "$E2E_OUT/hc-192.168.10.101.json")"
[[ $c == 503 ]] || lab_fail "k8s-w1 health endpoint: expected 503 without a healthy local backend"
lab_ok "k8s-w1 answers 503 once its only local backend is down"
