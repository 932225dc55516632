#!/bin/bash
# reload_keeps_connections (issue 4, Config and apply): nfdsrd on k8s-s,
# 20 long-lived connections through stream2 (webpod1 + webpod2). SIGHUP with
# a config that adds an unrelated service: the service appears, no
# connection is reset or stalls. SIGHUP with a broken config: the daemon
# logs it, keeps running, and the ruleset is unchanged byte for byte.
source "$NFDSR_SRC_DIR/tests/e2e/health_common.sh"
health_up
running=$HEALTH_CFG_DIR/running.yaml
cp "$HEALTH_CFG" "$running"
daemon_start k8s-s "$running"
pid=$(daemon_pid k8s-s)

stream_start long 20 12 "$STREAM2_PORT"
sleep 2
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
lab_ok "reload added service extra"
sleep 2

good=$(table_text k8s-s)
echo "services: [oops" >>"$running"
kill -HUP "$pid"
wait_log k8s-s 'reload failed; keeping the running configuration' 10 || lab_fail "broken config not reported"
grep -A3 'invalid config' "$LAB_LOG/nfdsrd-k8s-s.log" | head -n 4
kill -0 "$pid" || lab_fail "nfdsrd died on a broken config"
[[ $(table_text k8s-s) == "$good" ]] || lab_fail "the ruleset changed after a broken reload"
lab_ok "broken config: logged, daemon running, ruleset unchanged byte for byte"

stream_wait long
stream_all_ok long 20 || lab_fail "connections lost across reloads"
lab_ok "20 connections streamed across both reloads: no reset, no stall, every byte back"
