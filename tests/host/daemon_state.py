#!/usr/bin/env python3
"""host_daemon_state: nfdsrctl talks to the running nfdsrd (reload, status, trace).

    daemon_state.py NFDSRD SOURCE_DIR NFDSRCTL

In a fresh network namespace, nfdsrd --no-module as node k8s-s with the
health lab config (tests/e2e/configs/health-lab.yaml). Only stream2/webpod1
(172.16.2.214:7000, a listener on lo) passes its health check:
  - without a daemon: `nfdsrctl reload` fails saying nfdsrd is not running,
    `status` says so and reports health "unknown";
  - with it: `status` (no --config, no --node: the daemon's) shows the daemon,
    stream2/webpod1 up and every other checked backend down, svc1 with no
    Maglev buckets; `trace` sends a stream2 flow to webpod1 (the daemon's
    plan, not the config's);
  - `nfdsrctl reload` waits for the daemon: exit 0 and "reloaded: applied";
    with a broken config exit 1 naming line:column and field, the daemon
    keeps running; fixed again, exit 0;
  - changes to table ip nfdsr by anyone else (a deleted Maglev element, a
    flushed chain, `nfdsrctl apply` beside the daemon, which warns) are
    seen through nftables events and undone by the daemon on its own,
    counted in nfdsr_table_repairs_total; its own reload is not one.
"""
import difflib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from nfdsr_testlib import HostTest  # noqa: E402
from nft_canon import canon  # noqa: E402

T = HostTest("dstate")
SRC, check, sh = T.src, T.check, T.sh
NFDSRCTL = sys.argv[3]


def ctl(*args):
    env = dict(os.environ, NFDSR_RUN_DIR=T.run_dir)
    r = subprocess.run(T.nsexec(NFDSRCTL, *args), capture_output=True, text=True, env=env)
    print(f"  $ nfdsrctl {' '.join(args)} -> {r.returncode}\n    " +
          (r.stdout + r.stderr).strip().replace("\n", "\n    "))
    return r


def backends(status_json):
    out = {}
    for svc in status_json.get("services", []):
        for b in svc["backends"]:
            out[(svc["name"], b["name"])] = b
    return out


