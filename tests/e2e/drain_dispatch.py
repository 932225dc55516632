#!/usr/bin/env python3
"""drain_dispatch (VM, tests/e2e/entry_path.sh): a draining backend keeps its connections, new ones avoid it.

    drain_dispatch.py NFDSRCTL

Topology (entry_lab.py): client 192.168.10.200 -- entry k8s-s
(`nfdsrctl apply`: table ip nfdsr and nfdsr.ko's service table) -- backend
namespace with 172.16.2.11-13. Service web has be1, be2, be3; then be2 gets
`drain: true`. Hand-made TCP segments (raw socket, chosen source ports) go
through the entry node; the backend whose nfdsr.ko counter moved is the
backend the kernel chose. Checked, packet by packet:
  - a non-SYN segment of a connection from before the drain (never seen
    SYN) in one of be2's buckets still goes to be2;
  - a SYN in such a bucket goes to the backend `nfdsrctl trace` names for new
    connections, is remembered by nfdsr.ko (drain_flow_added), and the
    connection's later segments follow it there (not to be2);
  - in a bucket the drain did not move, SYN and later segments go to the
    same backend and nothing is remembered;
  - `nfdsrctl trace` names both backends and whether the bucket moved;
  - applying the same config again (as a restarted nfdsrd does) keeps what
    was remembered;
  - removing be2 afterwards ends the drain (no established table).
"""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "host"))
from entry_lab import EntryLab, main, run  # noqa: E402 (the namespaces topology, shared with host tests)

CTL = sys.argv[1]


def config(be2):
    return f"""
hash_seed: 0x1234abcd
nodes:
  - {{name: k8s-s,  address: 192.168.10.10,  pod_cidr: 172.16.0.0/24}}
  - {{name: k8s-w1, address: 192.168.10.101, pod_cidr: 172.16.2.0/24}}
services:
  - name: web
    protocol: tcp
    node_port: 31615
    entry_nodes: [k8s-s]
    backends:
      - {{name: be1, address: 172.16.2.11, port: 80, node: k8s-w1}}
      - {{name: be3, address: 172.16.2.13, port: 80, node: k8s-w1}}
{be2}"""


BE2 = "      - {name: be2, address: 172.16.2.12, port: 80, node: k8s-w1}\n"
BE2_DRAIN = "      - {name: be2, address: 172.16.2.12, port: 80, node: k8s-w1, drain: true}\n"

# One TCP segment from 192.168.10.200:SPORT to 192.168.10.10:31615 (the
# kernel adds the IP header); FLAGS 0x02 = SYN, 0x10 = ACK.
SEND = r"""
import socket, struct, sys
sport, flags = int(sys.argv[1]), int(sys.argv[2], 0)
src, dst = socket.inet_aton("192.168.10.200"), socket.inet_aton("192.168.10.10")
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
hdr = struct.pack("!HHIIBBHHH", sport, 31615, 1000, 1 if flags & 0x10 else 0, 5 << 4, flags, 65535, 0, 0)
c = csum(src + dst + struct.pack("!BBH", 0, 6, len(hdr)) + hdr)
hdr = hdr[:16] + struct.pack("!H", c) + hdr[18:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
s.sendto(hdr, ("192.168.10.10", 0))
"""


def counters(lab, cfg):
    st = json.loads(run(CTL, "status", "--config", cfg, "--node", "k8s-s", "-o", "json", ns=lab.entry))
    return {b["name"]: b["packets"] for s in st["services"] for b in s["backends"]}


def send(lab, cfg, sport, flags):
    """Send one segment; return the backends whose counter moved."""
    before = counters(lab, cfg)
    run(sys.executable, "-c", SEND, str(sport), hex(flags), ns=lab.client)
    after = counters(lab, cfg)
    return [b for b in after if after[b] > before.get(b, 0)]


def trace(lab, cfg, sport):
    return json.loads(run(CTL, "trace", f"192.168.10.200:{sport}", "192.168.10.10:31615", "tcp", "--config", cfg,
                          "--node", "k8s-s", "-o", "json", ns=lab.entry))


def show(lab):
    return json.loads(run(CTL, "show", "-o", "json", ns=lab.entry))["module"]


def remembered(lab):
    """Connections nfdsr.ko remembered during a drain so far (counter drain_flow_added)."""
    return show(lab)["counters"]["drain_flow_added"]


def draining(lab):
    """Whether nfdsr.ko holds a table from before a drain for web (NodePort 31615)."""
    return [s["draining"] for s in show(lab)["services"] if s["port"] == 31615] == [True]


def body(check):
    with EntryLab("dr", ["172.16.2.11", "172.16.2.12", "172.16.2.13"]) as lab:
        scenario(lab, check)


