#!/usr/bin/env python3
"""Traffic of real deployments for the e2e scenarios (issue 8), run inside lab
namespaces with `lab_exec NS python3 traffic.py CMD ...`. Each command prints
one result line and exits 0 when the outcome is the one named, 1 otherwise.

  udp-echo IP PORT SIZE [--no-df | --pmtu-want] [--timeout S]
      a datagram of SIZE bytes to an echo server, sent again every second
      until the same bytes come back from IP:PORT (a connected socket: a reply
      from any other address is not delivered). Default DF (IP_PMTUDISC_DO);
      --no-df lets the kernel fragment it (IP_PMTUDISC_DONT); --pmtu-want is
      the kernel's default for UDP: DF until a frag-needed lowered the path
      MTU, then local fragmentation.
  lone-fragment SRC DST DPORT
      a raw non-first UDP fragment (offset 1480, no MF) whose first payload
      bytes read as source port 40000 / destination port DPORT.
  raw-tcp SRC SPORT DST DPORT FLAGS [--dsr-option IP:PORT] [--payload N]
      one hand-made TCP segment (FLAGS like S, A, PA) from SRC:SPORT, with the
      Cilium-format DSR IPv4 option naming IP:PORT if given, carrying N bytes
      of data (default 0).
  syn-flood SRC DST DPORT COUNT
      COUNT SYNs from SRC, ports 20000.. (distinct flows; COUNT <= 45000).
  late-server PORT DELAY
      TCP server: read until the client's FIN, wait DELAY s, answer "late reply".
  half-close IP PORT [--timeout S]
      connect, send a request, shut the sending side, expect "late reply".
  echo-bulk IP PORT BYTES [--timeout S]
      one TCP connection to an echo server: send BYTES (full-sized segments:
      an upload) while reading the echo back; exit 0 when every byte came
      back within the timeout (default 60 s).
  idle-conns IP PORT N
      N connections to an echo server, one echo each, "ready: ... ports P...", then idle until
      SIGUSR1; then one more echo on each (10 s): "after idling: K of N
      connections echo (R reset, S stalled)"; exit 0 if all N still echo.
  shared-port SRC_IP SRC_PORT IP PORT_A PORT_B [--timeout S]
      kind 8: connection A from SRC_IP:SRC_PORT to IP:PORT_A echoes; then a
      connection B from the same client address and port to IP:PORT_B; then A
      must still echo. Prints what B got; exit 0 if A kept working.
"""
import errno
import select
import signal
import socket
import struct
import sys
import threading
import time

IP_MTU_DISCOVER = 10
IP_PMTUDISC_DONT = 0
IP_PMTUDISC_WANT = 1
IP_PMTUDISC_DO = 2


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def dsr_option(ip: str, port: int) -> bytes:
    """Cilium's option: 0x9a, 8, port and address byte-swapped (BRIEF §2)."""
    a = socket.inet_aton(ip)
    return bytes([0x9A, 8, port & 0xFF, port >> 8, a[3], a[2], a[1], a[0]])


def ip_header(src, dst, proto, payload_len, opts=b"", frag=0, ident=0x4242):
    ihl = 5 + len(opts) // 4
    hdr = struct.pack("!BBHHHBBH4s4s", (4 << 4) | ihl, 0, ihl * 4 + payload_len, ident, frag, 64,
                      proto, 0, socket.inet_aton(src), socket.inet_aton(dst)) + opts
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]


def raw_send(dst, packet):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.sendto(packet, (dst, 0))
    s.close()


def tcp_segment(src, sport, dst, dport, flags, seq=1000, ack=0, payload=b""):
    bits = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10}
    fl = 0
    for c in flags:
        fl |= bits[c]
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack if "A" in flags else 0, 5 << 4, fl, 65535, 0, 0) + payload
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    return tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]


