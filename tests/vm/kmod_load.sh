#!/bin/bash
# vm_kmod_load: nfdsr.ko loads, shows up in sysfs, unloads cleanly.
set -euo pipefail
source "$NFDSR_SRC_DIR/tests/lab/lab.sh"
dmesg -C
lab_load_module "$NFDSR_KVER"
[[ -d /sys/module/nfdsr ]] || lab_fail "/sys/module/nfdsr missing"
lab_ok "loaded: $(cat /sys/module/nfdsr/refcnt 2>/dev/null) refs, $(grep -E '^nfdsr ' /proc/modules)"
lab_unload_module
[[ ! -d /sys/module/nfdsr ]] || lab_fail "/sys/module/nfdsr still there after rmmod"
lab_ok "unloaded"
# twice, in a fresh netns too, to catch per-netns init/exit bugs
lab_load_module "$NFDSR_KVER"
ip netns add kmodtest && ip netns del kmodtest
lab_unload_module
dmesg
lab_check_dmesg
echo "kmod_load: all ok"