with T.netns("nfdsr-dstate-") as tmp:
    config = os.path.join(tmp, "nfdsr.yaml")
    shutil.copy(os.path.join(SRC, "tests/e2e/configs/health-lab.yaml"), config)
    T.sh("ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth1", check=True)
    T.sh("ip", "addr", "add", "192.168.10.10/24", "dev", "eth0", check=True)
    T.sh("ip", "link", "set", "eth0", "up", check=True)
    T.sh("ip", "addr", "add", "172.16.2.214/32", "dev", "lo", check=True)

    r = ctl("reload")
    check(r.returncode == 1 and "nfdsrd is not running" in r.stderr, "no daemon: reload fails and says why")
    r = ctl("status", "--config", config, "--no-module", "-o", "json")
    st = json.loads(r.stdout)
    check(st["nfdsrd"].startswith("not running"), "no daemon: status says nfdsrd is not running")
    check(backends(st)[("stream2", "webpod1")]["health"] == "unknown", "no daemon: health unknown")

    # stream2/webpod1's echo port answers; nothing else does
    listener = subprocess.Popen(T.nsexec("python3", "-c", """
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("172.16.2.214", 7000)); s.listen(64)
while True:
    c, _ = s.accept(); c.close()
"""))
    proc = T.nfdsrd_popen("--config", config, "--node", "k8s-s", "--no-module",
                          stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "nfdsrd.log"), "w"))
    try:
        # fall 2 x interval 1 s: the dead ones are down within ~3 s
        want = {("stream2", "webpod1"): "up", ("stream2", "webpod2"): "down",
                ("svc1", "webpod1"): "down", ("svc1", "webpod2"): "down"}
        seen = {}
        for _ in range(100):
            time.sleep(0.1)
            r = ctl("status", "--no-module", "-o", "json") if _ % 10 == 9 else None
            if r is None or r.returncode != 0:
                continue
            st = json.loads(r.stdout)
            seen = {k: b["health"] for k, b in backends(st).items() if k in want}
            if seen == want:
                break
        check(seen == want, f"status shows the daemon's health results: {seen}")
        check(st["nfdsrd"].startswith(f"running (pid {proc.pid}), {config}"),
              "status (no --config/--node) reads the running daemon's config and node")
        b = backends(st)
        check(b[("svc1", "webpod1")]["buckets"] == 0 and b[("stream2", "webpod1")]["buckets"] > 0,
              "status: Maglev buckets of the daemon's plan (down backends have none)")
        text = ctl("status", "--no-module").stdout
        check("nfdsrd:   running (pid" in text and "up" in text and "down" in text,
              "status text: daemon line and health column")
        # a flow the config alone (a copy: not what the daemon runs) sends to webpod2
        other = os.path.join(tmp, "other.yaml")
        shutil.copy(config, other)
        port = None
        for p in range(40000, 40200):
            r = ctl("trace", f"192.168.10.200:{p}", "192.168.10.10:31620", "--config", other,
                    "--node", "k8s-s", "-o", "json")
            if json.loads(r.stdout).get("backend", {}).get("name") == "webpod2":
                port = p
                break
        check(port is not None, "some client port hashes to webpod2 when every backend counts as healthy")
        r = ctl("trace", f"192.168.10.200:{port}", "192.168.10.10:31620", "-o", "json")
        check(r.returncode == 0 and json.loads(r.stdout).get("backend", {}).get("name") == "webpod1",
              "trace uses the daemon's health results: that flow goes to webpod1 (webpod2 is down)")

        r = ctl("reload")
        check(r.returncode == 0 and r.stdout.startswith(f"reloaded: applied {config} as node k8s-s"),
              "reload: exit 0 once the daemon applied the config")
        shutil.copy(os.path.join(SRC, "tests/host/configs/broken/22-backend-port-range.yaml"), config)
        r = ctl("reload")
        check(r.returncode == 1 and "reload failed" in r.stderr and ":10:54: services[0].backends[0].port:" in r.stderr,
              "reload of a broken config: exit 1 with line:column and field")
        check(proc.poll() is None, "the daemon keeps running")
        shutil.copy(os.path.join(SRC, "tests/e2e/configs/health-lab.yaml"), config)
        r = ctl("reload")
        check(r.returncode == 0, "fixed config: reload exit 0")

        # changes by anyone else are undone by the daemon on its own, seen
        # through nftables events (no reload): a deleted map element, a
        # flushed chain, a manual apply beside it (which warns)
        def listing():
            out = T.sh("nft", "list", "table", "ip", "nfdsr").stdout
            return canon(re.sub(r"counter packets \d+ bytes \d+", "counter", out))

        def log_text():
            return open(os.path.join(tmp, "nfdsrd.log")).read()

        def repaired_after(n_before, what):
            # the log's "repaired" lines: one more than before, within 30 s (a cap, not a measurement)
            for _ in range(300):
                if log_text().count("nft watch: table ip nfdsr repaired") > n_before:
                    return True
                time.sleep(0.1)
            return False

        want_table = listing()
        stream2 = re.search(r"(\d+\.\d+\.\d+\.\d+ \. tcp \. \d+) : goto entry", want_table).group(1)
        for what, cmd in [("a deleted map element", ["delete", "element", "ip", "nfdsr", "classify_dst",
                                                     "{ " + stream2 + " }"]),
                          ("a flushed chain", ["flush", "chain", "ip", "nfdsr", "entry"])]:
            n = log_text().count("nft watch: table ip nfdsr repaired")
            T.sh("nft", *cmd, check=True)
            ok = repaired_after(n, what)
            now = listing()
            if now != want_table:
                print("\n".join(list(difflib.unified_diff(want_table.splitlines(), now.splitlines(), lineterm=""))[:40]))
            check(ok and now == want_table and "changed by another process" in log_text(),
                  f"{what}: the daemon puts the table back on its own (nftables events, no reload)")
        r = ctl("apply", config, "--node", "k8s-s", "--no-module")
        check(r.returncode == 0 and f"warning: nfdsrd (pid {proc.pid}) manages this node" in r.stderr,
              "apply beside a running nfdsrd warns that the daemon will put its config back")
        check(repaired_after(0, "apply") and listing() == want_table,
              "the daemon puts its own table back after a manual apply")
        metrics = subprocess.run(T.nsexec("curl", "-sS", "http://127.0.0.1:9798/metrics"),
                                 capture_output=True, text=True).stdout
        m = re.search(r"^nfdsr_table_repairs_total (\d+)$", metrics, re.M)
        check(m is not None and int(m.group(1)) >= 3, f"metrics count the repairs: {m.group(0) if m else None}")
        own = log_text().count("changed by another process")
        unchanged = log_text().count("unchanged, same health results: nothing to send")
        r = ctl("reload")
        check(r.returncode == 0 and log_text().count("changed by another process") == own,
              "the daemon's own commits are not taken for foreign changes")
        check(log_text().count("unchanged, same health results: nothing to send") == unchanged + 1,
              "a reload of the unchanged file with the same health results sends nothing")
        with open(config, "a") as f:
            f.write("# a comment: other bytes, the same config\n")
        r = ctl("reload")
        check(r.returncode == 0 and
              log_text().count("unchanged, same health results: nothing to send") == unchanged + 1 and
              re.search(r"nftables: table ip nfdsr updated \(\d+ entry services; 0 messages", log_text()),
              "a changed file is parsed and planned again (here: nothing differs, 0 nftables messages)")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        listener.kill()
    r = ctl("reload")
    check(r.returncode == 1 and "gone" in r.stderr, "after the daemon exited: reload says it is gone")

T.exit()
