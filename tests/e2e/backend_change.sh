#!/bin/bash
# Issue 8, kind 6: backend changes. 20 idle connections to stream1 over
# webpod1 and webpod2; then webpod2 is set to weight 0 (dispatch opt) or
# removed (dispatch ipip) on the entry node. Connections Maglev moves to
# webpod1 must end promptly with a reset from the service address (webpod1
# answers segments of connections it does not know with a RST, which
# k8s-w1 sends as the service), never stall; the others echo on. (IPVS-TUN
# does the same: its real servers own the VIP, so their resets come from it.)
# The moved connections' requests carry the DSR option (entry nodes attach
# it to every segment but bulk data): k8s-w1 makes a record for each
# (flow_recovered) and the RST leaves through it. A bulk-data segment (no
# PSH: no option) of a moved connection, sent by hand first, has no record:
# its RST leaves as the service through rst_unrecorded.
source "$NFDSR_SRC_DIR/tests/e2e/common.sh"
modprobe ipip || lab_fail "cannot load the ipip module"
TRAFFIC_PY=$NFDSR_SRC_DIR/tests/e2e/traffic.py
cfg_dir=$E2E_OUT/configs
mkdir -p "$cfg_dir"
for m in opt ipip; do
  sed "s/^dispatch: .*/dispatch: $m/" "$NFDSR_SRC_DIR/tests/e2e/configs/change-lab.yaml" >"$cfg_dir/$m.yaml"
done
sed 's/port: 7000, node: k8s-w2}/port: 7000, node: k8s-w2, weight: 0}/' "$cfg_dir/opt.yaml" >"$cfg_dir/opt-weight0.yaml"
grep -v 'name: webpod2' "$cfg_dir/ipip.yaml" >"$cfg_dir/ipip-removed.yaml"
E2E_CONFIG=$cfg_dir/opt.yaml

trap 'e2e_down' EXIT
lab_up
lab_add_pod webpod2 172.16.1.20 k8s-w2 || lab_fail "cannot add webpod2"
lab_load_module || lab_fail "cannot load nfdsr.ko"
for pod in webpod1 webpod2; do
  lab_spawn "$pod" "$pod-echo" nfdsr-stream server --port 7000
  lab_wait_listen "$pod" tcp 7000 || lab_fail "no echo server in $pod"
done

# ports_in POD PORT...: which of these client ports of test-pc
# (192.168.10.200 = C80AA8C0 in /proc/net/tcp) have an established connection
# on :7000 (0x1B58) in POD (earlier rounds' connections may linger there)
ports_in() {
  local pod=$1 p want=""; shift
  for p in "$@"; do want+=" C80AA8C0:$(printf '%04X' "$p")"; done
  lab_exec "$pod" cat /proc/net/tcp |
    awk -v want="$want " '$2 ~ /:1B58$/ && $4 == "01" && index(want, " " $3 " ") { split($3, a, ":"); print a[2] }' |
    while read -r hex; do echo $((16#$hex)); done
}

# established_in POD PORT...: how many of them
established_in() { ports_in "$@" | wc -l; }

for round in opt:weight0 ipip:removed; do
  mode=${round%%:*} change=${round#*:}
  E2E_CONFIG=$cfg_dir/$mode.yaml
  e2e_apply_all
  echo "== dispatch $mode, webpod2 $change"
  rst=$(e2e_counter k8s-w1 rst_unrecorded); rst=${rst:-0}
  rec=$(e2e_counter k8s-w1 flow_recovered); rec=${rec:-0}
  e2e_idle_start "idle-$mode" 192.168.10.10 31618 20
  ports=$(sed -n 's/^ready: .* ports //p' "$LAB_LOG/idle-$mode.log")
  # shellcheck disable=SC2086
  moved=$(established_in webpod2 $ports)
  # shellcheck disable=SC2086
  echo "    connections on webpod1: $(established_in webpod1 $ports), on webpod2: $moved"
  # shellcheck disable=SC2086
  first_moved=$(ports_in webpod2 $ports | sed -n 1p) # sed reads all: no SIGPIPE under pipefail
  out=$(lab_exec k8s-s nfdsrctl apply "$cfg_dir/$mode-$change.yaml" 2>&1) || { echo "$out"; lab_fail "apply $change"; }
  if [[ -n $first_moved ]]; then
    lab_exec test-pc python3 "$TRAFFIC_PY" raw-tcp 192.168.10.200 "$first_moved" 192.168.10.10 31618 A \
      --payload 100 | sed 's/^/    /'
    for ((i = 0; i < 50; i++)); do
      (($(e2e_counter k8s-w1 rst_unrecorded) > rst)) && break
      sleep 0.1
    done
  fi
  e2e_idle_wake "idle-$mode"
  summary=$(grep '^after idling' "$LAB_LOG/idle-$mode.log")
  e2e_observe "$mode, webpod2 $change: the $moved moved connections were reset, none stalled ($summary)" \
    "$([[ $summary == "after idling: $((20 - moved)) of 20 connections echo ($moved reset, 0 stalled)" ]] && echo 0 || echo 1)"
  d_rst=$(e2e_counter k8s-w1 rst_unrecorded); d_rst=$((${d_rst:-0} - rst))
  d_rec=$(e2e_counter k8s-w1 flow_recovered); d_rec=$((${d_rec:-0} - rec))
  e2e_observe "$mode: a moved connection's bulk-data segment: webpod1's RST sent as the service (rst_unrecorded +$d_rst)" \
    $(((moved == 0 || d_rst >= 1) ? 0 : 1))
  e2e_observe "$mode: the moved connections' requests carried the option: records re-created for webpod1's resets (flow_recovered +$d_rec)" \
    $(((moved == 0 || d_rec >= moved - 1) ? 0 : 1))
  E2E_CONFIG=$cfg_dir/$mode.yaml
  e2e_apply_all # webpod2 back for the next round
done
e2e_finish
