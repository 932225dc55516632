#!/usr/bin/env python3
"""host_metrics: nfdsrd's Prometheus endpoint.

    metrics.py NFDSRD SOURCE_DIR

In a fresh network namespace holding k8s-s's address, nfdsrd --no-module
with the reference lab config:
  - GET http://127.0.0.1:9798/metrics: text format, per service/backend
    counters with labels, backend_up, apply_total/errors/duration;
  - the default binds loopback only: nothing listens on the node address;
  - a SIGHUP with a broken config counts an apply error;
  - metrics.listen on another address moves the endpoint; "" disables it.
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from nfdsr_testlib import HostTest  # noqa: E402

T = HostTest("metrics")
SRC, check, sh = T.src, T.check, T.sh


def get(addr, port, path="/metrics"):
    r = sh("curl", "-sS", "--max-time", "3", f"http://{addr}:{port}{path}")
    return r.returncode, r.stdout + r.stderr


def wait_for(addr, port, present=True, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        rc, _ = get(addr, port)
        if (rc == 0) == present:
            return True
        time.sleep(0.1)
    return False


def listeners():
    return sh("ss", "-Hltn").stdout


def main(d):
    base = open(os.path.join(SRC, "examples", "reference-lab.yaml")).read()
    cfg = os.path.join(d, "nfdsr.yaml")
    with open(cfg, "w") as f:
        f.write(base)
    sh("ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth1")
    sh("ip", "link", "set", "eth1", "up")
    sh("ip", "addr", "add", "192.168.10.10/24", "dev", "eth0")
    sh("ip", "link", "set", "eth0", "up")
    log = open(os.path.join(d, "nfdsrd.log"), "w")
    p = T.nfdsrd_popen("--no-module", "--config", cfg, "--log-level", "debug", stdout=log, stderr=log)
    try:
        check(wait_for("127.0.0.1", 9798), "endpoint answers on 127.0.0.1:9798 (default)")
        rc, body = get("127.0.0.1", 9798)
        print(body[:600])
        check('nfdsr_service_backend_packets_total{service="svc1",backend="webpod1",node="k8s-w1"} 0' in body,
              "per backend packets with service/backend/node labels")
        check('nfdsr_service_backend_bytes_total{service="local1",backend="webpod0",node="k8s-s"} 0' in body,
              "per backend bytes")
        check('nfdsr_backend_up{service="udp1",backend="webpod1",node="k8s-w1"} 1' in body, "backend_up")
        check("nfdsr_apply_total 1\n" in body and "nfdsr_apply_errors_total 0\n" in body, "apply counters")
        check("# TYPE nfdsr_apply_duration_seconds gauge" in body, "apply duration")
        check("nfdsr_module_loaded" not in body, "--no-module: no module metrics")
        lst = listeners()
        check("127.0.0.1:9798" in lst and "0.0.0.0:9798" not in lst and "*:9798" not in lst,
              "listens on loopback only:\n" + lst)
        rc, _ = get("192.168.10.10", 9798)
        check(rc != 0, "not reachable on the node address")
        rc, out = get("127.0.0.1", 9798, "/nope")
        check(sh("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                 "http://127.0.0.1:9798/nope").stdout == "404", "other paths: 404")

        # A rejected reload counts as an apply error, the endpoint stays.
        with open(cfg, "w") as f:
            f.write(base.replace("port: 80,", "port: 70000,", 1))
        p.send_signal(signal.SIGHUP)
        end = time.time() + 10
        body = ""
        while time.time() < end and "nfdsr_apply_errors_total 1\n" not in body:
            time.sleep(0.1)
            body = get("127.0.0.1", 9798)[1]
        check("nfdsr_apply_total 2\n" in body and "nfdsr_apply_errors_total 1\n" in body,
              "broken reload: apply_total 2, apply_errors_total 1")

        # Move the endpoint to the node address.
        with open(cfg, "w") as f:
            f.write("metrics: {listen: 192.168.10.10:9799}\n" + base)
        p.send_signal(signal.SIGHUP)
        check(wait_for("192.168.10.10", 9799), "metrics.listen 192.168.10.10:9799 takes effect on reload")
        check(wait_for("127.0.0.1", 9798, present=False), "old endpoint closed")

        # Disable it.
        with open(cfg, "w") as f:
            f.write('metrics: {listen: ""}\n' + base)
        p.send_signal(signal.SIGHUP)
        check(wait_for("192.168.10.10", 9799, present=False), 'metrics.listen "" disables the endpoint')
        check(":979" not in listeners(), "nothing listens any more")
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
        log.close()
        if T.failures:
            print(open(os.path.join(d, "nfdsrd.log")).read()[-3000:])


with T.netns("nfdsr-metrics-") as d:
    try:
        main(d)
    except Exception as e:  # noqa: BLE001
        T.failures.append(str(e))
        print("FAIL:", e)
T.exit()
