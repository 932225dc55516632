#!/bin/bash
# Issue 8, kind 9: DSR options that arrive from outside are never trusted,
# with dispatch opt and ipip in one boot. stream1 (:31618) and stream2
# (:31621) are two service addresses bound to the same backend, webpod1:7000.
#   - a client's SYN to stream1 that already carries an option naming stream2:
#     dropped and counted by the entry node, webpod1 never sees an option;
#   - spoofed ACKs carrying established clients' addresses and ports and an
#     option naming stream2, sent to the entry node (dropped there) and
#     straight to webpod1 through k8s-w1 (an option on a later segment that
#     names another service than the flow's record: dropped there, a flow is
#     never re-pointed): the connections keep their service and echo on.
source "$NFDSR_SRC_DIR/tests/e2e/traffic_common.sh"
traffic_up
lab_exec test-pc ip route add 172.16.2.0/24 via 192.168.10.101
opt2=9a08$(printf '%02x%02x' $((31621 & 255)) $((31621 >> 8)))0a0aa8c0 # 192.168.10.10:31621, Cilium's byte order

for mode in opt ipip; do
  traffic_dispatch "$mode"
  from_client=$(ctr k8s-s opt_from_client)
  mismatch=$(ctr k8s-w1 opt_mismatch)
  created=$(ctr k8s-w1 flow_created)

  pcap=$E2E_OUT/options-$mode-webpod1.pcap
  lab_capture_start webpod1 eth0 "tcp" "$pcap"
  e2e_idle_start "idle-$mode" 192.168.10.10 31618 3
  ports=$(sed -n 's/^ready: .* ports //p' "$LAB_LOG/idle-$mode.log")

  out=$(lab_exec test-pc nfdsr-tcp-probe --timeout 3000 --ip-option "$opt2" 192.168.10.10 31618 2>&1) && rc=0 || rc=$?
  e2e_observe "$mode: SYN with a client's DSR option gets no answer (probe exit $rc: ${out:0:60})" $((rc == 1 ? 0 : 1))
  for p in $ports; do
    traffic test-pc raw-tcp 192.168.10.200 "$p" 192.168.10.10 31618 A --dsr-option 192.168.10.10:31621 >/dev/null
    traffic test-pc raw-tcp 192.168.10.200 "$p" 172.16.2.214 7000 A --dsr-option 192.168.10.10:31621 >/dev/null
  done
  # the established connections echo on, as stream1 (a re-pointed flow would
  # answer as :31621 and the client would drop it)
  e2e_idle_wake "idle-$mode"
  e2e_observe "$mode: 3 established connections unaffected by 6 spoofed segments with options" \
    "$(grep -q '^after idling: 3 of 3' "$LAB_LOG/idle-$mode.log" && echo 0 || echo 1)"
  lab_capture_stop "$pcap"
  with_opts=$(e2e_pkts "$pcap" "ip[0] & 0xf != 5" | wc -l)
  e2e_observe "$mode: webpod1 saw no packet with IP options ($with_opts)" $((with_opts == 0 ? 0 : 1))

  d_client=$(($(ctr k8s-s opt_from_client) - from_client))
  d_mismatch=$(($(ctr k8s-w1 opt_mismatch) - mismatch))
  d_created=$(($(ctr k8s-w1 flow_created) - created))
  e2e_observe "$mode: k8s-s dropped the SYN and 3 spoofed ACKs with options (opt_from_client +$d_client)" \
    $((d_client >= 4 ? 0 : 1))
  e2e_observe "$mode: k8s-w1 dropped 3 spoofed ACKs with options (opt_mismatch +$d_mismatch)" $((d_mismatch >= 3 ? 0 : 1))
  e2e_observe "$mode: k8s-w1 recorded only the 3 real connections (flow_created +$d_created)" $((d_created == 3 ? 0 : 1))
done

out=$(lab_exec test-pc curl -sS --max-time 10 http://192.168.10.10:31615/)
lab_expect_contains "$out" "Hostname: webpod1" "legitimate DSR traffic still works"
e2e_finish
