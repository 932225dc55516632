# shellcheck shell=bash
# nfdsr lab: the BRIEF §2 topology built from network namespaces, for guest
# scripts run by tests/vm/run-vm (as root, inside the VM). Source it:
#
#   source "$NFDSR_SRC_DIR/tests/lab/lab.sh"
#   lab_up; ...; lab_down
#
# Topology (one L2 segment = bridge br0 in namespace "sw"; every node has eth0):
#   test-pc 192.168.10.200   k8s-s 192.168.10.10   k8s-w1 192.168.10.101
#   k8s-w2  192.168.10.102
#   webpod0 172.16.0.10  behind k8s-s  (veth lxc-webpod0 <-> webpod0:eth0)
#   webpod1 172.16.2.214 behind k8s-w1 (veth lxc-webpod1 <-> webpod1:eth0)
#   pod CIDRs: k8s-s 172.16.0.0/24, k8s-w1 172.16.2.0/24, k8s-w2 172.16.1.0/24,
#   routed natively (each node routes the others' CIDRs via their node IP).
#   Pods: /32 address, default route via 169.254.1.1 (the node end of the veth).
#   test-pc has no pod routes.
# Servers: nfdsr-whoami HTTP :80 in webpod0 and webpod1 (hostname = pod name,
# own UTS namespace), UDP whoami :5353 in webpod1.
#
# Helpers: lab_exec NS CMD..., lab_capture_start NS IFACE FILTER OUTFILE,
# lab_capture_stop [OUTFILE], lab_pcap_text FILE, lab_load_module [KVER],
# lab_unload_module, lab_wait_listen NS PROTO PORT, lab_spawn NS NAME CMD...,
# lab_add_pod NAME IP NODE (one more pod after lab_up),
# lab_check_dmesg, lab_ok/lab_fail/lab_expect_contains (test assertions).
# Optional extra nodes (not part of lab_up): lab_add_lvs_rs (an LVS-TUN real
# server) and lab_add_ipvs_director (Linux IPVS in tunnel mode).

: "${NFDSR_BUILD_DIR:?NFDSR_BUILD_DIR not set (run under tests/vm/run-vm)}"
LAB_BIN=${LAB_BIN:-$NFDSR_BUILD_DIR/bin}
LAB_RUN=${LAB_RUN:-/run/nfdsr-lab}
LAB_LOG=${LAB_LOG:-${NFDSR_VM_OUT:-/tmp}/lab}
export PATH="$LAB_BIN:$PATH"

LAB_SUBNET=192.168.10
declare -gA LAB_NODE_IP=([test-pc]=192.168.10.200 [k8s-s]=192.168.10.10
                         [k8s-w1]=192.168.10.101 [k8s-w2]=192.168.10.102)
declare -gA LAB_NODE_CIDR=([k8s-s]=172.16.0.0/24 [k8s-w1]=172.16.2.0/24 [k8s-w2]=172.16.1.0/24)
declare -gA LAB_POD_IP=([webpod0]=172.16.0.10 [webpod1]=172.16.2.214)
declare -gA LAB_POD_NODE=([webpod0]=k8s-s [webpod1]=k8s-w1)
LAB_NODES=(test-pc k8s-s k8s-w1 k8s-w2)
LAB_PODS=(webpod0 webpod1)
LAB_POD_GW=169.254.1.1

lab_log() { echo "lab: $*" >&2; }
LAB_OFFLOAD=${LAB_OFFLOAD:-off} # off: client and pods checksum in software; default: veth defaults
_lab_offload() { # NS: eth0's checksum offload as LAB_OFFLOAD says
  [[ $LAB_OFFLOAD == default ]] || ip netns exec "$1" ethtool -K eth0 tx off rx off >/dev/null
}
lab_exec() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

_lab_sysctls() { # NS key=value...: one process per namespace (process spawns are slow under TCG)
  local ns=$1 kv script=""; shift
  for kv in "$@"; do
    local k=${kv%%=*}
    script+="echo ${kv#*=} > /proc/sys/${k//.//};"
  done
  nsenter --net="/run/netns/$ns" sh -c "$script"
}

