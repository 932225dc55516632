#!/bin/bash
# mode_switch_keeps_connections (issue 3): 50 long-lived TCP connections from
# test-pc stream through k8s-s:31618 (stream1 -> nfdsr-stream echo on webpod1)
# in both directions, every byte checked, while k8s-s's dispatch flips
# opt -> ipip -> opt -> ipip -> opt (nfdsrctl apply of the config with the other
# `dispatch`, then `nfdsrctl dispatch set`, every ~2 s). xlate keeps the inner packet identical to opt, so the
# backend's socket and flow record do not change: no connection may be reset or
# stall, and every byte must come back. tunl0's packet counter on k8s-s shows
# that the ipip phases really used the tunnel and the opt phases did not.
source "$NFDSR_SRC_DIR/tests/e2e/stream_common.sh"
stream_up
stream_watch_resets

tunl0_tx() { lab_exec k8s-s cat /sys/class/net/tunl0/statistics/tx_packets; }
res=$E2E_OUT/stream-client.txt
lab_spawn test-pc stream-client sh -c "exec nfdsr-stream client --label switch --conns 50 --duration 600 \
  --rate 4096 --stall 10 192.168.10.10 $STREAM_PORT >'$res'"
for ((i = 0; i < 100; i++)); do
  grep -q 'streaming' "$LAB_LOG/stream-client.log" 2>/dev/null && break
  sleep 0.1
done
grep 'streaming' "$LAB_LOG/stream-client.log" || lab_fail "the stream client did not connect"
sleep 2

ok=1
phase=0
for next in ipip opt ipip opt; do
  # the first round by applying a config with the other dispatch, the second
  # with the live switch `nfdsrctl dispatch set`
  if ((phase++ < 2)); then stream_set k8s-s "$next"; else stream_dispatch_set k8s-s "$next"; fi
  prev=$(tunl0_tx)
  [[ $(stream_dispatch_of k8s-s) == "$next" ]] || lab_fail "k8s-s does not show dispatch $next"
  sleep 2
  cur=$(tunl0_tx)
  echo "phase $next: tunl0 tx on k8s-s +$((cur - prev)) packets"
  if [[ $next == ipip ]]; then ((cur - prev > 20)) || ok=0; else ((cur - prev <= 5)) || ok=0; fi
done
((ok)) || lab_fail "tunl0 traffic did not follow the dispatch phases"
lab_ok "ipip phases went through tunl0, opt phases did not"

# stop sending (SIGUSR1 to nfdsr-stream, under sh -c exec); it drains and reports
pid=$(cat "$LAB_RUN/stream-client.pid")
kill -0 "$pid" 2>/dev/null || lab_fail "the stream client ended before the switches were done"
kill -USR1 "$pid"
for ((i = 0; i < 600; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && lab_fail "stream client still running"
tail -n 3 "$LAB_LOG/stream-client.log"
grep -v '^conn .* resets=0 stalls=0 mismatches=0$' "$res" | grep '^conn' || true
total=$(grep '^total:' "$res") || lab_fail "no result from the stream client"
echo "$total"
stream_explain_resets
stream_expect_no_resets_from k8s-s
[[ $total == *" conns=50 ok=50 "* && $total == *" resets=0 stalls=0 mismatches=0 short=0"* ]] ||
  lab_fail "connections lost across the dispatch switches"
lab_ok "50 connections streamed through opt -> ipip -> opt -> ipip -> opt: no reset, no stall, every byte back"
e2e_expect_counter k8s-w1 reply_rewritten 1
