#!/bin/bash
# The data path with checksum offload as real hosts have it (dispatch opt).
# The other scenarios turn offload off on the client and pods (LAB_OFFLOAD=off:
# every packet carries a full checksum); here the lab keeps the veth defaults
# (LAB_OFFLOAD=default: tx on, so pods and client send CHECKSUM_PARTIAL
# packets, TSO/GSO included) and three settings are run:
#   default  everything as the kernel sets it;
#   mixed    client tx/rx off, pods default (where a dead backend's FIN/RST
#            was once seen not to reach the client);
#   nic      client and pods tx on / rx off, the nodes' eth0 tx off: every
#            partial checksum is finished when it leaves a node, as a NIC
#            does, from the seed that nftables' rewrite (entry) and nfdsr.ko's
#            reply rewrite (backend) updated; client and pods verify what they
#            receive, and every TCP checksum on k8s-w1's link is checked.
# Each runs: the reference request, a 2 MB echo stream (both directions),
# UDP, and a backend whose server is killed (-9) with a connection open: the
# client must see the FIN (then a RST for more data), or the RST when the
# server had unread data, promptly rather than hang.
LAB_OFFLOAD=default
OFFLOAD_CFG=${NFDSR_VM_OUT:-/tmp}/configs/offload.yaml
mkdir -p "$(dirname "$OFFLOAD_CFG")"
# the reference config plus stream1 (NodePort 31618 -> nfdsr-stream echo on webpod1:7000)
cat "$NFDSR_SRC_DIR/examples/reference-lab.yaml" - >"$OFFLOAD_CFG" <<'EOF'

  - name: stream1
    protocol: tcp
    node_port: 31618
    backends:
      - {name: webpod1, address: 172.16.2.214, port: 7000, node: k8s-w1}
EOF
E2E_CONFIG=$OFFLOAD_CFG
source "$NFDSR_SRC_DIR/tests/e2e/common.sh"
e2e_up
STREAM_PORT=31618
SYNC=$E2E_OUT/sync

server_start() {
  lab_spawn webpod1 webpod1-stream nfdsr-stream server --port 7000
  lab_wait_listen webpod1 tcp 7000 || lab_fail "no nfdsr-stream server in webpod1"
}
server_start

offload_of() { # NS IFACE: "tx on rx on"
  lab_exec "$1" ethtool -k "$2" | awk '/^tx-checksumming:/ {t=$2} /^rx-checksumming:/ {r=$2} END {print "tx " t " rx " r}'
}

# A connection to stream1 whose server dies: MODE fin (idle connection, the
# closing socket sends a FIN) or rst (unread data in the stopped server's
# receive queue, so close sends a RST). Prints what the client saw.
DEAD_CLIENT='
import os, socket, sys, time
mode, ip, port, d = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def mark(n): open(os.path.join(d, n), "w").close()
def wait(n):
    end = time.time() + 30
    while not os.path.exists(os.path.join(d, n)):
        if time.time() > end: print("SYNC-TIMEOUT " + n); sys.exit(2)
        time.sleep(0.05)
s = socket.create_connection((ip, port), timeout=10)
s.sendall(b"a" * 1000)
got = 0
while got < 1000:
    r = s.recv(4096)
    if not r: print("EARLY-EOF"); sys.exit(1)
    got += len(r)
print("local=%s:%d echo ok" % s.getsockname(), flush=True)
if mode == "rst":
    mark("connected"); wait("stopped")
    s.sendall(b"b" * 1000)
    time.sleep(1)
mark("ready"); wait("killed")
s.settimeout(10)
t0 = time.time()
try:
    res = "EOF" if not s.recv(4096) else "DATA"
except ConnectionResetError: res = "RESET"
except socket.timeout: res = "HANG"
print("%s after %.1f s" % (res, time.time() - t0), flush=True)
if res == "EOF":
    # the dead backend must answer more data with a RST (its unicast reset path)
    t0, res = time.time(), "HANG"
    while time.time() - t0 < 10:
        try: s.send(b"c" * 100)
        except (BrokenPipeError, ConnectionResetError): res = "RESET"; break
        time.sleep(0.2)
    print("then %s after %.1f s" % (res, time.time() - t0))
'