# lab_spawn NS NAME CMD...: run CMD in the background in NS; pid in $LAB_RUN/NAME.pid,
# output in $LAB_LOG/NAME.log
lab_spawn() {
  local ns=$1 name=$2; shift 2
  mkdir -p "$LAB_RUN" "$LAB_LOG"
  ip netns exec "$ns" setsid "$@" </dev/null >"$LAB_LOG/$name.log" 2>&1 &
  echo $! >"$LAB_RUN/$name.pid"
}

# lab_wait_listen NS tcp|udp PORT [TRIES]: until a socket listens on PORT
lab_wait_listen() {
  local ns=$1 proto=$2 port=$3 tries=${4:-100} flag=-ltnH
  [[ $proto == udp ]] && flag=-lunH
  while ((tries-- > 0)); do
    [[ -n $(lab_exec "$ns" ss "$flag" "sport = :$port" 2>/dev/null) ]] && return 0
    sleep 0.1
  done
  lab_log "nothing listens on $proto/$port in $ns"
  return 1
}

lab_up() {
  lab_log "up"
  mkdir -p "$LAB_RUN" "$LAB_LOG"
  modprobe -a veth bridge 2>/dev/null || true
  local node other pod all=(sw "${LAB_NODES[@]}" "${LAB_PODS[@]}") ns
  # namespaces and veth pairs: one `ip -batch` in the root namespace
  {
    for ns in "${all[@]}"; do echo "netns add $ns"; done
    for node in "${LAB_NODES[@]}"; do
      echo "link add p-$node netns sw type veth peer name eth0 netns $node"
    done
    for pod in "${LAB_PODS[@]}"; do
      echo "link add lxc-$pod netns ${LAB_POD_NODE[$pod]} type veth peer name eth0 netns $pod"
    done
  } | ip -batch - || return 1
  # the switch
  {
    echo "link set lo up"
    echo "link add br0 type bridge stp_state 0 forward_delay 0"
    echo "link set br0 up"
    for node in "${LAB_NODES[@]}"; do echo "link set p-$node mtu 1500 master br0 up"; done
  } | ip -n sw -batch - || return 1
  # nodes: eth0 on the segment, routes to the other nodes' pod CIDRs, pod links
  for node in "${LAB_NODES[@]}"; do
    {
      echo "link set lo up"
      echo "link set eth0 mtu 1500 up"
      echo "addr add ${LAB_NODE_IP[$node]}/24 dev eth0"
      if [[ -n ${LAB_NODE_CIDR[$node]:-} ]]; then
        for other in "${!LAB_NODE_CIDR[@]}"; do
          [[ $other == "$node" ]] && continue
          echo "route add ${LAB_NODE_CIDR[$other]} via ${LAB_NODE_IP[$other]} dev eth0"
        done
      fi
      for pod in "${LAB_PODS[@]}"; do
        [[ ${LAB_POD_NODE[$pod]} == "$node" ]] || continue
        echo "link set lxc-$pod up"
        echo "addr add $LAB_POD_GW/32 dev lxc-$pod scope link"
        echo "route add ${LAB_POD_IP[$pod]}/32 dev lxc-$pod src ${LAB_NODE_IP[$node]}"
      done
    } | ip -n "$node" -batch - || return 1
  done
  # pods: /32 address, default route via the node end of the veth
  for pod in "${LAB_PODS[@]}"; do
    printf '%s\n' "link set lo up" "link set eth0 up" "addr add ${LAB_POD_IP[$pod]}/32 dev eth0" \
      "route add $LAB_POD_GW dev eth0 scope link" "route add default via $LAB_POD_GW dev eth0" |
      ip -n "$pod" -batch - || return 1
  done
  # Real checksums on the wire, checked on receipt: veth would otherwise pass
  # CHECKSUM_PARTIAL packets along unchecked, hiding a wrong incremental update
  # by nftables' rewrite or nfdsr.ko's strip / reply rewrite.
  # LAB_OFFLOAD=default keeps the kernel's veth defaults (what real pods have).
  for ns in test-pc "${LAB_PODS[@]}"; do
    _lab_offload "$ns" || return 1
  done
  for ns in "${all[@]}"; do
    local sc=(net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0)
    [[ -n ${LAB_NODE_CIDR[$ns]:-} ]] && sc+=(net.ipv4.ip_forward=1)
    _lab_sysctls "$ns" "${sc[@]}"
  done
  for pod in "${LAB_PODS[@]}"; do
    lab_spawn "$pod" "$pod-http" unshare --uts sh -c "hostname $pod && exec '$LAB_BIN/nfdsr-whoami' --port 80"
  done
  lab_spawn webpod1 webpod1-udp unshare --uts sh -c "hostname webpod1 && exec '$LAB_BIN/nfdsr-whoami' --udp 5353"
  for pod in "${LAB_PODS[@]}"; do lab_wait_listen "$pod" tcp 80 || return 1; done
  lab_wait_listen webpod1 udp 5353 || return 1
  lab_log "up: ${LAB_NODES[*]} ${LAB_PODS[*]}"
}

