# shellcheck shell=bash
# nfdsrd scenarios: tests/e2e/configs/health-lab.yaml (svc1 + stream2 over
# webpod1 and webpod2 with health checks, local1 local_only), the lab plus
# webpod2 (172.16.1.20 on k8s-w2), nfdctl apply on every node, nfdsr-stream
# echo servers on :7000 in both pods, and nfdsrd started by the test.
HEALTH_CFG_DIR=${NFDSR_VM_OUT:-/tmp}/configs
HEALTH_CFG=$HEALTH_CFG_DIR/health.yaml
mkdir -p "$HEALTH_CFG_DIR"
cp "$NFDSR_SRC_DIR/tests/e2e/configs/health-lab.yaml" "$HEALTH_CFG"
E2E_CONFIG=$HEALTH_CFG
source "$NFDSR_SRC_DIR/tests/e2e/common.sh"
STREAM2_PORT=31620

health_up() {
  trap 'e2e_down' EXIT
  lab_up
  lab_add_pod webpod2 172.16.1.20 k8s-w2 || lab_fail "cannot add webpod2"
  lab_load_module || lab_fail "cannot load nfdsr.ko"
  e2e_apply_all
  local pod
  for pod in webpod1 webpod2; do
    lab_spawn "$pod" "$pod-stream" nfdsr-stream server --port 7000
    lab_wait_listen "$pod" tcp 7000 || lab_fail "no nfdsr-stream server in $pod"
  done
}

# daemon_start NODE [CONFIG]: nfdsrd in NODE's namespace, until its first apply
daemon_start() {
  local node=$1 cfg=${2:-$HEALTH_CFG} log=$LAB_LOG/nfdsrd-$1.log i
  [[ -f $log ]] && cat "$log" >>"$log.old"
  lab_spawn "$node" "nfdsrd-$node" nfdsrd --config "$cfg" --node "$node"
  for ((i = 0; i < 300; i++)); do
    grep -q 'start: applied' "$log" 2>/dev/null && return 0
    kill -0 "$(cat "$LAB_RUN/nfdsrd-$node.pid")" 2>/dev/null || { cat "$log"; lab_fail "nfdsrd on $node exited"; }
    sleep 0.1
  done
  cat "$log"
  lab_fail "nfdsrd on $node did not apply within 30 s"
}
daemon_pid() { cat "$LAB_RUN/nfdsrd-$1.pid"; }

# wait_log NODE PATTERN [SECONDS]: until nfdsrd's log on NODE has PATTERN (grep -E)
wait_log() {
  local log=$LAB_LOG/nfdsrd-$1.log i
  for ((i = 0; i < ${3:-15} * 10; i++)); do
    grep -Eq "$2" "$log" 2>/dev/null && return 0
    sleep 0.1
  done
  tail -n 20 "$log"
  return 1
}

# lab pod addresses -> names (tests/e2e/configs/health-lab.yaml)
declare -gA POD_NAME=([172.16.0.10]=webpod0 [172.16.2.214]=webpod1 [172.16.1.20]=webpod2)

# map_backends NODE PORT: "backend buckets" lines of the Maglev table nfdsr.ko
# holds for the NodePort PORT at NODE's address (backends with buckets only)
map_backends() {
  local lines addr buckets rest
  lines=$(e2e_svc "$1" "${LAB_NODE_IP[$1]}" "$2" backends) || lab_fail "$1: no service :$2 in nfdsr.ko"
  while read -r addr buckets rest; do
    if ((buckets > 0)); then echo "${POD_NAME[${addr%:*}]:-${addr%:*}} $buckets"; fi
  done <<<"$lines" | sort
}

# backend_packets NODE PORT POD: packets nfdsr.ko dispatched to POD for that service
backend_packets() {
  e2e_svc "$1" "${LAB_NODE_IP[$1]}" "$2" backends | awk -v a="$3" 'index($1, a ":") == 1 {print $3}'
}

# table_text NODE: the ruleset without counters (stateless listing)
# table_text NODE: the table's content in canonical order (a table rebuilt in
# place lists its objects in another order than a fresh one)
table_text() { lab_exec "$1" nft -s list table ip nfdsr | python3 "$NFDSR_SRC_DIR/tests/host/nft_canon.py"; }

# stream_start NAME CONNS SECONDS PORT: nfdsr-stream client in test-pc, result in $E2E_OUT/NAME.txt
stream_start() {
  local name=$1 res=$E2E_OUT/$1.txt i
  rm -f "$res"
  lab_spawn test-pc "$name" sh -c "exec nfdsr-stream client --label $name --conns $2 --duration $3 \
    --rate 4096 --stall 5 192.168.10.10 $4 >'$res'"
  for ((i = 0; i < 100; i++)); do
    grep -q 'streaming' "$LAB_LOG/$name.log" 2>/dev/null && return 0
    sleep 0.1
  done
  cat "$LAB_LOG/$name.log"
  lab_fail "stream client $name did not connect"
}

# stream_wait NAME: until that client exits; prints its total line
stream_wait() {
  local pid i
  pid=$(cat "$LAB_RUN/$1.pid")
  for ((i = 0; i < 900; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && lab_fail "stream client $1 still running"
  grep '^total:' "$E2E_OUT/$1.txt" || lab_fail "no result from stream client $1"
}

# stream_stop NAME: end a client started for longer than the test needs
# (SIGUSR1: it stops sending, reads what is still coming, reports). Fails if
# it had ended on its own: the events of the test would have happened after
# it (TCG guests are slow; a fixed duration left no margin).
stream_stop() {
  local pid
  pid=$(cat "$LAB_RUN/$1.pid")
  kill -0 "$pid" 2>/dev/null || lab_fail "stream client $1 ended before the test was done with it"
  kill -USR1 "$pid"
  stream_wait "$1"
}

# stream_all_ok NAME N: every one of its N connections ok
stream_all_ok() {
  local total
  total=$(grep '^total:' "$E2E_OUT/$1.txt")
  grep '^conn' "$E2E_OUT/$1.txt" | grep -v ' resets=0 stalls=0 mismatches=0$' || true
  [[ $total == *" conns=$2 ok=$2 "* && $total == *" resets=0 stalls=0 mismatches=0 short=0"* ]]
}

# peers POD PORT: client ports of the established connections from test-pc
# to PORT in POD (not nfdsrd's own TCP health checks from the entry node,
# which are established for a moment every interval)
peers() {
  # /proc/net/tcp, not ss: ss's sock_diag answers were seen empty in the VM's
  # pod namespaces while connections were up (module autoload under load).
  # It is read a page at a time, resuming by position: a socket coming or
  # going between two pages (a health check) can repeat or skip a line, so
  # read until two readings agree.
  local a b i
  a=$(_peers_once "$@")
  for ((i = 0; i < 20; i++)); do
    b=$(_peers_once "$@")
    [[ $a == "$b" ]] && break
    a=$b
  done
  echo "$a"
}
_peers_once() {
  local hex client
  client=$(printf '%02X' $(tr . ' ' <<<"${LAB_NODE_IP[test-pc]}" | awk '{print $4, $3, $2, $1}'))
  lab_exec "$1" cat /proc/net/tcp | awk -v port="$(printf '%04X' "$2")" -v client="$client" '
    NR > 1 && $4 == "01" { split($2, l, ":"); split($3, r, ":"); if (l[2] == port && r[1] == client) print r[2] }' |
    while read -r hex; do echo $((16#$hex)); done | sort -nu
}
