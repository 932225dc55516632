#!/bin/bash
# drain_keeps_connections (issue 4, Health: weights and drain): nfdsrd on
# k8s-s, 20 long-lived connections through stream2 (webpod1 + webpod2).
# A reload sets `drain: true` on webpod2: it leaves the Maglev table for new
# connections (an update of the table, not a replacement), new connections
# all go to webpod1 and work, including those whose bucket the drain moved
# (k8s-s remembers them by their SYN), and every connection to webpod2 from
# before the drain streams on to the end: no reset, no stall. Control: with
# `weight: 0` instead of a drain, the connections to webpod2 do break (the
# stateless hard cut docs/config.md describes), so the first check can fail.
source "$NFDSR_SRC_DIR/tests/e2e/health_common.sh"
health_up
running=$HEALTH_CFG_DIR/running.yaml
cp "$HEALTH_CFG" "$running"
daemon_start k8s-s "$running"
pid=$(daemon_pid k8s-s)
# open_flows: webpod2's open stream2 flows in nfdsr.ko on k8s-w2 (nfdsrctl status)
open_flows() {
  lab_exec k8s-w2 nfdsrctl status --config "$running" -o json | python3 -c '
import json, sys
print(sum(b["open"] for b in json.load(sys.stdin)["backend_flows"]
          if b["binding"].startswith("stream2 ") and " -> webpod2 " in b["binding"]))'
}
pkts() { backend_packets k8s-s "$STREAM2_PORT" 172.16.1.20; } # packets nfdsr.ko on k8s-s sent webpod2
webpod2_line='name: webpod2, address: 172.16.1.20, port: 7000, node: k8s-w2'
# reload_with SED_EXPR WHAT: running config = health config with webpod2's stream2 line edited
applied() { grep -c 'reload: applied' "$LAB_LOG/nfdsrd-k8s-s.log" || true; }
reload_with() {
  local n i
  n=$(applied)
  sed "s/\($webpod2_line\)}/\1$1}/" "$HEALTH_CFG" >"$running.new"
  mv "$running.new" "$running"
  kill -HUP "$pid"
  for ((i = 0; i < 100; i++)); do
    (($(applied) > n)) && break
    sleep 0.1
  done
  (($(applied) > n)) || lab_fail "reload ($2) not applied"
  grep -E 'nftables: table ip nfdsr (updated|replaced)' "$LAB_LOG/nfdsrd-k8s-s.log" | tail -n 1 | grep -q updated ||
    lab_fail "the reload ($2) replaced the table instead of updating it"
}

stream_start long 20 600 "$STREAM2_PORT"
sleep 2
p2=$(peers webpod2 7000)
n1=$(peers webpod1 7000 | wc -w) n2=$(wc -w <<<"$p2")
echo "connections: webpod1 $n1, webpod2 $n2"
((n1 + n2 == 20 && n2 > 0)) || lab_fail "expected 20 connections, some to webpod2"

reload_with ", drain: true" "drain webpod2"
lab_ok "drain applied by a reload, as an update of the table"
c0=$(pkts)
sleep 2
c1=$(pkts)
((c1 > c0)) || lab_fail "no packets went to the draining webpod2 while its connections streamed ($c0 -> $c1)"
lab_ok "the draining webpod2 still gets its connections' packets ($c0 -> $c1 dispatched to it)"
w2=$(open_flows)
((w2 == n2)) || lab_fail "k8s-w2 reports $w2 open flows to webpod2, expected its $n2 connections"
lab_ok "k8s-w2 (nfdsrctl status): $w2 open flows to the draining webpod2"
after=$(map_backends k8s-s "$STREAM2_PORT")
echo "stream2 buckets for new connections: $(echo $after)"
[[ $after == *webpod1* && $after != *webpod2* ]] || lab_fail "webpod2 still has buckets for new connections"
[[ $(e2e_svc k8s-s 192.168.10.10 "$STREAM2_PORT" draining) == true ]] ||
  lab_fail "nfdsr.ko has no table for the connections from before the drain"
lab_exec k8s-s nfdsrctl status --config "$running" | grep -E 'BACKEND|webpod2 .*drain' || lab_fail "status does not show the drain"

# new connections: all to webpod1 (webpod2 gets none), all complete
r0=$(e2e_counter k8s-s drain_flow_added)
stream_start fresh 20 600 "$STREAM2_PORT"
sleep 1.5
new2=0
for port in $(peers webpod2 7000); do grep -qx "$port" <<<"$p2" || new2=$((new2 + 1)); done
((new2 == 0)) || lab_fail "webpod2 got $new2 new connections while draining"
fresh_on_w1=$(( $(peers webpod1 7000 | wc -w) - n1 ))
((fresh_on_w1 == 20)) || lab_fail "expected the 20 new connections on webpod1, found $fresh_on_w1 more there"
stream_stop fresh
stream_all_ok fresh 20 || lab_fail "new connections failed during the drain"
remembered=$(($(e2e_counter k8s-s drain_flow_added) - r0))
echo "new connections in buckets the drain moved, remembered by k8s-s: $remembered of 20"
((remembered > 0)) || lab_fail "no new connection was remembered (expected about half of 20 in moved buckets)"
lab_ok "20 new connections, none to webpod2, all complete ($remembered kept on webpod1 by the entry node's memory)"

stream_stop long
stream_all_ok long 20 || lab_fail "connections broke while webpod2 drained"
lab_ok "all 20 connections from before the drain streamed to the end ($n2 of them on the draining webpod2)"
w2=$(open_flows)
((w2 == 0)) || lab_fail "k8s-w2 still reports $w2 open flows to webpod2 after its connections closed"
lab_ok "k8s-w2 (nfdsrctl status): 0 open flows to webpod2: the drain is complete"

# control: weight 0 is a hard cut (no table for established connections)
reload_with "" "webpod2 back"
stream_start control 20 600 "$STREAM2_PORT"
sleep 2
p2=$(peers webpod2 7000)
n2=$(wc -w <<<"$p2")
((n2 > 0)) || lab_fail "webpod2 got no connections after the drain ended"
reload_with ", weight: 0" "weight 0"
stream_stop control
broken=$(grep '^conn' "$E2E_OUT/control.txt" | grep -vc ' resets=0 stalls=0 mismatches=0$' || true)
echo "control (weight 0, no drain): $broken connections broke; $n2 were on webpod2"
((broken > 0)) || lab_fail "control: taking webpod2 out with weight 0 broke nothing: the drain check above proves nothing"
lab_ok "control: weight 0 instead of drain broke $broken connections"
