# shellcheck shell=bash
# Real-traffic scenarios (issue 8): tests/e2e/configs/traffic-lab.yaml in both
# dispatch modes (generated with sed), the ipip module so tunl0 exists, the
# servers behind the services, and tests/e2e/traffic.py for the traffic the
# lab tools do not make (fragments, hand-made segments, half-close, floods).
TRAFFIC_BASE=$NFDSR_SRC_DIR/tests/e2e/configs/traffic-lab.yaml
TRAFFIC_CFG_DIR=${NFDSR_VM_OUT:-/tmp}/configs
mkdir -p "$TRAFFIC_CFG_DIR"
for m in opt ipip; do
  sed "s/^dispatch: .*/dispatch: $m/" "$TRAFFIC_BASE" >"$TRAFFIC_CFG_DIR/traffic-$m.yaml"
done
E2E_CONFIG=$TRAFFIC_CFG_DIR/traffic-opt.yaml
source "$NFDSR_SRC_DIR/tests/e2e/common.sh"
modprobe ipip || lab_fail "cannot load the ipip module"
TRAFFIC_PY=$NFDSR_SRC_DIR/tests/e2e/traffic.py

# traffic_up: the lab, nfdsr.ko, dispatch opt on every node, the servers
traffic_up() {
  e2e_up
  lab_spawn webpod1 webpod1-echo nfdsr-stream server --port 7000
  lab_spawn webpod1 webpod1-late python3 "$TRAFFIC_PY" late-server 7001 5
  lab_spawn webpod1 webpod1-uecho nfdsr-stream server --udp --port 7003
  lab_wait_listen webpod1 tcp 7000 && lab_wait_listen webpod1 tcp 7001 && lab_wait_listen webpod1 udp 7003 ||
    lab_fail "servers in webpod1"
}

# traffic_dispatch opt|ipip: apply that dispatch on every node
traffic_dispatch() {
  E2E_CONFIG=$TRAFFIC_CFG_DIR/traffic-$1.yaml
  e2e_apply_all
  echo "== dispatch $1"
}

# traffic NS CMD ARGS...: run tests/e2e/traffic.py in NS, print its line, return its status
traffic() { local ns=$1; shift; lab_exec "$ns" python3 "$TRAFFIC_PY" "$@"; }

# check NAME CMD...: one named sub-check: PASS/FAIL line, failure recorded (e2e_finish)
check() {
  local name=$1 out rc=0; shift
  out=$("$@" 2>&1) || rc=1
  [[ -n $out ]] && sed 's/^/    /' <<<"$out"
  e2e_observe "$name" "$rc"
}

# ctr NS NAME: a module counter, 0 when the module has no such counter (an
# older nfdsr.ko: the scenario then reports what fails instead of stopping)
ctr() { local v; v=$(e2e_counter "$1" "$2"); echo "${v:-0}"; }
