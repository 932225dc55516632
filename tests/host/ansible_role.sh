#!/usr/bin/env bash
# The Ansible role and the rolling dispatch switch (ansible/), run with the
# real ansible-playbook against three nodes k8s-s, k8s-w1, k8s-w2 that are
# network namespaces on this host, each with its own nfdsrd (--no-module: the
# module and the data path are covered by the VM tests, e.g.
# reload_keeps_connections switches the dispatch through nfdsrd under
# traffic; here the subject is what the playbooks do to the nodes):
#  - site.yml deploys each node's config (rendered from nfdsr_config,
#    validated, nfdsrd reloaded); a second run changes nothing;
#  - dispatch-switch.yml --limit k8s-s,k8s-w2 switches them to ipip and back,
#    one node after the other, and k8s-w1 keeps opt;
#  - a broken config fails at validate: the node's file and table unchanged.
# The inventory runs every module inside its node's namespace:
# ansible_connection=local, ansible_python_interpreter "ip netns exec NS python3".
#   ansible_role.sh NFDSRCTL NFDSRD SOURCE_DIR
set -euo pipefail
ctl=$1 daemon=$2 src=$3
command -v ansible-playbook >/dev/null || { echo "FAIL: ansible-playbook not installed (scripts/deps)"; exit 1; }
ANS_DIR=$src/ansible
work=$(mktemp -d /tmp/nfdsr-host-ansible.XXXXXX)
tag=nfdsr-host-ans-$$
NODES=(k8s-s k8s-w1 k8s-w2)
declare -A ADDR=([k8s-s]=192.168.10.10 [k8s-w1]=192.168.10.101 [k8s-w2]=192.168.10.102)
cleanup() {
  local n
  for n in "${NODES[@]}"; do
    [[ -f $work/$n/nfdsrd.pid ]] && kill "$(cat "$work/$n/nfdsrd.pid")" 2>/dev/null
    ip netns del "$tag-$n" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

mkdir -p "$work/home" "$work/tmp"
export HOME=$work/home ANSIBLE_HOME=$work/home ANSIBLE_LOCAL_TEMP=$work/tmp ANSIBLE_REMOTE_TEMP=$work/tmp \
  ANSIBLE_PIPELINING=1 ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_ROLES_PATH=$ANS_DIR/roles

# the streaming lab's config, both dispatch modes possible (tunl0 is a veth
# stand-in: this kernel has no ipip; the routes into it are what matters here)
base=$src/tests/e2e/configs/stream-lab.yaml
for n in "${NODES[@]}"; do
  ns=$tag-$n
  mkdir -p "$work/$n/run"
  cp "$base" "$work/$n/nfdsr.yaml"
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "${ADDR[$n]}/32" dev lo
  ip -n "$ns" link add tunl0 type veth peer name tunl0-peer
  ip netns exec "$ns" env NFDSR_RUN_DIR="$work/$n/run" "$daemon" --no-module --config "$work/$n/nfdsr.yaml" \
    --node "$n" >"$work/$n/nfdsrd.log" 2>&1 &
  echo $! >"$work/$n/nfdsrd.pid"
done
for n in "${NODES[@]}"; do
  for ((i = 0; i < 100; i++)); do grep -q 'start: applied' "$work/$n/nfdsrd.log" && break; sleep 0.1; done
  grep -q 'start: applied' "$work/$n/nfdsrd.log" || { cat "$work/$n/nfdsrd.log"; fail "nfdsrd on $n did not start"; }
done

inventory=$work/inventory.yml
{
  echo "nfdsr:"
  echo "  hosts:"
  for n in "${NODES[@]}"; do
    echo "    $n:"
    echo "      ansible_python_interpreter: ip netns exec $tag-$n $(command -v python3)"
    echo "      nfdsr_config_path: $work/$n/nfdsr.yaml"
    echo "      nfdsr_run_dir: $work/$n/run"
  done
  cat <<EOF
  vars:
    ansible_connection: local
    nfdsr_become: false
    nfdsr_service_manager: none
    nfdsrctl: $ctl
    nfdsr_config: "{{ lookup('file', '$base') | from_yaml }}"
EOF
} >"$inventory"

# play NAME ARGS...: ansible-playbook, output in $work/NAME.log, recap shown
play() {
  local name=$1 rc=0
  shift
  ansible-playbook -i "$inventory" "$@" >"$work/$name.log" 2>&1 </dev/null || rc=$?
  sed -n '/^PLAY RECAP/,$p' "$work/$name.log"
  return $rc
}
recap() { grep -E "^$2 +: ok=" "$work/$1.log" || fail "$1: no recap line for $2"; }
play_failed() {
  grep -E -A3 '^(fatal|failed):' "$work/$1.log" | cut -c1-600 || true
  fail "ansible-playbook $1 failed"
}
dispatch_of() { # NODE: the dispatch of NodePort 31618 that NODE's nfdsrd runs (nfdsrctl status)
  ip netns exec "$tag-$1" env NFDSR_RUN_DIR="$work/$1/run" "$ctl" status --config "$work/$1/nfdsr.yaml" \
    --node "$1" --no-module -o json |
    python3 -c 'import json, sys; print(*[s["dispatch"] for s in json.load(sys.stdin)["services"] if s["port"] == 31618])'
}
canon() { ip netns exec "$tag-$1" nft -s list table ip nfdsr | python3 "$src/tests/host/nft_canon.py"; }

# the modules really run in their node's namespace
ansible -i "$inventory" nfdsr -m command -a "ip -o -4 addr show dev lo" >"$work/netns.log" 2>&1 </dev/null ||
  { cat "$work/netns.log"; fail "ansible ad-hoc command in the namespaces"; }
for n in "${NODES[@]}"; do
  grep -A2 "^$n |" "$work/netns.log" | grep -q " inet ${ADDR[$n]}/32 " ||
    { cat "$work/netns.log"; fail "$n's module did not run in its namespace"; }
done
ok "ansible runs each node's modules in its namespace"

# deploy: the template differs from the file (comments, order): changed, reloaded
play deploy "$ANS_DIR/site.yml" -e nfdsr_serial=3 || play_failed deploy
for n in "${NODES[@]}"; do
  [[ $(recap deploy "$n") == *" changed=2 "* ]] || fail "deploy on $n: expected changed=2 (config + reload)"
  (($(grep -c 'reload: applied' "$work/$n/nfdsrd.log") >= 1)) || fail "nfdsrd on $n was not reloaded"
done
play deploy-again "$ANS_DIR/site.yml" -e nfdsr_serial=3 || play_failed deploy-again
for n in "${NODES[@]}"; do
  [[ $(recap deploy-again "$n") == *" changed=0 "*" failed=0 "* ]] || fail "second deploy on $n changed something"
done
ok "site.yml deployed on ${NODES[*]}; the second run changed nothing"

# rolling switch of k8s-s and k8s-w2; k8s-w1 is not in --limit
for mode in ipip opt; do
  play "switch-$mode" "$ANS_DIR/dispatch-switch.yml" -e "nfdsr_dispatch=$mode" -e nfdsr_switch_pause=1 \
    --limit k8s-s,k8s-w2 || play_failed "switch-$mode"
  for n in k8s-s k8s-w2; do
    [[ $(dispatch_of "$n") == "$mode" ]] || fail "$n does not show dispatch $mode"
    [[ $(recap "switch-$mode" "$n") == *" changed=1 "* ]] || fail "switch-$mode: $n not reported changed=1"
  done
  [[ $(dispatch_of k8s-w1) == opt ]] || fail "k8s-w1 (not in --limit) changed its dispatch"
  # serial 1: all of k8s-s's task results, then all of k8s-w2's
  order=$(grep -oE '^(ok|changed|skipping|fatal): \[k8s-[a-z0-9]+\]' "$work/switch-$mode.log" |
    sed 's/.*\[\(.*\)\]/\1/' | uniq | tr '\n' ' ')
  [[ $order == "k8s-s k8s-w2 " ]] || fail "switch-$mode did not go node by node: $order"
  ok "dispatch-switch.yml -> $mode: k8s-s, then k8s-w2; k8s-w1 stays opt"
done
# switching again to the mode a node already has changes nothing
play switch-opt-again "$ANS_DIR/dispatch-switch.yml" -e nfdsr_dispatch=opt -e nfdsr_switch_pause=0 \
  --limit k8s-s || play_failed switch-opt-again
[[ $(recap switch-opt-again k8s-s) == *" changed=0 "* ]] || fail "switching k8s-s to the mode it has reported a change"
# a mode that does not exist stops the roll before any node changes
table_before=$(canon k8s-s)
play switch-bad "$ANS_DIR/dispatch-switch.yml" -e nfdsr_dispatch=gre --limit k8s-s,k8s-w2 &&
  fail "dispatch-switch.yml accepted nfdsr_dispatch=gre"
[[ $(canon k8s-s) == "$table_before" ]] || fail "a bad nfdsr_dispatch changed k8s-s"
grep -qE '^k8s-w2 +: ok=[1-9]' "$work/switch-bad.log" && fail "the roll went on to k8s-w2 after k8s-s failed"
ok "switching to the current mode changes nothing; a bad mode stops the play"

# a broken config (backend on an unknown node) fails at validate
python3 - "$base" "$work/broken.json" <<'EOF'
import json, sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
c["services"][-1]["backends"][0]["node"] = "k8s-nope"
json.dump({"nfdsr_config": c}, open(sys.argv[2], "w"))
EOF
table_before=$(canon k8s-w2)
cfg_before=$(sha256sum <"$work/k8s-w2/nfdsr.yaml")
reloads_before=$(grep -c 'reload: ' "$work/k8s-w2/nfdsrd.log" || true)
play broken "$ANS_DIR/site.yml" -e "@$work/broken.json" --limit k8s-w2 && fail "site.yml accepted a broken config"
grep -q "failed to validate" "$work/broken.log" || play_failed broken
grep -q "k8s-nope" "$work/broken.log" || fail "the validate error does not name the bad node"
[[ $(sha256sum <"$work/k8s-w2/nfdsr.yaml") == "$cfg_before" ]] || fail "the broken config replaced k8s-w2's file"
[[ $(canon k8s-w2) == "$table_before" ]] || fail "the broken config changed k8s-w2's table"
[[ $(grep -c 'reload: ' "$work/k8s-w2/nfdsrd.log" || true) == "$reloads_before" ]] || fail "nfdsrd on k8s-w2 reloaded"
ok "broken config: failed at validate (names k8s-nope); k8s-w2's file, table and daemon untouched"
for n in "${NODES[@]}"; do kill -0 "$(cat "$work/$n/nfdsrd.pid")" || fail "nfdsrd on $n died"; done