dead_backend() { # PHASE MODE
  local phase=$1 mode=$2 pid out pcap=$E2E_OUT/$1-dead-$2.pcap i
  rm -rf "$SYNC" && mkdir -p "$SYNC"
  pid=$(cat "$LAB_RUN/webpod1-stream.pid")
  lab_capture_start test-pc eth0 "tcp port $STREAM_PORT" "$pcap"
  lab_exec test-pc /usr/bin/python3 -c "$DEAD_CLIENT" "$mode" 192.168.10.10 $STREAM_PORT "$SYNC" \
    >"$SYNC/out" 2>&1 &
  local cpid=$!
  if [[ $mode == rst ]]; then
    for ((i = 0; i < 300; i++)); do [[ -e $SYNC/connected ]] || ! kill -0 $cpid 2>/dev/null && break; sleep 0.1; done
    kill -STOP "$pid"
    touch "$SYNC/stopped"
  fi
  for ((i = 0; i < 300; i++)); do [[ -e $SYNC/ready ]] || ! kill -0 $cpid 2>/dev/null && break; sleep 0.1; done
  kill -9 "$pid"
  touch "$SYNC/killed"
  wait "$cpid" || true
  lab_capture_stop "$pcap"
  out=$(cat "$SYNC/out")
  echo "$out"
  local want="EOF after"$'*\n'"then RESET"
  [[ $mode == rst ]] && want="RESET after"
  # shellcheck disable=SC2053
  if [[ $out == *$want* ]]; then r=0; else r=1; e2e_pkts "$pcap"; fi
  e2e_observe "[$phase] dead backend ($mode): the client saw the $( [[ $mode == fin ]] && echo 'FIN, then a RST' || echo RST )" $r
  server_start
}

phase() { # NAME
  local p=$1 response out r
  echo "=== phase $p: test-pc eth0 $(offload_of test-pc eth0); webpod1 eth0 $(offload_of webpod1 eth0);" \
    "k8s-w1 eth0 $(offload_of k8s-w1 eth0)"
  response=$(lab_exec test-pc curl -sS --max-time 10 http://192.168.10.10:31615/) || true
  if [[ $response == *"Hostname: webpod1"* && $response =~ RemoteAddr:\ 192\.168\.10\.200:[0-9]+ ]]; then r=0; else r=1; echo "$response"; fi
  e2e_observe "[$p] curl 192.168.10.10:31615 answered by webpod1 with RemoteAddr 192.168.10.200:<port>" $r

  out=$(lab_exec test-pc nfdsr-stream client --label "$p-bulk" --conns 1 --bytes 2097152 --rate 0 --stall 5 \
    192.168.10.10 $STREAM_PORT 2>&1) && r=0 || r=1
  echo "$out" | grep -E '^(conn|total)' || true
  ((r == 0)) || echo "$out" | tail -n 5
  e2e_observe "[$p] 2 MB up and echoed back down through 192.168.10.10:$STREAM_PORT" $r

  out=$(lab_exec test-pc nfdsr-udp-probe --size 1000 192.168.10.10 31616 2>&1) || true
  if [[ $out == *"Hostname: webpod1"* && $out == *"RemoteAddr: 192.168.10.200:"* ]]; then r=0; else r=1; echo "$out"; fi
  e2e_observe "[$p] UDP 192.168.10.10:31616 answered by webpod1" $r

  dead_backend "$p" fin
  dead_backend "$p" rst
}

# --- default: the kernel's offload settings everywhere
for ns in test-pc webpod1; do
  [[ $(offload_of "$ns" eth0) == "tx on rx on" ]] || lab_fail "$ns eth0 offload is not the default: $(offload_of "$ns" eth0)"
done
phase default

# --- mixed: the client checksums in software, the pods offload
lab_exec test-pc ethtool -K eth0 tx off rx off >/dev/null
phase mixed

# --- nic: partial checksums finished on the nodes' way out, verified on receipt
lab_exec test-pc ethtool -K eth0 tx on rx off >/dev/null
for ns in webpod0 webpod1; do lab_exec "$ns" ethtool -K eth0 rx off >/dev/null; done
for ns in k8s-s k8s-w1 k8s-w2; do lab_exec "$ns" ethtool -K eth0 tx off >/dev/null; done
w1_pcap=$E2E_OUT/nic-k8s-w1.pcap
lab_capture_start k8s-w1 eth0 "host 192.168.10.200" "$w1_pcap"
phase nic
lab_capture_stop "$w1_pcap"
sums=$(tcpdump -nn -vv -r "$w1_pcap" 2>/dev/null | grep -oE '(tcp|udp) sum ok|cksum 0x[0-9a-f]+ \((correct|incorrect[^)]*)\)|bad udp cksum[^)]*' || true)
good=$(grep -cE '\(correct\)|sum ok' <<<"$sums" || true)
bad=$(grep -cE '\(incorrect|^bad udp' <<<"$sums" || true) # (not just "bad": a checksum may read 0x..bad)
((good > 0 && bad == 0)) && r=0 || r=1
((r == 0)) || tcpdump -nn -vv -r "$w1_pcap" 2>/dev/null | grep -E -B1 'incorrect|bad udp' | head -n 20 || true
e2e_observe "[nic] checksums on k8s-w1's link (both directions, TCP and UDP): $good correct, $bad incorrect" "$r"

echo "=== module counters"
e2e_expect_counter k8s-s opt_added 1
e2e_expect_counter k8s-w1 opt_stripped 1
e2e_expect_counter k8s-w1 reply_rewritten 1
e2e_finish