def scenario(lab, check):
    EN = lab.entry
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "nfdsr.yaml")
        with open(cfg, "w") as f:
            f.write(config(BE2))
        run(CTL, "apply", "--node", "k8s-s", cfg, ns=EN)
        # before the drain: be2's buckets and the others
        old_be2, stay = [], []
        for sport in range(40000, 40400, 7):
            t = trace(lab, cfg, sport)
            check("drain" not in t, f"sport {sport}: no drain before the drain") if sport == 40000 else None
            (old_be2 if t["backend"]["name"] == "be2" else stay).append(sport)
        check(len(old_be2) >= 8 and len(stay) >= 4, f"ports in be2's buckets: {len(old_be2)}, others: {len(stay)}")

        with open(cfg, "w") as f:
            f.write(config(BE2_DRAIN))
        run(CTL, "apply", "--node", "k8s-s", cfg, ns=EN)
        check(draining(lab), "nfdsr.ko holds the table from before the drain")
        base = remembered(lab)

        # connections from before the drain: non-SYN segments keep be2
        for sport in old_be2[:4]:
            t = trace(lab, cfg, sport)
            check(t["drain"]["established_backend"] == "be2" and t["drain"]["bucket_moved"],
                  f"trace {sport}: opened before the drain -> be2, bucket moved ({t['drain']})")
            got = send(lab, cfg, sport, 0x10)
            check(got == ["be2"], f"sport {sport}: ACK of a connection from before the drain went to {got}, "
                                  "expected be2")
        # new connections in be2's buckets: SYN to the new backend, remembered, and later segments follow
        syn_ports = old_be2[4:8]
        for sport in syn_ports:
            want = trace(lab, cfg, sport)["backend"]["name"]
            check(want != "be2", f"trace {sport}: a new connection goes to {want}, not be2")
            got = send(lab, cfg, sport, 0x02)
            check(got == [want], f"sport {sport}: SYN went to {got}, expected {want}")
            for i in range(2):
                got = send(lab, cfg, sport, 0x10)
                check(got == [want], f"sport {sport}: ACK #{i + 1} of a connection opened during the drain went "
                                     f"to {got}, expected {want} (where its SYN went)")
        check(remembered(lab) - base == len(syn_ports),
              f"connections remembered: {remembered(lab) - base}, expected {len(syn_ports)}")
        # a one-shot apply (as a restarted nfdsrd) keeps what was remembered
        run(CTL, "apply", "--node", "k8s-s", cfg, ns=EN)
        want = trace(lab, cfg, syn_ports[0])["backend"]["name"]
        got = send(lab, cfg, syn_ports[0], 0x10)
        check(got == [want], f"sport {syn_ports[0]}: after the second apply, ACK went to {got}, expected {want}")
        # a bucket the drain did not move: same backend, nothing remembered
        unmoved = [p for p in stay if not trace(lab, cfg, p)["drain"]["bucket_moved"]]
        check(len(unmoved) >= 2, f"{len(unmoved)} probe ports in buckets the drain did not move")
        for sport in unmoved[:2]:
            t = trace(lab, cfg, sport)
            want = t["backend"]["name"]
            check(t["drain"]["established_backend"] == want, f"trace {sport}: unmoved bucket, same backend {want}")
            check(send(lab, cfg, sport, 0x02) == [want], f"sport {sport}: SYN to {want}")
            check(send(lab, cfg, sport, 0x10) == [want], f"sport {sport}: ACK to {want}")
        check(remembered(lab) - base == len(syn_ports), "SYNs in unmoved buckets are not remembered")
        human = run(CTL, "trace", f"192.168.10.200:{old_be2[0]}", "192.168.10.10:31615", "--config", cfg, "--node",
                    "k8s-s", ns=EN)
        check("drain: a connection opened before the drain goes to be2" in human and "drain moved this bucket" in human,
              "human trace explains the drain:\n" + human)
        status = run(CTL, "status", "--config", cfg, "--node", "k8s-s", ns=EN)
        check("unchecked,drain" in status, "status marks be2 as draining:\n" + status)

        # be2 removed: the drain sets go, the table is back to two backends
        with open(cfg, "w") as f:
            f.write(config(""))
        run(CTL, "apply", "--node", "k8s-s", cfg, ns=EN)
        check(not draining(lab), "no table from before the drain once be2 is removed")
        sport = syn_ports[0]
        want = trace(lab, cfg, sport)["backend"]["name"]
        check(send(lab, cfg, sport, 0x10) == [want], f"sport {sport}: after the removal, {want} as the table says")



main(body)
