#!/bin/bash
# nfdsr.ko unloads and reloads cleanly while DSR traffic flows (TCP and UDP),
# three times; after each reload and re-apply the service works again, and
# the kernel log stays clean (checked on exit).
source "$NFDSR_SRC_DIR/tests/e2e/common.sh"
e2e_up

stop=$LAB_RUN/traffic.stop
traffic() {
  while [[ ! -e $stop ]]; do
    lab_exec test-pc curl -sS --max-time 2 -o /dev/null http://192.168.10.10:31615/ 2>/dev/null || true
    lab_exec test-pc nfdsr-udp-probe --timeout 300 --size 100 192.168.10.10 31616 >/dev/null 2>&1 || true
  done
}
traffic & tpid=$!
traffic & tpid2=$!
sleep 2
for round in 1 2 3; do
  rmmod nfdsr || lab_fail "rmmod under traffic (round $round)"
  [[ ! -d /sys/module/nfdsr ]] || lab_fail "module still present after rmmod"
  sleep 1
  lab_load_module || lab_fail "reload (round $round)"
  e2e_apply_all
  sleep 1
  out=$(lab_exec test-pc curl -sS --max-time 10 http://192.168.10.10:31615/)
  lab_expect_contains "$out" "Hostname: webpod1" "service works after reload $round"
done
touch "$stop"
wait "$tpid" "$tpid2" || true
e2e_expect_counter k8s-w1 reply_rewritten 1

# `nfdsrctl flush` takes the module's hooks out of the namespace (a flushed
# node pays nothing, as one never configured); the next apply brings them back.
hooks() { lab_exec "$1" nfdsrctl show -o json | sed -n 's/.*"hooks": \([a-z]*\).*/\1/p'; }
[[ $(hooks k8s-w1) == true ]] || lab_fail "hooks not registered on a configured node"
lab_exec k8s-w1 nfdsrctl flush >/dev/null || lab_fail "nfdsrctl flush"
[[ $(hooks k8s-w1) == false ]] || lab_fail "nfdsr hooks left registered after flush"
e2e_apply_all
[[ $(hooks k8s-w1) == true ]] || lab_fail "hooks not back after apply"
out=$(lab_exec test-pc curl -sS --max-time 10 http://192.168.10.10:31615/)
lab_expect_contains "$out" "Hostname: webpod1" "service works after flush + apply"
lab_ok "flush unregisters the module's hooks, apply registers them again"
