#!/bin/bash
# reload_keeps_connections (issue 4, Config and apply): nfdsrd on k8s-s,
# 20 long-lived connections through stream2 (webpod1 + webpod2). SIGHUP with
# a config that adds an unrelated service: the service appears as an update
# of the table (only what changed: stream2's chains keep their rules, rule
# handles and packet counters), no connection is reset or stalls. SIGHUP with
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
be1=svc_stream2_tcp_${STREAM2_PORT}_be_webpod1
# rule handles of stream2's chains: the same only if the rules were not re-created
handles() { lab_exec k8s-s nft -a list table ip nfdsr | awk '/^\tchain /{c=$2} /# handle/ && c ~ /^svc_stream2/ {print c, $NF}' | tr '\n' ' '; }
packets() { lab_exec k8s-s nft list chain ip nfdsr "$be1" | grep -o 'packets [0-9]*' | awk '{s+=$2} END {print s+0}'; }
h0=$(handles)
p0=$(packets)
echo "stream2 rule handles: $h0; packets to webpod1 so far: $p0"
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
lab_exec k8s-s nft list chain ip nfdsr svc_extra_tcp_8080 >/dev/null || lab_fail "service extra not installed"
line=$(grep -E 'nftables: table ip nfdsr (updated|replaced)' "$LAB_LOG/nfdsrd-k8s-s.log" | tail -n 1)
echo "${line##*] }"
[[ $line == *"updated"* ]] || lab_fail "the reload replaced the whole table instead of updating it"
h1=$(handles)
p1=$(packets)
[[ $h1 == "$h0" ]] || lab_fail "stream2's rules were re-created by the reload ($h0 -> $h1)"
((p1 >= p0)) || lab_fail "webpod1's packet counter restarted ($p0 -> $p1)"
lab_ok "reload added service extra as an update: stream2's rules untouched, counter kept ($p0 -> $p1 packets)"

# the live dispatch switch goes through the daemon (it alone writes the table)
out=$(lab_exec k8s-s nfdsrctl dispatch set ipip 2>&1) || { echo "$out"; lab_fail "dispatch set ipip"; }
echo "$out"
[[ $out == *"applied by nfdsrd (pid $pid)"* ]] || lab_fail "dispatch set did not go through the running nfdsrd"
set_has() { [[ $(lab_exec k8s-s nft list set ip nfdsr "$1") == *"tcp . $STREAM2_PORT"* ]]; }
set_has ipip_xlate_services || { lab_exec k8s-s nft list set ip nfdsr ipip_xlate_services; lab_fail "stream2 is not dispatched by ipip after dispatch set"; }
! set_has opt_services || lab_fail "stream2 still in opt_services after dispatch set ipip"
line=$(grep -E 'nftables: table ip nfdsr (updated|replaced)' "$LAB_LOG/nfdsrd-k8s-s.log" | tail -n 1)
[[ $line == *"updated"* ]] || lab_fail "the dispatch switch replaced the whole table"
status=$(lab_exec k8s-s nfdsrctl status)
grep -E '^service stream2 .* dispatch ipip' <<<"$status" || lab_fail "status does not show stream2 on ipip"
sleep 1
out=$(lab_exec k8s-s nfdsrctl dispatch clear 2>&1) || { echo "$out"; lab_fail "dispatch clear"; }
set_has opt_services || lab_fail "stream2 is not back on opt after dispatch clear"
h2=$(handles) # the switch rewrote stream2's backend chains (route marks); the next reload must not
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
! lab_exec k8s-s nft list chain ip nfdsr svc_extra_tcp_8080 >/dev/null 2>&1 || lab_fail "service extra still installed"
line=$(grep -E 'nftables: table ip nfdsr (updated|replaced)' "$LAB_LOG/nfdsrd-k8s-s.log" | tail -n 1)
[[ $line == *"updated"* ]] || lab_fail "removing a service replaced the whole table"
[[ $(handles) == "$h2" ]] || lab_fail "stream2's rules were re-created by the second reload"
lab_ok "reload removed service extra as an update; stream2 untouched"

stream_stop long
stream_all_ok long 20 || lab_fail "connections lost across reloads"
lab_ok "20 connections streamed across both reloads: no reset, no stall, every byte back"
