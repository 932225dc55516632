"""Shared scaffolding of the host tests that run nfdsrd in a fresh network
namespace (daemon_notify.py, metrics.py; both take NFDSRD SOURCE_DIR):

    T = HostTest("metrics")          # namespace nfdsr-metrics-<pid>
    with T.netns("nfdsr-metrics-") as tmp:   # + a temp dir; both removed after
        T.check(cond, "what")
        T.sh("nft", "list", "ruleset")      # a command inside the namespace
        proc = T.nfdsrd_popen("--config", cfg, ...)
    T.exit()                         # summary line, exit 1 on any failed check
"""
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile


class HostTest:
    def __init__(self, name, argv=None):
        argv = sys.argv if argv is None else argv
        self.nfdsrd, self.src = argv[1], argv[2]
        self.ns = f"nfdsr-{name}-{os.getpid()}"
        self.failures = []

    def check(self, cond, what):
        print(("ok:   " if cond else "FAIL: ") + what)
        if not cond:
            self.failures.append(what)

    def nsexec(self, *cmd):
        """argv running cmd inside the namespace."""
        return ["ip", "netns", "exec", self.ns, *cmd]

    def sh(self, *cmd, check=False):
        """Run cmd inside the namespace; output captured as text."""
        return subprocess.run(self.nsexec(*cmd), check=check, capture_output=True, text=True)

    def nfdsrd_popen(self, *args, **popen_kw):
        """Start nfdsrd inside the namespace. Its runtime directory (state
        file, dispatch override) is $NFDSR_RUN_DIR if the caller's env sets
        it, else <tmp>/run: never the host's /run/nfdsr."""
        env = dict(popen_kw.pop("env", None) or os.environ)
        env.setdefault("NFDSR_RUN_DIR", self.run_dir)
        return subprocess.Popen(self.nsexec(self.nfdsrd, *args), env=env, **popen_kw)

    @contextlib.contextmanager
    def netns(self, tmp_prefix):
        """Create the namespace (lo up) and a temp dir (yielded); remove both on exit."""
        tmp = tempfile.mkdtemp(prefix=tmp_prefix)
        self.run_dir = os.path.join(tmp, "run")
        try:
            subprocess.run(["ip", "netns", "add", self.ns], check=True)
            self.sh("ip", "link", "set", "lo", "up", check=True)
            yield tmp
        finally:
            subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)
            shutil.rmtree(tmp, ignore_errors=True)

    def exit(self):
        print("PASS" if not self.failures else f"FAILED: {len(self.failures)} check(s)")
        sys.exit(1 if self.failures else 0)
