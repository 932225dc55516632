#!/bin/bash
# entry_path: nfdsr.ko's entry path without the lab, in one boot.
#  1. the service table through the client (tests/e2e/tools/svc_table_load.cpp):
#     10,000 services x 10 backends, M=1009: load time, kernel memory, dump,
#     lookups against userspace Maglev, drain, a service larger than a dump
#     message, delete;
#  2. trace_matches_kernel.py: `nfdsrctl trace` names the backend nfdsr.ko
#     picks, for SYNs through a namespace topology;
#  3. drain_dispatch.py: drain, packet by packet (hand-made segments).
# Every part runs; the test fails if one did.
set -uo pipefail
source "$NFDSR_SRC_DIR/tests/lab/lab.sh"
lab_load_module
rc=0
"$NFDSR_BUILD_DIR/bin/svc_table_load" 10000 10 1009 | tee "$NFDSR_VM_OUT/svc_table.txt" || rc=1
python3 "$NFDSR_SRC_DIR/tests/e2e/trace_matches_kernel.py" "$NFDSR_BUILD_DIR/bin/nfdsrctl" || rc=1
python3 "$NFDSR_SRC_DIR/tests/e2e/drain_dispatch.py" "$NFDSR_BUILD_DIR/bin/nfdsrctl" || rc=1
rmmod nfdsr || rc=1
lab_check_dmesg || rc=1
exit $rc
