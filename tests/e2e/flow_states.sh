#!/bin/bash
# Issue 8, kinds 5, 8 and 11: the backend flow record follows the
# connection. traffic-lab.yaml: flows.max 512, tcp_close_timeout 2 s,
# tcp_timeout left at its default.
#   - kind 5: the default idle timeout keeps long-lived idle connections
#     (5 days, as conntrack's established); a half-closed connection whose
#     server answers 5 s after the client's FIN (later than
#     tcp_close_timeout) still answers as the service;
#   - kind 8: one client address and port through two service addresses
#     that share a backend: the second connection is refused and counted,
#     the first one keeps working;
#   - kind 11: 10 idle established connections survive a flood of 1,024
#     SYNs (2 x flows.max) from distinct sources, which is counted;
#   - kind 5, records gone: nfdsr.ko is unloaded and loaded again (a module
#     upgrade: every flow record is lost while the sockets live on) under 10
#     idle connections; their next request carries the option again, the
#     backend re-creates the records (flow_recovered) and every one echoes
#     as the service. Control: 10 idle connections straight to the pod
#     (plain forwarding through k8s-w1) across the same reload.
# Both dispatch modes in one boot: the record lives on the backend node.
source "$NFDSR_SRC_DIR/tests/e2e/traffic_common.sh"
traffic_up

timeout=$(lab_exec k8s-w1 nfdsrctl show -o json | sed -n 's/.*"tcp_timeout": *\([0-9]*\).*/\1/p' | head -n1)
e2e_observe "default tcp_timeout in nfdsr.ko is 432000 s (got $timeout)" $((timeout == 432000 ? 0 : 1))

lab_exec test-pc ip route add 172.16.2.0/24 via 192.168.10.101
check "control: a half-closed connection straight to the pod gets the late reply" \
  traffic test-pc half-close 172.16.2.214 7001

port=41000
for mode in opt ipip; do
  traffic_dispatch "$mode"
  check "$mode: half-closed connection, reply 5 s after the client's FIN (close timeout 2 s)" \
    traffic test-pc half-close 192.168.10.10 31619

  conflict=$(ctr k8s-w1 flow_conflict)
  check "$mode: one client port through two service addresses: the first connection keeps working" \
    traffic test-pc shared-port 192.168.10.200 $((port++)) 192.168.10.10 31618 31621 --timeout 4
  e2e_observe "$mode: the second service's SYN was counted as a conflict (flow_conflict $conflict -> $(ctr k8s-w1 flow_conflict))" \
    $(($(ctr k8s-w1 flow_conflict) > conflict ? 0 : 1))

  evicted=$(ctr k8s-w1 flow_evicted)
  est=$(ctr k8s-w1 flow_evicted_established)
  e2e_idle_start "idle-$mode" 192.168.10.10 31618 10
  flood_src=192.168.10.201; [[ $mode == ipip ]] && flood_src=192.168.10.202
  traffic test-pc syn-flood "$flood_src" 192.168.10.10 31615 1024 | sed 's/^/    /'
  # the SYNs are counted through before the connections speak again
  for ((i = 0; i < 300; i++)); do
    (($(ctr k8s-w1 flow_evicted) - evicted >= 500)) && break
    sleep 0.2
  done
  e2e_idle_wake "idle-$mode"
  e2e_observe "$mode: 10 idle established connections echo after 1,024 SYNs" \
    "$(grep -q '^after idling: 10 of 10' "$LAB_LOG/idle-$mode.log" && echo 0 || echo 1)"
  d_evicted=$(($(ctr k8s-w1 flow_evicted) - evicted))
  d_est=$(($(ctr k8s-w1 flow_evicted_established) - est))
  e2e_observe "$mode: the flood is counted (flow_evicted +$d_evicted), no established flow evicted (+$d_est)" \
    $((d_evicted >= 500 && d_est == 0 ? 0 : 1))

  e2e_idle_start "gone-$mode" 192.168.10.10 31618 10
  e2e_idle_start "gone-ctl-$mode" 172.16.2.214 7000 10
  rmmod nfdsr || lab_fail "$mode: rmmod nfdsr"
  lab_load_module || lab_fail "$mode: reload nfdsr.ko"
  e2e_apply_all
  flows=$(lab_exec k8s-w1 nfdsrctl show -o json | sed -n 's/.*"flow_count": *\([0-9]*\).*/\1/p' | head -n1)
  e2e_observe "$mode: no flow record left on k8s-w1 after the reload (${flows:-?})" $((${flows:-1} == 0 ? 0 : 1))
  e2e_idle_wake "gone-$mode"
  e2e_idle_wake "gone-ctl-$mode"
  e2e_observe "$mode: control: 10 idle connections straight to the pod echo after the reload" \
    "$(grep -q '^after idling: 10 of 10' "$LAB_LOG/gone-ctl-$mode.log" && echo 0 || echo 1)"
  e2e_observe "$mode: 10 idle connections whose records were lost echo as the service" \
    "$(grep -q '^after idling: 10 of 10' "$LAB_LOG/gone-$mode.log" && echo 0 || echo 1)"
  e2e_observe "$mode: their records were re-created (flow_recovered $(ctr k8s-w1 flow_recovered))" \
    $(($(ctr k8s-w1 flow_recovered) >= 10 ? 0 : 1))
done
e2e_finish
