"""The host tests' entry-node topology in fresh network namespaces.

client 192.168.10.200 (vc0) -- (ve0) entry k8s-s 192.168.10.10, 172.16.2.1
(ve1) -- (vb0) backend namespace holding the given backend addresses
(172.16.2.x, no listener needed: only the entry node's choice is checked).
The entry node forwards; the test applies its config there with nfdsrctl.
"""
import os
import subprocess
import sys


def run(*cmd, ns=None, check_rc=True):
    if ns:
        cmd = ("ip", "netns", "exec", ns) + cmd
    p = subprocess.run(cmd, capture_output=True, text=True)
    if check_rc and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}\n{p.stdout}{p.stderr}")
    return p.stdout


class Checks:
    def __init__(self):
        self.failures = []

    def __call__(self, cond, what):
        print(("ok:   " if cond else "FAIL: ") + what)
        if not cond:
            self.failures.append(what)


class EntryLab:
    def __init__(self, name, backend_addrs):
        tag = f"{name}-{os.getpid()}"
        self.client, self.entry, self.backend = f"nfdsr-{tag}-cl", f"nfdsr-{tag}-en", f"nfdsr-{tag}-be"
        self.backend_addrs = backend_addrs

    def __enter__(self):
        cl, en, be = self.client, self.entry, self.backend
        for ns in (cl, en, be):
            run("ip", "netns", "add", ns)
            run("ip", "link", "set", "lo", "up", ns=ns)
        run("ip", "link", "add", "vc0", "netns", cl, "type", "veth", "peer", "name", "ve0", "netns", en)
        run("ip", "link", "add", "ve1", "netns", en, "type", "veth", "peer", "name", "vb0", "netns", be)
        run("ip", "addr", "add", "192.168.10.200/24", "dev", "vc0", ns=cl)
        run("ip", "addr", "add", "192.168.10.10/24", "dev", "ve0", ns=en)
        run("ip", "addr", "add", "172.16.2.1/24", "dev", "ve1", ns=en)
        for a in self.backend_addrs:
            run("ip", "addr", "add", f"{a}/24", "dev", "vb0", ns=be)
        for ns, dev in ((cl, "vc0"), (en, "ve0"), (en, "ve1"), (be, "vb0")):
            run("ip", "link", "set", dev, "up", ns=ns)
        run("ip", "route", "add", "default", "via", "172.16.2.1", ns=be)
        run("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=en)
        return self

    def __exit__(self, *exc):
        for ns in (self.client, self.entry, self.backend):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        return False


def main(body):
    """Run body(checks); print the failures' count and exit 1 if any."""
    checks = Checks()
    try:
        body(checks)
    except Exception as e:  # noqa: BLE001
        checks(False, str(e))
    print(f"{len(checks.failures)} failure(s)")
    sys.exit(1 if checks.failures else 0)
