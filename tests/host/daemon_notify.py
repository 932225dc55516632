#!/usr/bin/env python3
"""host_daemon_notify: nfdsrd's systemd protocol and journal logging, without systemd.

    daemon_notify.py NFDSRD SOURCE_DIR

Plays systemd's part: a NOTIFY_SOCKET datagram socket and a JOURNAL_STREAM
naming the daemon's stderr. In a fresh network namespace (--no-module):
  start          -> READY=1 + STATUS=applied ... as node k8s-s
  SIGHUP         -> RELOADING=1 + MONOTONIC_USEC=..., then READY=1
  SIGHUP, config broken -> RELOADING=1, READY=1 with STATUS naming the error;
                    the daemon keeps running, `nft list ruleset` unchanged
  SIGTERM        -> STOPPING=1, exit 0, the ruleset stays installed
  start, config broken -> READY=1 with STATUS "not applied: ...", still
                    running, ruleset unchanged; fixed config + SIGHUP applies
and every log line on stderr carries a <N> syslog priority prefix.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from nfdsr_testlib import HostTest  # noqa: E402

T = HostTest("notify")
SRC, check = T.src, T.check


def ruleset():
    return T.sh("nft", "list", "ruleset", check=True).stdout


def recv(sock, timeout=10.0):
    """Next notification as a dict (keys in order)."""
    sock.settimeout(timeout)
    data = sock.recv(4096).decode()
    out = {}
    for line in data.split("\n"):
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    print("  notify:", out)
    return out


with T.netns("nfdsr-notify.") as tmp:
    # host settings: nfdsrd turns off send_redirects (owned) and reports ip_forward
    T.sh("sysctl", "-qw", "net.ipv4.conf.all.send_redirects=1", "net.ipv4.ip_forward=0", check=True)
    config = os.path.join(tmp, "nfdsr.yaml")
    shutil.copy(os.path.join(SRC, "examples/reference-lab.yaml"), config)

    sock_path = os.path.join(tmp, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)

    errlog = open(os.path.join(tmp, "stderr.log"), "w+")
    st = os.fstat(errlog.fileno())
    env = dict(os.environ, NOTIFY_SOCKET=sock_path, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
    proc = T.nfdsrd_popen("--config", config, "--node", "k8s-s", "--no-module",
                          env=env, stderr=errlog, stdout=subprocess.DEVNULL)

    m = recv(sock)
    check(m.get("READY") == "1", "READY=1 after the first apply")
    check(m.get("STATUS", "").startswith(f"applied {config} as node k8s-s: 3 entry services"),
          "STATUS names what was applied")
    before = ruleset()
    check("table ip nfdsr" in before, "table ip nfdsr installed")
    redirects = T.sh("sysctl", "-n", "net.ipv4.conf.all.send_redirects", check=True).stdout.strip()
    check(redirects == "0", "start: nfdsrd set net.ipv4.conf.all.send_redirects = 0 (entry node)")

    # reload, same config
    proc.send_signal(signal.SIGHUP)
    m = recv(sock)
    now_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    check(m.get("RELOADING") == "1", "SIGHUP: RELOADING=1")
    mono = int(m.get("MONOTONIC_USEC", "0"))
    check(0 < mono <= now_usec, "RELOADING=1 carries MONOTONIC_USEC (CLOCK_MONOTONIC)")
    m = recv(sock)
    check(m.get("READY") == "1" and "reloads: 1" in m.get("STATUS", ""), "READY=1 after the reload")

    # reload with a broken config: rejected, state kept, daemon alive
    shutil.copy(os.path.join(SRC, "tests/host/configs/broken/22-backend-port-range.yaml"), config)
    proc.send_signal(signal.SIGHUP)
    check(recv(sock).get("RELOADING") == "1", "broken config: RELOADING=1")
    m = recv(sock)
    check(m.get("READY") == "1", "broken config: READY=1 again (still serving the old state)")
    check("failed, last: invalid config: " in m.get("STATUS", "") and ":10:54: services[0].backends[0].port:"
          in m.get("STATUS", ""), "broken config: STATUS names the error with line:column and field")
    check(proc.poll() is None, "broken config: daemon keeps running")
    check(ruleset() == before, "broken config: ruleset unchanged byte for byte")

    proc.send_signal(signal.SIGTERM)
    m = recv(sock)
    check(m.get("STOPPING") == "1", "SIGTERM: STOPPING=1")
    check(proc.wait(timeout=10) == 0, "SIGTERM: exit 0")
    check(ruleset() == before, "after exit: the data path stays installed")

    errlog.seek(0)
    lines = [l for l in errlog.read().splitlines() if l]
    print("  stderr:\n    " + "\n    ".join(lines))
    check(bool(lines) and all(l[:1] == "<" and l[1:2].isdigit() and l[2:3] == ">" for l in lines),
          "every log line carries a <N> priority prefix (JOURNAL_STREAM detected), multi-line messages too")
    check(any(l.startswith("<3>" + config + ":10:54: services[0].backends[0].port:") for l in lines),
          "the config error's own line is logged as <3>")
    check(any(l.startswith("<6>start: applied") for l in lines), "info line as <6>")
    check(any(l.startswith("<3>reload: invalid config") for l in lines), "error line as <3>")
    check(any(l.startswith("<4>host check: net.ipv4.ip_forward") and "fix: sysctl -w net.ipv4.ip_forward=1" in l
              for l in lines), "start: the unmet host setting is reported as a warning with its fix")

    # start with a broken config: nothing changes, the daemon keeps running
    # and waits for SIGHUP with a valid one
    proc = T.nfdsrd_popen("--config", config, "--node", "k8s-s", "--no-module",
                          env=env, stderr=errlog, stdout=subprocess.DEVNULL)
    m = recv(sock)
    check(m.get("READY") == "1" and m.get("STATUS", "").startswith("not applied: invalid config: ")
          and ":10:54: services[0].backends[0].port:" in m.get("STATUS", ""),
          "broken config at start: READY=1, STATUS says nothing was applied and why")
    time.sleep(0.5)
    check(proc.poll() is None, "broken config at start: daemon keeps running")
    check(ruleset() == before, "broken config at start: ruleset unchanged byte for byte")
    shutil.copy(os.path.join(SRC, "examples/reference-lab.yaml"), config)
    proc.send_signal(signal.SIGHUP)
    check(recv(sock).get("RELOADING") == "1", "fixed config: RELOADING=1")
    m = recv(sock)
    check(m.get("READY") == "1" and m.get("STATUS", "").startswith(f"applied {config} as node k8s-s"),
          "fixed config + SIGHUP: applied")
    proc.send_signal(signal.SIGTERM)
    check(recv(sock).get("STOPPING") == "1", "SIGTERM: STOPPING=1")
    check(proc.wait(timeout=10) == 0, "SIGTERM: exit 0")

T.exit()
