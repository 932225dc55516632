# shellcheck shell=bash
# dispatch ipip scenarios: the reference lab with examples/reference-lab-ipip.yaml.
# The ipip module creates tunl0 in every network namespace; nfdsrctl apply
# sets it up (rp_filter loose) and installs the fwmark routes into it.
E2E_CONFIG=${E2E_CONFIG:-$NFDSR_SRC_DIR/examples/reference-lab-ipip.yaml}
source "$NFDSR_SRC_DIR/tests/e2e/common.sh"
modprobe ipip || lab_fail "cannot load the ipip module"
