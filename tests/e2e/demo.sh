#!/bin/bash
# Guest side of scripts/demo: run a scenario and keep its output in the
# artefact directory, where the host can print it without console noise.
set -o pipefail
scenario=${1:-ref_lab}
"$NFDSR_SRC_DIR/tests/e2e/$scenario.sh" 2>&1 | tee "$NFDSR_VM_OUT/demo.txt"
