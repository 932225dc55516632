#!/usr/bin/env python3
"""host_local_clients: clients on the nodes, in their pods, and hairpin reach
the services through table ip nfdsr's conntrack path (no nfdsr.ko needed).

    local_clients.py NFDSRCTL WHOAMI SOURCE_DIR

Topology (fresh namespaces, examples/reference-lab.yaml applied with
`nfdsrctl apply --no-module` on both nodes):

  k8s-s 192.168.10.10 (pod CIDR 172.16.0.0/24) -- eth0/eth0 -- k8s-w1 192.168.10.101 (172.16.2.0/24)
    |- webpod0 172.16.0.10 (whoami :80)               |- webpod1 172.16.2.214 (whoami :80, udp :5353)
    '- client0 172.16.0.20

Pods as in tests/lab/lab.sh: /32 address, default route via 169.254.1.1 (the
node end of the veth). Each client gets its answer from the backend the
service has; a hairpin client (a backend calling its own service) is seen
with the node's address, every other client with its own.
"""
import os
import socket  # noqa: F401  (UDP check runs python in a namespace)
import subprocess
import sys
import time

from entry_lab import main, run

CTL, WHOAMI, SRC = sys.argv[1], sys.argv[2], sys.argv[3]
CONFIG = os.path.join(SRC, "examples/reference-lab.yaml")
TAG = f"nfdsr-lc-{os.getpid()}"
NODES = {"k8s-s": ("192.168.10.10", "172.16.0.0/24"), "k8s-w1": ("192.168.10.101", "172.16.2.0/24")}
PODS = {"webpod0": ("172.16.0.10", "k8s-s"), "client0": ("172.16.0.20", "k8s-s"),
        "webpod1": ("172.16.2.214", "k8s-w1")}
GW = "169.254.1.1"


def ns(name):
    return f"{TAG}-{name}"


def curl(client, url):
    p = subprocess.run(["ip", "netns", "exec", ns(client), "curl", "-sS", "--max-time", "5", url],
                       capture_output=True, text=True)
    return p.stdout + p.stderr


UDP_CLIENT = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(b"hello", (sys.argv[1], int(sys.argv[2])))
try:
    print(s.recvfrom(4096)[0].decode())
except OSError as e:
    print("no answer:", e)