# _lab_add_node NAME IP: one more namespace on the segment (eth0 IP/24 on br0);
# lab_down removes it with the others.
_lab_add_node() {
  local name=$1 ip=$2
  ip netns add "$name" || return 1
  ip link add "p-$name" netns sw type veth peer name eth0 netns "$name" || return 1
  ip -n sw link set "p-$name" mtu 1500 master br0 up || return 1
  printf '%s\n' "link set lo up" "link set eth0 mtu 1500 up" "addr add $ip/24 dev eth0" |
    ip -n "$name" -batch - || return 1
  _lab_offload "$name" || return 1 # real checksums, as in lab_up
  LAB_NODE_IP[$name]=$ip
  LAB_NODES+=("$name")
}

# lab_add_lvs_rs NAME IP VIP [PORT]: (after lab_up) a classic LVS-TUN real
# server, no nfdsr: VIP/32 on lo, tunl0 up (needs `modprobe ipip`),
# arp_ignore=1/arp_announce=2, rp_filter 0 on tunl0 and all, and an HTTP
# whoami (hostname NAME) listening on VIP:PORT (default 80).
lab_add_lvs_rs() {
  local name=$1 ip=$2 vip=$3 port=${4:-80}
  _lab_add_node "$name" "$ip" || return 1
  printf '%s\n' "addr add $vip/32 dev lo" "link set tunl0 up" | ip -n "$name" -batch - || return 1
  _lab_sysctls "$name" net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
    net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2 \
    net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.tunl0.rp_filter=0
  lab_spawn "$name" "$name-http" unshare --uts sh -c "hostname $name && exec '$LAB_BIN/nfdsr-whoami' --bind $vip --port $port"
  lab_wait_listen "$name" tcp "$port"
}

# lab_add_ipvs_director NAME IP VIP PORT REAL_SERVER...: (after lab_up) a
# Linux IPVS director in tunnel mode, no nfdsr: VIP/32 on lo, the virtual
# service VIP:PORT (round robin) with each REAL_SERVER (ip:port) as an -i
# (IPIP) real server. Needs the ip_vs module and ipvsadm.
lab_add_ipvs_director() {
  local name=$1 ip=$2 vip=$3 port=$4 rs; shift 4
  modprobe -a ip_vs ip_vs_rr || return 1
  _lab_add_node "$name" "$ip" || return 1
  ip -n "$name" addr add "$vip/32" dev lo || return 1
  _lab_sysctls "$name" net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
  lab_exec "$name" ipvsadm -A -t "$vip:$port" -s rr || return 1
  for rs in "$@"; do
    lab_exec "$name" ipvsadm -a -t "$vip:$port" -r "$rs" -i || return 1
  done
}

# lab_add_pod NAME IP NODE: (after lab_up) one more pod behind NODE, wired
# like the default ones (veth lxc-NAME, /32, default via 169.254.1.1), with
# the HTTP whoami on :80 (hostname NAME). IP must be in NODE's pod CIDR
# (routed there by the other nodes), e.g. lab_add_pod webpod2 172.16.1.20 k8s-w2.
lab_add_pod() {
  local pod=$1 ip=$2 node=$3
  ip netns add "$pod" || return 1
  ip link add "lxc-$pod" netns "$node" type veth peer name eth0 netns "$pod" || return 1
  printf '%s\n' "link set lxc-$pod up" "addr add $LAB_POD_GW/32 dev lxc-$pod scope link" \
    "route add $ip/32 dev lxc-$pod src ${LAB_NODE_IP[$node]}" | ip -n "$node" -batch - || return 1
  printf '%s\n' "link set lo up" "link set eth0 up" "addr add $ip/32 dev eth0" \
    "route add $LAB_POD_GW dev eth0 scope link" "route add default via $LAB_POD_GW dev eth0" |
    ip -n "$pod" -batch - || return 1
  _lab_sysctls "$pod" net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  _lab_offload "$pod" || return 1 # real checksums, as in lab_up
  LAB_POD_IP[$pod]=$ip
  LAB_POD_NODE[$pod]=$node
  LAB_PODS+=("$pod")
  lab_spawn "$pod" "$pod-http" unshare --uts sh -c "hostname $pod && exec '$LAB_BIN/nfdsr-whoami' --port 80"
  lab_wait_listen "$pod" tcp 80
}

