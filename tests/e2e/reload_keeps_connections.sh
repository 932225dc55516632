#!/bin/bash
# reload_keeps_connections (issue 4, Config and apply): nfdsrd on k8s-s,
# 20 long-lived connections through stream2 (webpod1 + webpod2). SIGHUP with
# a config that adds an unrelated service: the service appears as an update
# (nftables: its elements; nfdsr.ko: that one service; stream2's service and
# its packet counters untouched), no connection is reset or stalls. SIGHUP with
# a broken config: the daemon logs it, keeps running, and the ruleset is
# unchanged byte for byte. SIGHUP removing the extra service: an update again.
# `nfdsrctl dispatch set ipip` / `clear` with the daemon running: nfdsrd
# applies the switch (as updates), under the same streams.
source "$NFDSR_SRC_DIR/tests/e2e/health_common.sh"
modprobe ipip || lab_fail "cannot load the ipip module" # tunl0 everywhere, for the live dispatch switch
health_up
running=$HEALTH_CFG_DIR/running.yaml
cp "$HEALTH_CFG" "$running"
daemon_start k8s-s "$running"
pid=$(daemon_pid k8s-s)

stream_start long 20 600 "$STREAM2_PORT"
sleep 2
wait_log k8s-s 'nftables: table ip nfdsr replaced' 1 || lab_fail "the first apply should replace the table"
packets() { backend_packets k8s-s "$STREAM2_PORT" 172.16.2.214; }
# what the last apply sent nfdsr.ko: "nfdsr.ko: N of M services set (new or changed)"
module_sent() { grep -E 'nfdsr.ko: [0-9]+ of [0-9]+ services set' "$LAB_LOG/nfdsrd-k8s-s.log" | tail -n 1; }
dispatch_of() { e2e_svc k8s-s 192.168.10.10 "$STREAM2_PORT" dispatch; }
p0=$(packets)
echo "packets to webpod1 so far: $p0"
((p0 > 0)) || lab_fail "no packets counted for webpod1 before the reload"
{
  cat "$HEALTH_CFG"
  cat <<'Y'
  - name: extra
    protocol: tcp
    vip: 10.99.0.1
    port: 8080
    backends:
      - {name: webpod1, address: 172.16.2.214, port: 8080, node: k8s-w1}
Y
} >"$running.new"
mv "$running.new" "$running"
kill -HUP "$pid"
wait_log k8s-s 'reload: applied' 10 || lab_fail "reload with the extra service not applied"
e2e_svc k8s-s 10.99.0.1 8080 dispatch >/dev/null || lab_fail "service extra not installed"
line=$(grep -E 'nftables: table ip nfdsr (updated|replaced)' "$LAB_LOG/nfdsrd-k8s-s.log" | tail -n 1)
echo "${line##*] }"
[[ $line == *"updated"* ]] || lab_fail "the reload replaced the whole table instead of updating it"
sent=$(module_sent)
echo "${sent##*] }"
[[ $sent == *"nfdsr.ko: 1 of "* ]] || lab_fail "the reload sent nfdsr.ko more than the new service"
p1=$(packets)
((p1 >= p0)) || lab_fail "webpod1's packet counter restarted ($p0 -> $p1)"
lab_ok "reload added service extra as an update: nfdsr.ko got that service only, stream2's counter kept ($p0 -> $p1 packets)"

# the live dispatch switch goes through the daemon (it alone writes the table)
out=$(lab_exec k8s-s nfdsrctl dispatch set ipip 2>&1) || { echo "$out"; lab_fail "dispatch set ipip"; }
echo "$out"
[[ $out == *"applied by nfdsrd (pid $pid)"* ]] || lab_fail "dispatch set did not go through the running nfdsrd"
d=$(dispatch_of)
[[ $d == ipip ]] || lab_fail "stream2 is dispatched by '$d' in nfdsr.ko after dispatch set ipip"
line=$(grep -E 'nftables: table ip nfdsr (updated|replaced)' "$LAB_LOG/nfdsrd-k8s-s.log" | tail -n 1)
[[ $line == *"updated"* ]] || lab_fail "the dispatch switch replaced the whole table"
status=$(lab_exec k8s-s nfdsrctl status)
grep -E '^service stream2 .* dispatch ipip' <<<"$status" || lab_fail "status does not show stream2 on ipip"
sleep 1
out=$(lab_exec k8s-s nfdsrctl dispatch clear 2>&1) || { echo "$out"; lab_fail "dispatch clear"; }
d=$(dispatch_of)
[[ $d == opt ]] || lab_fail "stream2 is dispatched by '$d' in nfdsr.ko after dispatch clear"
lab_ok "dispatch set ipip / clear applied by nfdsrd as updates, under the 20 streams"
sleep 1

good=$(table_text k8s-s)
echo "services: [oops" >>"$running"
kill -HUP "$pid"
wait_log k8s-s 'reload failed; keeping the running configuration' 10 || lab_fail "broken config not reported"
grep -A3 'invalid config' "$LAB_LOG/nfdsrd-k8s-s.log" | head -n 4
kill -0 "$pid" || lab_fail "nfdsrd died on a broken config"
[[ $(table_text k8s-s) == "$good" ]] || lab_fail "the ruleset changed after a broken reload"
lab_ok "broken config: logged, daemon running, ruleset unchanged byte for byte"

cp "$HEALTH_CFG" "$running"
kill -HUP "$pid"
for _ in $(seq 50); do
  (($(grep -c 'reload: applied' "$LAB_LOG/nfdsrd-k8s-s.log") >= 2)) && break
  sleep 0.2
done
(($(grep -c 'reload: applied' "$LAB_LOG/nfdsrd-k8s-s.log") >= 2)) || lab_fail "reload without the extra service not applied"
! e2e_svc k8s-s 10.99.0.1 8080 dispatch >/dev/null 2>&1 || lab_fail "service extra still installed"
line=$(grep -E 'nftables: table ip nfdsr (updated|replaced)' "$LAB_LOG/nfdsrd-k8s-s.log" | tail -n 1)
[[ $line == *"updated"* ]] || lab_fail "removing a service replaced the whole table"
grep -q 'nfdsr.ko: 1 services removed' "$LAB_LOG/nfdsrd-k8s-s.log" || lab_fail "nfdsr.ko: service extra not removed"
[[ $(module_sent) == *"nfdsr.ko: 0 of "* ]] || lab_fail "the second reload re-sent unchanged services to nfdsr.ko"
lab_ok "reload removed service extra as an update; stream2 untouched"

stream_stop long
stream_all_ok long 20 || lab_fail "connections lost across reloads"
lab_ok "20 connections streamed across both reloads: no reset, no stall, every byte back"
