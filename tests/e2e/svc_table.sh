#!/bin/bash
# The module's service table through the client (tests/e2e/tools/svc_table_load.cpp):
# 10,000 services x 10 backends, M=1009: load time, kernel memory, dump,
# lookups against userspace Maglev, drain, a service larger than a dump
# message, delete. Then flush must leave no service behind.
set -euo pipefail
source "$NFDSR_SRC_DIR/tests/lab/lab.sh"
lab_load_module
"$NFDSR_BUILD_DIR/bin/svc_table_load" 10000 10 1009 | tee "$NFDSR_VM_OUT/svc_table.txt"
rmmod nfdsr
lab_check_dmesg
