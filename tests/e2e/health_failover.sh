#!/bin/bash
# health_failover (issue 4, Health): stream2 = NodePort 31620 over webpod1
# and webpod2 (nfdsr-stream echo :7000), TCP health check interval 1 s,
# fall 2, rise 2, checked by nfdsrd on k8s-s. 20 long-lived connections
# stream through k8s-s; webpod2's echo server is killed: only the
# connections to webpod2 break, webpod2 leaves the Maglev table after `fall`
# failed checks, new connections all go to webpod1 and work. The server is
# restarted: webpod2 returns to the table after `rise` checks and gets new
# connections again. svc1 (HTTP health check, both pods alive) keeps both.
source "$NFDSR_SRC_DIR/tests/e2e/health_common.sh"
health_up
daemon_start k8s-s
before=$(map_backends k8s-s "$STREAM2_PORT")
echo "stream2 buckets before: $(echo $before)"
[[ $before == *webpod1* && $before == *webpod2* ]] || lab_fail "both backends should have buckets at start"

stream_start long 20 600 "$STREAM2_PORT"
sleep 2
p1=$(peers webpod1 7000) p2=$(peers webpod2 7000)
n1=$(wc -w <<<"$p1") n2=$(wc -w <<<"$p2")
echo "connections: webpod1 $n1, webpod2 $n2"
if ! ((n1 + n2 == 20 && n1 > 0 && n2 > 0)); then
  echo "webpod1 client ports: $(echo $p1)"; echo "webpod2 client ports: $(echo $p2)"
  for ns in webpod1 webpod2 test-pc; do echo "$ns /proc/net/tcp:"; lab_exec "$ns" cat /proc/net/tcp; done
  lab_fail "expected 20 connections spread over both pods"
fi

kill -9 "$(cat "$LAB_RUN/webpod2-stream.pid")"
t0=$(date +%s.%N)
wait_log k8s-s 'stream2/webpod2 .* is down' 10 || lab_fail "nfdsrd did not mark webpod2 down"
wait_log k8s-s 'health: applied; backends down: stream2/webpod2' 5 || lab_fail "no apply after webpod2 went down"
t1=$(date +%s.%N)
echo "webpod2 removed $(awk "BEGIN{printf \"%.1f\", $t1 - $t0}") s after its server died (fall 2 x interval 1 s)"
after=$(map_backends k8s-s "$STREAM2_PORT")
echo "stream2 buckets after: $(echo $after)"
[[ $after == *webpod1* && $after != *webpod2* ]] || lab_fail "webpod2 still has buckets"
svc1=$(map_backends k8s-s 31615)
[[ $svc1 == *webpod1* && $svc1 == *webpod2* ]] || lab_fail "svc1 lost a backend: $svc1"
line=$(grep -E 'nftables: table ip nfdsr (updated|replaced)' "$LAB_LOG/nfdsrd-k8s-s.log" | tail -n 1)
echo "${line##*nfdsr info: }"
[[ $line == *"updated"*"; 2 messages)"* ]] ||
  lab_fail "a health flip should be one nftables update of the local-client slots (2 messages: delete + add)"
kline=$(grep -E 'nfdsr.ko: [0-9]+ of [0-9]+ services set' "$LAB_LOG/nfdsrd-k8s-s.log" | tail -n 1)
echo "${kline##*nfdsr info: }"
[[ $kline == *"nfdsr.ko: 1 of "* ]] || lab_fail "a health flip should send nfdsr.ko stream2 alone"
lab_ok "webpod2 left stream2's table only; svc1 kept both (nfdsr.ko: one service replaced; nftables: the local-client slots)"

# new connections: all to webpod1, all fine (webpod2:7000 would refuse them)
stream_start fresh 10 2 "$STREAM2_PORT"
stream_wait fresh
stream_all_ok fresh 10 || lab_fail "new connections failed while webpod2 is down"
lab_ok "10 new connections all served by webpod1 (webpod2's port is closed: any sent there would fail)"

stream_stop long
bad_other=0 broken=0
while read -r line; do
  port=${line#* local=*:} port=${port%% *}
  ok=0; [[ $line == *" resets=0 stalls=0 mismatches=0" ]] && ok=1
  if grep -qx "$port" <<<"$p2"; then
    ((ok)) || broken=$((broken + 1))
  elif ((!ok)); then
    echo "broken connection to webpod1: $line"; bad_other=$((bad_other + 1))
  fi
done <<<"$(grep '^conn' "$E2E_OUT/long.txt")"
echo "connections to webpod2 broken: $broken of $n2; to webpod1 broken: $bad_other of $((20 - n2))"
((bad_other == 0)) || lab_fail "connections to webpod1 broke"
((broken == n2)) || lab_fail "connections to the dead webpod2 did not all break (a stale server?)"
lab_ok "only the dead backend's connections broke"

lab_spawn webpod2 webpod2-stream nfdsr-stream server --port 7000
lab_wait_listen webpod2 tcp 7000 || lab_fail "cannot restart the server in webpod2"
wait_log k8s-s 'stream2/webpod2 .* is up' 10 || lab_fail "nfdsrd did not mark webpod2 up again"
wait_log k8s-s 'health: applied; backends down: none' 5 || lab_fail "no apply after webpod2 came back"
back=$(map_backends k8s-s "$STREAM2_PORT")
echo "stream2 buckets back: $(echo $back)"
[[ $back == "$before" ]] || lab_fail "the table after recovery differs from the original"
c0=$(backend_packets k8s-s "$STREAM2_PORT" 172.16.1.20)
stream_start again 20 3 "$STREAM2_PORT"
stream_wait again
c1=$(backend_packets k8s-s "$STREAM2_PORT" 172.16.1.20)
stream_all_ok again 20 || lab_fail "connections failed after webpod2 came back"
((c1 > c0)) || lab_fail "webpod2 gets no new connections after recovery"
lab_ok "webpod2 back in the table (identical to the original); packets dispatched to it: $c0 -> $c1"