"""


def udp(client, addr, port):
    p = subprocess.run(["ip", "netns", "exec", ns(client), sys.executable, "-c", UDP_CLIENT, addr, str(port)],
                       capture_output=True, text=True)
    return p.stdout + p.stderr


def wait_listen(pod, flag, port):
    for _ in range(100):
        if run("ss", flag, f"sport = :{port}", ns=ns(pod)).strip():
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} in {pod}")


def body(check):
    procs = []
    try:
        for n in list(NODES) + list(PODS):
            run("ip", "netns", "add", ns(n))
            run("ip", "link", "set", "lo", "up", ns=ns(n))
            run("sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0", ns=ns(n))
        run("ip", "link", "add", "eth0", "netns", ns("k8s-s"), "type", "veth", "peer", "name", "eth0",
            "netns", ns("k8s-w1"))
        for node, (addr, _) in NODES.items():
            run("ip", "addr", "add", f"{addr}/24", "dev", "eth0", ns=ns(node))
            run("ip", "link", "set", "eth0", "up", ns=ns(node))
            run("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=ns(node))
            for other, (oaddr, ocidr) in NODES.items():
                if other != node:
                    run("ip", "route", "add", ocidr, "via", oaddr, ns=ns(node))
        for pod, (addr, node) in PODS.items():
            run("ip", "link", "add", f"lxc-{pod}", "netns", ns(node), "type", "veth", "peer", "name", "eth0",
                "netns", ns(pod))
            run("ip", "link", "set", f"lxc-{pod}", "up", ns=ns(node))
            run("ip", "addr", "add", f"{GW}/32", "dev", f"lxc-{pod}", "scope", "link", ns=ns(node))
            run("ip", "route", "add", f"{addr}/32", "dev", f"lxc-{pod}", "src", NODES[node][0], ns=ns(node))
            run("ip", "link", "set", "eth0", "up", ns=ns(pod))
            run("ip", "addr", "add", f"{addr}/32", "dev", "eth0", ns=ns(pod))
            run("ip", "route", "add", GW, "dev", "eth0", "scope", "link", ns=ns(pod))
            run("ip", "route", "add", "default", "via", GW, "dev", "eth0", ns=ns(pod))
        for pod in ("webpod0", "webpod1"):
            procs.append(subprocess.Popen(["ip", "netns", "exec", ns(pod), WHOAMI, "--port", "80", "--name", pod],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            wait_listen(pod, "-ltnH", 80)
        procs.append(subprocess.Popen(["ip", "netns", "exec", ns("webpod1"), WHOAMI, "--udp", "5353", "--name",
                                       "webpod1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_listen("webpod1", "-lunH", 5353)
        for node in NODES:
            run(CTL, "apply", "--no-module", "--node", node, CONFIG, ns=ns(node))

        def expect(what, out, *needles):
            ok = all(n in out for n in needles)
            check(ok, f"{what}: {' and '.join(needles)}")
            if not ok:
                print("    got: " + out.strip().replace("\n", "\n         "))

        svc1, local1 = "http://192.168.10.10:31615/", "http://192.168.10.10:31617/"
        expect("k8s-s itself -> svc1 (output, DNAT to k8s-w1's pod)", curl("k8s-s", svc1),
               "Hostname: webpod1", "RemoteAddr: 192.168.10.10:")
        expect("pod behind k8s-s -> svc1 (prerouting, DNAT, client address kept)", curl("client0", svc1),
               "Hostname: webpod1", "RemoteAddr: 172.16.0.20:")
        expect("k8s-w1's host -> svc1 (output, DNAT to its own pod)", curl("k8s-w1", svc1),
               "Hostname: webpod1", "RemoteAddr: 192.168.10.101:")
        expect("webpod1 -> its own service svc1 (hairpin: SNAT to k8s-w1)", curl("webpod1", svc1),
               "Hostname: webpod1", "RemoteAddr: 192.168.10.101:")
        expect("webpod1 -> svc1 at k8s-w1's own NodePort (hairpin)", curl("webpod1", "http://192.168.10.101:31615/"),
               "Hostname: webpod1", "RemoteAddr: 192.168.10.101:")
        expect("k8s-s itself -> local1 (its own pod webpod0)", curl("k8s-s", local1),
               "Hostname: webpod0", "RemoteAddr: 192.168.10.10:")
        expect("pod behind k8s-s -> local1 (webpod0 on the same node)", curl("client0", local1),
               "Hostname: webpod0", "RemoteAddr: 172.16.0.20:")
        expect("webpod0 -> local1 via k8s-s (hairpin)", curl("webpod0", local1),
               "Hostname: webpod0", "RemoteAddr: 192.168.10.10:")
        expect("k8s-s itself -> udp1 (UDP through conntrack)", udp("k8s-s", "192.168.10.10", 31616),
               "Hostname: webpod1")
        expect("webpod1 -> udp1 (UDP hairpin)", udp("webpod1", "192.168.10.10", 31616),
               "Hostname: webpod1", "RemoteAddr: 192.168.10.101:")
        # the counters of the conntrack path moved (nft list shows them)
        lst = run("nft", "list", "chain", "ip", "nfdsr", "local_hairpin", ns=ns("k8s-w1"))
        check("packets 0 " not in lst, "k8s-w1: local_hairpin counted the hairpin connections")
    finally:
        for p in procs:
            p.kill()
            p.wait()
        for n in list(PODS) + list(NODES):
            subprocess.run(["ip", "netns", "del", ns(n)], capture_output=True)


main(body)
