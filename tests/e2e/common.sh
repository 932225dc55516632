# shellcheck shell=bash
# Shared setup for the DSR end-to-end scenarios (run inside the VM by
# tests/vm/run-vm): the reference lab with nfdsr.ko loaded and the same
# config applied on every node, as an operator would do with nfdsrctl.
set -euo pipefail
source "$NFDSR_SRC_DIR/tests/lab/lab.sh"

E2E_CONFIG=${E2E_CONFIG:-$NFDSR_SRC_DIR/examples/reference-lab.yaml}
E2E_NODES=(k8s-s k8s-w1 k8s-w2)
E2E_OUT=${NFDSR_VM_OUT:-/tmp}

e2e_apply_all() { # apply the cluster config on every node (each finds itself); quiet unless it fails
  local node out
  for node in "${E2E_NODES[@]}"; do
    out=$(lab_exec "$node" nfdsrctl apply "$E2E_CONFIG" 2>&1) || { echo "$out"; lab_fail "nfdsrctl apply on $node"; }
  done
}

e2e_up() {
  trap 'e2e_down' EXIT
  lab_up
  lab_load_module || lab_fail "cannot load nfdsr.ko"
  e2e_apply_all
}

e2e_down() {
  local rc=$?
  lab_down || true
  lab_check_dmesg || rc=1
  exit $rc
}

# e2e_counter NS NAME: a module counter of that node's namespace
e2e_counter() {
  lab_exec "$1" nfdsrctl show -o json 2>/dev/null |
    sed -n "s/.*\"$2\": *\([0-9][0-9]*\).*/\1/p" | head -n1
}

# e2e_svc NS ADDRESS PORT [tcp|udp] [entry|tunnel] FIELD: one service of that
# node's nfdsr.ko service table (tests/e2e/svc_query.py: dispatch,
# maglev_size, draining, no_backend_drops, or backends: one line each
# "ADDRESS:PORT BUCKETS PACKETS ROUTE_MARK"); fails if it is not there
e2e_svc() {
  local json
  json=$(lab_exec "$1" nfdsrctl show -o json 2>/dev/null) || lab_fail "$1: nfdsrctl show -o json"
  python3 "$NFDSR_SRC_DIR/tests/e2e/svc_query.py" "${@:2}" <<<"$json"
}

# e2e_expect_counter NS NAME MIN: counter >= MIN
e2e_expect_counter() {
  local v
  v=$(e2e_counter "$1" "$2")
  [[ -n $v ]] || lab_fail "$1: no counter $2 in 'nfdsrctl show -o json'"
  ((v >= $3)) || lab_fail "$1: counter $2 is $v, expected >= $3"
  lab_ok "$1: $2 = $v"
}

# e2e_pkts FILE FILTER: packet lines of a capture (tcpdump -nn, no hex)
e2e_pkts() { tcpdump -nn -r "$1" "${@:2}" 2>/dev/null || true; }

# e2e_hex FILE FILTER: the first matching packet as one hex string (from the IP header)
e2e_hex() {
  tcpdump -nn -x -c 1 -r "$1" "${@:2}" 2>/dev/null |
    sed -n 's/^[[:space:]]*0x[0-9a-f]*:[[:space:]]*//p' | tr -d ' \n'
}

# observation bookkeeping: print PASS/FAIL per line, fail at the end
E2E_FAILED=0
e2e_observe() { # DESCRIPTION CONDITION-RESULT(0/1)
  if [[ $2 == 0 ]]; then echo "PASS $1"; else echo "FAIL $1"; E2E_FAILED=1; fi
}
e2e_finish() { ((E2E_FAILED == 0)) || lab_fail "some observations failed"; }

# e2e_idle_start NAME IP PORT N: N connections from test-pc to an echo server
# at IP:PORT (tests/e2e/traffic.py idle-conns, one echo each), then idle; back
# once all N echoed (fails the test with the log otherwise). Their client
# ports: sed -n 's/^ready: .* ports //p' "$LAB_LOG/NAME.log".
e2e_idle_start() {
  local name=$1 log=$LAB_LOG/$1.log i
  lab_spawn test-pc "$name" python3 "$NFDSR_SRC_DIR/tests/e2e/traffic.py" idle-conns "$2" "$3" "$4"
  for ((i = 0; i < 300; i++)); do grep -q '^ready' "$log" && break; sleep 0.1; done
  grep -q '^ready' "$log" || { cat "$log"; lab_fail "$name: no idle connections"; }
}

# e2e_idle_wake NAME: one more echo on each connection (SIGUSR1), waits for
# the report and prints the log indented; the last line reads "after idling:
# K of N connections echo (R reset, S stalled)".
e2e_idle_wake() {
  local log=$LAB_LOG/$1.log i
  kill -USR1 "$(cat "$LAB_RUN/$1.pid")"
  for ((i = 0; i < 600; i++)); do grep -q '^after idling' "$log" && break; sleep 0.1; done
  sed 's/^/    /' "$log"
}
