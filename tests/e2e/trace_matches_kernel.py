#!/usr/bin/env python3
"""trace_matches_kernel (VM, tests/e2e/entry_path.sh): `nfdsrctl trace` predicts the backend nfdsr.ko picks.

    trace_matches_kernel.py NFDSRCTL

Topology (entry_lab.py): client 192.168.10.200 -- entry k8s-s
192.168.10.10 (`nfdsrctl apply`: table ip nfdsr and nfdsr.ko's service
table) -- backend namespace holding 5 backend addresses 172.16.2.11-15 (no
listener: each SYN gets an RST, we only need the SYN). For 24 client source
ports (bound explicitly), one SYN each; the backend whose nfdsr.ko counter
moved (read with `nfdsrctl status -o json`) must be the one `nfdsrctl trace
-o json` names, and trace's own question to nfdsr.ko (its packet tracer)
must agree. The services use two table sizes and a non-default seed.
"""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "host"))
from entry_lab import EntryLab, main, run  # noqa: E402 (the namespaces topology, shared with host tests)

CTL = sys.argv[1]

CONFIG = """
hash_seed: 0x1234abcd
nodes:
  - {name: k8s-s,  address: 192.168.10.10,  pod_cidr: 172.16.0.0/24}
  - {name: k8s-w1, address: 192.168.10.101, pod_cidr: 172.16.2.0/24}
services:
  - name: web
    protocol: tcp
    node_port: 31615
    entry_nodes: [k8s-s]
    backends:
      - {name: be1, address: 172.16.2.11, port: 80, node: k8s-w1}
      - {name: be2, address: 172.16.2.12, port: 80, node: k8s-w1}
      - {name: be3, address: 172.16.2.13, port: 80, node: k8s-w1, weight: 2}
      - {name: be4, address: 172.16.2.14, port: 80, node: k8s-w1}
      - {name: be5, address: 172.16.2.15, port: 80, node: k8s-w1}
  - name: small
    protocol: tcp
    node_port: 31700
    entry_nodes: [k8s-s]
    maglev_table_size: 7
    backends:
      - {name: a, address: 172.16.2.11, port: 8080, node: k8s-w1}
      - {name: b, address: 172.16.2.12, port: 8080, node: k8s-w1}
      - {name: c, address: 172.16.2.13, port: 8080, node: k8s-w1}
"""

SYN = r"""
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("192.168.10.200", int(sys.argv[1])))
s.settimeout(0.3)  # the RST comes from the backend address: no match, just wait briefly
try:
    s.connect(("192.168.10.10", int(sys.argv[2])))
except OSError:
    pass
"""


def counters(lab, cfg):
    st = json.loads(run(CTL, "status", "--config", cfg, "--node", "k8s-s", "-o", "json",
                        ns=lab.entry))
    return {(s["port"], b["name"]): b["packets"] for s in st["services"] for b in s["backends"]}


def body(check):
    with EntryLab("tr", [f"172.16.2.{i}" for i in range(11, 16)]) as lab:
        scenario(lab, check)


def scenario(lab, check):
    CL, EN = lab.client, lab.entry
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "nfdsr.yaml")
        with open(cfg, "w") as f:
            f.write(CONFIG)
        run(CTL, "apply", "--node", "k8s-s", cfg, ns=EN)
        seen = set()
        for vport in (31615, 31700):
            for n in range(12):
                sport = 40001 + 997 * n + vport % 7
                before = counters(lab, cfg)
                run(sys.executable, "-c", SYN, str(sport), str(vport), ns=CL)
                after = counters(lab, cfg)
                moved = [k[1] for k in after if k[0] == vport and after[k] > before.get(k, 0)]
                tr = json.loads(run(CTL, "trace", f"192.168.10.200:{sport}", f"192.168.10.10:{vport}", "tcp",
                                    "--config", cfg, "--node", "k8s-s", "-o", "json", ns=EN))
                predicted = tr["backend"]["name"] if tr["backend"] else None
                check(moved == [predicted],
                      f"port {vport} sport {sport}: kernel chose {moved}, trace says {predicted} "
                      f"(bucket {tr['bucket']})")
                check(tr["kernel"] is not None and tr["kernel"]["agrees"] and tr["kernel"]["backend"] == predicted,
                      f"port {vport} sport {sport}: nfdsr.ko's packet tracer agrees ({tr['kernel']})")
                seen.add((vport, predicted))
        check(len([s for s in seen if s[0] == 31615]) >= 3,
              f"the flows spread over several backends: {sorted(seen)}")
        # Not an entry service on this node.
        out = run(CTL, "trace", "192.168.10.200:1234", "192.168.10.10:9999", "--config", cfg, "--node", "k8s-s",
                  ns=EN)
        check("not an entry service on this node" in out, "unknown service is explained")
        # The human form names the bucket and the backend.
        out = run(CTL, "trace", "192.168.10.200:40001", "192.168.10.10:31615", "--config", cfg, "--node", "k8s-s",
                  ns=EN)
        check("maglev bucket:" in out and "backend: be" in out and "dispatch: opt" in out and
              "agrees with the prediction" in out, "human trace:\n" + out)


main(body)