def cmd_udp_echo(a):
    ip, port, size = a[0], int(a[1]), int(a[2])
    timeout = float(a[a.index("--timeout") + 1]) if "--timeout" in a else 5.0
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    pmtu = IP_PMTUDISC_DONT if "--no-df" in a else IP_PMTUDISC_WANT if "--pmtu-want" in a else IP_PMTUDISC_DO
    s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, pmtu)
    s.connect((ip, port))
    data = bytes((i * 7 + 3) & 0xFF for i in range(size))
    deadline = time.monotonic() + timeout
    tries = 0
    reported = []

    def pending_error_once(e):
        # a frag-needed is reported once as the connected socket's pending
        # error (by send or recv); with --pmtu-want the next send fragments
        if e.errno == errno.EMSGSIZE and pmtu == IP_PMTUDISC_WANT and not reported:
            reported.append(e)
            print("EMSGSIZE reported once (frag-needed received): sending again")
            return True
        return False

    while time.monotonic() < deadline:
        tries += 1
        try:
            s.send(data)
        except OSError as e:
            if pending_error_once(e):
                continue
            print("SEND_ERROR %s" % e)
            return 1
        r, _, _ = select.select([s], [], [], min(1.0, max(0.0, deadline - time.monotonic())))
        if not r:
            continue
        try:
            got = s.recv(65536)
        except OSError as e:
            if pending_error_once(e):
                continue
            print("ERROR %s" % e)
            return 1
        if got == data:
            print("ECHO %d bytes from %s:%d (%d sent)" % (len(got), ip, port, tries))
            return 0
        print("MISMATCH %d bytes back, %d sent" % (len(got), size))
        return 1
    print("TIMEOUT (%d datagrams of %d bytes sent)" % (tries, size))
    return 1


