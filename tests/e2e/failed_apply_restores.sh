#!/bin/bash
# failed_apply_restores (issue 4, Config and apply): an apply that fails
# after nfdsr.ko was updated leaves the module exactly as it was, and
# nftables untouched. The failure is a real one: /proc/sys read-only (as in
# a container), so the tunl0 reverse-path setting cannot be written; that
# happens after the module got the new bindings and before the nftables
# commit. Checked on k8s-w1 (configured: its bindings come back, one by one)
# and on k8s-w2 (never configured: it goes back to unconfigured, hooks off).
source "$NFDSR_SRC_DIR/tests/e2e/common.sh"
modprobe ipip || lab_fail "cannot load the ipip module" # tunl0: the route step writes its rp_filter
e2e_up
extra=$E2E_OUT/extra-binding.yaml
{
  cat "$E2E_CONFIG"
  cat <<'Y'
  - name: extra
    protocol: tcp
    vip: 10.99.0.1
    port: 8080
    backends:
      - {name: webpod1, address: 172.16.2.214, port: 8080, node: k8s-w1}
      - {name: w2, address: 192.168.10.102, port: 8080, node: k8s-w2}
Y
} >"$extra"
bindings() { lab_exec "$1" nfdsrctl show -o json | python3 -c 'import json,sys; m=json.load(sys.stdin)["module"]; print(m["hooks"], *m["bindings"], sep="\n")'; }
ruleset() { lab_exec "$1" nft list ruleset; }
# apply_ro NODE: nfdsrctl apply of $extra with /proc/sys read-only; must fail
apply_ro() {
  local out
  if out=$(lab_exec "$1" unshare -m sh -c \
    "mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && exec nfdsrctl apply '$extra'" 2>&1); then
    echo "$out"
    lab_fail "apply on $1 with /proc/sys read-only succeeded"
  fi
  echo "$out" | sed -n '1,12p'
  lab_expect_contains "$out" "cannot write /proc/sys/net/ipv4/conf/tunl0/rp_filter" "$1: the apply failed at the route step"
  lab_expect_contains "$out" "nfdsr.ko: put back what it had before the failed apply" "$1: the module was put back"
}

# k8s-w1: configured; the failed apply would have added 10.99.0.1:8080 -> webpod1
lab_exec k8s-w1 nfdsrctl apply "$extra" --node k8s-w1 >/dev/null # (sanity: the extra config applies when /proc/sys is writable)
with_extra=$(bindings k8s-w1)
lab_exec k8s-w1 nfdsrctl apply "$E2E_CONFIG" >/dev/null
b0=$(bindings k8s-w1) r0=$(ruleset k8s-w1)
[[ $with_extra != "$b0" && $with_extra == *"10.99.0.1:8080"* ]] || lab_fail "the extra config does not change k8s-w1's bindings"
echo "k8s-w1 bindings before:"; echo "$b0"
apply_ro k8s-w1
b1=$(bindings k8s-w1) r1=$(ruleset k8s-w1)
[[ $b1 == "$b0" ]] || { echo "$b1"; lab_fail "k8s-w1: the module's bindings changed after the failed apply"; }
[[ $r1 == "$r0" ]] || { diff <(echo "$r0") <(echo "$r1") | head -20; lab_fail "k8s-w1: the ruleset changed"; }
lab_ok "k8s-w1: bindings and ruleset exactly as before the failed apply"

# k8s-w2: never configured (flushed): stays unconfigured, hooks off
lab_exec k8s-w2 nfdsrctl flush >/dev/null
b0=$(bindings k8s-w2) r0=$(ruleset k8s-w2)
[[ $b0 == False ]] || lab_fail "k8s-w2 not unconfigured after flush: $b0"
apply_ro k8s-w2
b1=$(bindings k8s-w2) r1=$(ruleset k8s-w2)
[[ $b1 == False ]] || { echo "$b1"; lab_fail "k8s-w2: the module kept a configuration after the failed apply"; }
[[ $r1 == "$r0" ]] || lab_fail "k8s-w2: the ruleset changed"
lab_ok "k8s-w2: still unconfigured (hooks off, no bindings), no table"

# and the service still works end to end
out=$(lab_exec k8s-w2 nfdsrctl apply "$E2E_CONFIG") || lab_fail "apply on k8s-w2"
out=$(lab_exec test-pc curl -sS --max-time 10 http://192.168.10.10:31615/) || lab_fail "svc1 after the failed applies"
lab_expect_contains "$out" "Hostname: webpod1" "svc1 answers"