lab_down() {
  lab_log "down"
  lab_capture_stop 2>/dev/null || true
  local ns pids all=("${LAB_PODS[@]}" "${LAB_NODES[@]}" sw)
  for ns in "${all[@]}"; do
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [[ -n $pids ]] && kill $pids 2>/dev/null
  done
  sleep 0.2
  for ns in "${all[@]}"; do
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [[ -n $pids ]] && kill -9 $pids 2>/dev/null
  done
  for ns in "${all[@]}"; do echo "netns del $ns"; done | ip -force -batch - 2>/dev/null || true
  rm -f "$LAB_RUN"/*.pid
}

# lab_capture_start NS IFACE FILTER OUTFILE: tcpdump -p -U -w OUTFILE; returns
# once tcpdump really listens. FILTER may be "" (everything).
lab_capture_start() {
  local ns=$1 ifc=$2 filter=$3 out=$4 i
  mkdir -p "$LAB_RUN" "$(dirname "$out")"
  local err="$out.tcpdump.log"
  # shellcheck disable=SC2086
  ip netns exec "$ns" tcpdump -p -U --immediate-mode -n -Z root -i "$ifc" -w "$out" $filter </dev/null 2>"$err" &
  local pid=$!
  for ((i = 0; i < 100; i++)); do
    grep -q 'listening on' "$err" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { lab_log "tcpdump failed: $(cat "$err")"; return 1; }
    sleep 0.05
  done
  echo "$pid $out" >>"$LAB_RUN/captures"
}

# lab_capture_stop [OUTFILE]: stop that capture (default: all), flushing the file
lab_capture_stop() {
  local want=${1:-} pid out keep=()
  [[ -f $LAB_RUN/captures ]] || return 0
  while read -r pid out; do
    if [[ -z $want || $out == "$want" ]]; then
      sleep 0.2 # let in-flight packets reach the capture
      kill -INT "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null || true
    else
      keep+=("$pid $out")
    fi
  done <"$LAB_RUN/captures"
  if ((${#keep[@]})); then printf '%s\n' "${keep[@]}" >"$LAB_RUN/captures"; else rm -f "$LAB_RUN/captures"; fi
}

# lab_pcap_text FILE [tcpdump filter...]: headers + hex of every packet
lab_pcap_text() { local f=$1; shift; tcpdump -nn -v -x -r "$f" "$@" 2>/dev/null; }

# lab_load_module [KVER]: load nf_tables/nf_conntrack, nfdsr.ko's own deps, then nfdsr.ko
lab_load_module() {
  local kver=${1:-$(uname -r)} ko dep
  ko=$NFDSR_BUILD_DIR/kmod/$kver/nfdsr.ko
  [[ -f $ko ]] || { lab_log "no module $ko"; return 1; }
  modprobe nf_tables
  modprobe nf_conntrack
  for dep in $(modinfo -F depends "$ko" | tr ',' ' '); do modprobe "$dep"; done
  insmod "$ko" "${@:2}"
}
lab_unload_module() { rmmod nfdsr; }

# lab_check_dmesg: fail when the kernel log has a WARNING/BUG/Oops/leak report
lab_check_dmesg() {
  local bad
  bad=$(dmesg | grep -E 'WARNING:|BUG:|Oops|general protection|Call Trace|kmemleak|UBSAN|KASAN|refcount_t' || true)
  if [[ -n $bad ]]; then
    lab_log "kernel log has problems:"; echo "$bad" >&2
    return 1
  fi
}

# Assertions for scenario scripts (set -e friendly): lab_fail exits 1.
lab_fail() { echo "FAIL: $*" >&2; exit 1; }
lab_ok() { echo "ok: $*"; }
lab_expect_contains() { # TEXT NEEDLE WHAT
  if [[ $1 == *"$2"* ]]; then lab_ok "$3"; else echo "$1" >&2; lab_fail "$3: expected '$2'"; fi
}
