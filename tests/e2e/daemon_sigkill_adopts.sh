#!/bin/bash
# daemon_sigkill_adopts (issue 4, Config and apply): nfdsrd on k8s-s with
# 20 long-lived connections through stream2. The config is replaced by a big
# one (300 more services: a long apply) and nfdsrd is SIGKILLed right after
# SIGHUP, in the middle of that apply. The table is then exactly one of the
# two complete renderings (nftables applies a batch atomically), traffic keeps
# flowing; a restarted nfdsrd adopts and reconciles to the new config without
# breaking a connection.
source "$NFDSR_SRC_DIR/tests/e2e/health_common.sh"
health_up
running=$HEALTH_CFG_DIR/running.yaml
big=$HEALTH_CFG_DIR/big.yaml
cp "$HEALTH_CFG" "$running"
{
  cat "$HEALTH_CFG"
  for ((i = 0; i < 300; i++)); do
    printf '  - name: bulk%d\n    protocol: tcp\n    vip: 10.98.%d.%d\n    port: 80\n    backends:\n' \
      "$i" $((i / 200)) $((i % 200 + 1))
    printf '      - {name: webpod1, address: 172.16.2.214, port: 80, node: k8s-w1}\n'
    printf '      - {name: webpod2, address: 172.16.1.20, port: 80, node: k8s-w2}\n'
  done
} >"$big"
daemon_start k8s-s "$running"
old=$(table_text k8s-s)

stream_start long 20 600 "$STREAM2_PORT"
sleep 2
cp "$big" "$running"
pid=$(daemon_pid k8s-s)
kill -HUP "$pid"
# kill as soon as the new batch is built, checked by the kernel and being
# sent (the log line comes right before the sendmsg), i.e. in the middle of
# the apply
for ((i = 0; i < 1500; i++)); do
  grep -q 'committing the update of table ip nfdsr for 303 entry' "$LAB_LOG/nfdsrd-k8s-s.log" && break
  sleep 0.02
done
kill -9 "$pid"
mid=$(table_text k8s-s)
grep -E 'reload|nftables:' "$LAB_LOG/nfdsrd-k8s-s.log" | tail -n 3
out=$(lab_exec test-pc curl -sS --max-time 5 http://192.168.10.10:31615/) || lab_fail "svc1 does not answer with nfdsrd dead"
lab_expect_contains "$out" "Hostname: webpod" "svc1 answers while nfdsrd is dead"

daemon_start k8s-s "$running"
new=$(table_text k8s-s)
# the restarted daemon rewrote the table in place: its base chains (and their
# hooks) were never deleted under the 20 streams
grep -E 'nftables: table ip nfdsr (updated|replaced)' "$LAB_LOG/nfdsrd-k8s-s.log" | tail -n 1 |
  grep -q 'same table and base chains' || lab_fail "the restarted nfdsrd did not rebuild the table in place"
[[ $new != "$old" ]] || lab_fail "the big config did not change the table"
if [[ $mid == "$old" ]]; then
  lab_ok "killed before the commit: the old table, complete ($(wc -l <<<"$mid") lines)"
elif [[ $mid == "$new" ]]; then
  lab_ok "killed after the commit: the new table, complete ($(wc -l <<<"$mid") lines)"
else
  diff <(echo "$old") <(echo "$mid") | head -n 20
  lab_fail "the table after SIGKILL is neither the old nor the new rendering"
fi
lab_exec k8s-s nfdsrctl show | grep -E 'entry services|module service table' || true

stream_stop long
stream_all_ok long 20 || lab_fail "connections lost across the SIGKILL and the restart"
lab_ok "20 connections streamed across SIGKILL mid-apply and the restart: no reset, no stall"
