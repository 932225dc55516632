#!/bin/bash
# rolling_mode_switch (issue 3): two entry nodes serve stream1 (NodePort 31618):
# 25 connections through k8s-s, 25 through k8s-w2, streaming both ways. The
# dispatch is switched node by node, as a rolling Ansible play does:
# k8s-s -> ipip (k8s-w2 still opt), k8s-w2 -> ipip, k8s-s -> opt, k8s-w2 -> opt.
# The backend k8s-w1 accepts both forms from both nodes at any time (its own
# config is not changed): zero lost connections, every byte back.
source "$NFDSR_SRC_DIR/tests/e2e/stream_common.sh"
stream_up
stream_watch_resets

start_client() { # NAME ENTRY-ADDRESS
  lab_spawn test-pc "$1" sh -c "exec nfdsr-stream client --label $1 --conns 25 --duration 600 \
    --rate 4096 --stall 10 $2 $STREAM_PORT >'$E2E_OUT/$1.txt'"
}
start_client via-k8s-s 192.168.10.10
start_client via-k8s-w2 192.168.10.102
for c in via-k8s-s via-k8s-w2; do
  for ((i = 0; i < 100; i++)); do grep -q streaming "$LAB_LOG/$c.log" 2>/dev/null && break; sleep 0.1; done
  grep streaming "$LAB_LOG/$c.log" || lab_fail "$c did not connect"
done
sleep 2

for step in "k8s-s ipip" "k8s-w2 ipip" "k8s-s opt" "k8s-w2 opt"; do
  read -r node mode <<<"$step"
  stream_set "$node" "$mode"
  [[ $(stream_dispatch_of "$node") == "$mode" ]] || lab_fail "$node does not show dispatch $mode"
  echo "  k8s-s: $(stream_dispatch_of k8s-s), k8s-w2: $(stream_dispatch_of k8s-w2)"
  sleep 3
done

fail=0
for c in via-k8s-s via-k8s-w2; do
  pid=$(cat "$LAB_RUN/$c.pid")
  kill -0 "$pid" 2>/dev/null || { echo "$c ended before the switches were done"; fail=1; }
  kill -USR1 "$pid" 2>/dev/null || true
  for ((i = 0; i < 600; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  grep -v '^conn .* resets=0 stalls=0 mismatches=0$' "$E2E_OUT/$c.txt" | grep '^conn' || true
  total=$(grep '^total:' "$E2E_OUT/$c.txt") || { echo "$c: no result"; fail=1; continue; }
  echo "$total"
  [[ $total == *" conns=25 ok=25 "* && $total == *" resets=0 stalls=0 mismatches=0 short=0"* ]] || fail=1
done
stream_explain_resets
stream_expect_no_resets_from k8s-s
stream_expect_no_resets_from k8s-w2
((fail == 0)) || lab_fail "connections lost in the rolling switch"
lab_ok "rolling switch k8s-s/k8s-w2 opt -> ipip -> opt: 50 connections, no reset, no stall, every byte back"