def cmd_lone_fragment(a):
    src, dst, dport = a[0], a[1], int(a[2])
    # 8 payload bytes at offset 1480 that look like a UDP header to DPORT
    payload = struct.pack("!HHHH", 40000, dport, 8, 0)
    raw_send(dst, ip_header(src, dst, socket.IPPROTO_UDP, len(payload), frag=1480 // 8) + payload)
    print("SENT non-first fragment %s -> %s (offset 1480, payload reads as :40000 -> :%d)" % (src, dst, dport))
    return 0


def cmd_raw_tcp(a):
    src, sport, dst, dport, flags = a[0], int(a[1]), a[2], int(a[3]), a[4]
    opts = b""
    if "--dsr-option" in a:
        oip, oport = a[a.index("--dsr-option") + 1].rsplit(":", 1)
        opts = dsr_option(oip, int(oport))
    payload = b"x" * int(a[a.index("--payload") + 1]) if "--payload" in a else b""
    tcp = tcp_segment(src, sport, dst, dport, flags, ack=5000, payload=payload)
    raw_send(dst, ip_header(src, dst, socket.IPPROTO_TCP, len(tcp), opts=opts) + tcp)
    print("SENT %s %s:%d -> %s:%d%s" % (flags, src, sport, dst, dport, " with DSR option" if opts else ""))
    return 0


def cmd_syn_flood(a):
    src, dst, dport, count = a[0], a[1], int(a[2]), min(int(a[3]), 45000)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    for i in range(count):
        tcp = tcp_segment(src, 20000 + i, dst, dport, "S", seq=i * 7919)
        s.sendto(ip_header(src, dst, socket.IPPROTO_TCP, len(tcp), ident=i & 0xFFFF) + tcp, (dst, 0))
    print("SENT %d SYNs from %s:20000.. to %s:%d" % (count, src, dst, dport))
    return 0


def listener(port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(64)
    return ls


def cmd_late_server(a):
    port, delay = int(a[0]), float(a[1])
    ls = listener(port)

    def serve(c):
        with c:
            while c.recv(4096):
                pass
            time.sleep(delay)  # the client half-closed long ago: its flow is half-closed
            c.sendall(b"late reply\n")

    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def cmd_half_close(a):
    ip, port = a[0], int(a[1])
    timeout = float(a[a.index("--timeout") + 1]) if "--timeout" in a else 30.0
    c = socket.create_connection((ip, port), timeout=timeout)
    c.sendall(b"request\n")
    c.shutdown(socket.SHUT_WR)
    got = b""
    try:
        while True:
            d = c.recv(4096)
            if not d:
                break
            got += d
    except OSError as e:
        print("ERROR after half-close: %s (got %r)" % (e, got))
        return 1
    print("GOT %r after half-close" % got)
    return 0 if got == b"late reply\n" else 1


def cmd_echo_bulk(a):
    ip, port, total = a[0], int(a[1]), int(a[2])
    timeout = float(a[a.index("--timeout") + 1]) if "--timeout" in a else 60.0
    data = bytes((i * 13 + 5) & 0xFF for i in range(total))
    start = time.monotonic()
    c = socket.create_connection((ip, port), timeout=10)
    c.setblocking(False)
    sent = 0
    got = bytearray()
    while len(got) < total:
        left = timeout - (time.monotonic() - start)
        if left <= 0:
            print("STALLED: %d of %d bytes sent, %d echoed after %.0f s" % (sent, total, len(got), timeout))
            return 1
        r, w, _ = select.select([c], [c] if sent < total else [], [], min(left, 1.0))
        if w:
            sent += c.send(data[sent:sent + 65536])
        if r:
            d = c.recv(65536)
            if not d:
                print("CLOSED after %d bytes echoed" % len(got))
                return 1
            got += d
    if bytes(got) != data:
        print("MISMATCH in %d echoed bytes" % total)
        return 1
    print("ECHOED %d bytes in %.1f s" % (total, time.monotonic() - start))
    return 0


def cmd_idle_conns(a):
    ip, port, n = a[0], int(a[1]), int(a[2])
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    conns = []
    for i in range(n):
        c = socket.create_connection((ip, port), timeout=10)
        if not echo_once(c, b"hello %d\n" % i):
            print("connection %d: no echo before idling" % i)
            return 1
        conns.append(c)
    print("ready: %d connections idle, ports %s" % (n, " ".join(str(c.getsockname()[1]) for c in conns)))
    signal.sigwait({signal.SIGUSR1})
    ok = reset = stalled = 0
    for i, c in enumerate(conns):
        try:
            if echo_once(c, b"again %d\n" % i):
                ok += 1
                continue
            print("connection %d: closed after idling" % i)
        except ConnectionResetError:
            reset += 1
            print("connection %d: reset after idling" % i)
        except socket.timeout:
            stalled += 1
            print("connection %d: stalled after idling (no answer in 10 s)" % i)
        except OSError as e:
            print("connection %d: %s after idling" % (i, e))
    print("after idling: %d of %d connections echo (%d reset, %d stalled)" % (ok, n, reset, stalled))
    return 0 if ok == n else 1


def bound_socket(src_ip, src_port, timeout):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(timeout)
    s.bind((src_ip, src_port))
    return s


def echo_once(s, msg):
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        d = s.recv(4096)
        if not d:
            break
        got += d
    return got == msg


def cmd_shared_port(a):
    src_ip, src_port, ip, pa, pb = a[0], int(a[1]), a[2], int(a[3]), int(a[4])
    timeout = float(a[a.index("--timeout") + 1]) if "--timeout" in a else 5.0
    conn_a = bound_socket(src_ip, src_port, timeout)
    conn_a.connect((ip, pa))
    if not echo_once(conn_a, b"first\n"):
        print("A: no echo before B")
        return 1
    conn_b = bound_socket(src_ip, src_port, timeout)
    try:
        conn_b.connect((ip, pb))
        b_result = "B connected (%s)" % ("echo" if echo_once(conn_b, b"b\n") else "no echo")
    except OSError as e:
        b_result = "B failed: %s" % e
    try:
        ok = echo_once(conn_a, b"second\n")
    except OSError as e:
        print("A broken after B: %s; %s" % (e, b_result))
        return 1
    print("A %s after B; %s" % ("still echoes" if ok else "got no echo", b_result))
    return 0 if ok else 1


COMMANDS = {
    "udp-echo": cmd_udp_echo,
    "lone-fragment": cmd_lone_fragment,
    "raw-tcp": cmd_raw_tcp,
    "syn-flood": cmd_syn_flood,
    "late-server": cmd_late_server,
    "half-close": cmd_half_close,
    "echo-bulk": cmd_echo_bulk,
    "idle-conns": cmd_idle_conns,
    "shared-port": cmd_shared_port,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.stdout.reconfigure(line_buffering=True)
    sys.exit(COMMANDS[sys.argv[1]](sys.argv[2:]))
