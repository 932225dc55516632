#!/bin/bash
# udp_mtu_icmp.sh with dispatch ipip xlate: tunl0 (MTU 1480) -> ICMP mtu 1472.
exec "$NFDSR_SRC_DIR/tests/e2e/udp_mtu_icmp.sh" ipip
