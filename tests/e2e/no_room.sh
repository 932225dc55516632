#!/bin/bash
# A SYN that already carries 36 bytes of options has no room for 8 more:
# the entry node drops and counts it. With 32 bytes it fits (60-byte header)
# and the connection works, the client's own options kept.
source "$NFDSR_SRC_DIR/tests/e2e/common.sh"
e2e_up

nops() { printf '01%.0s' $(seq 1 "$1"); }
if lab_exec test-pc nfdsr-tcp-probe --timeout 3000 --ip-option "$(nops 36)" 192.168.10.10 31615; then
  lab_fail "SYN with 36 bytes of options was answered"
fi
e2e_expect_counter k8s-s opt_no_room 1
out=$(lab_exec test-pc nfdsr-tcp-probe --timeout 5000 --ip-option "$(nops 32)" 192.168.10.10 31615)
lab_expect_contains "$out" "Hostname: webpod1" "SYN with 32 bytes of options fits"
e2e_expect_counter k8s-w1 opt_stripped 1
