// tunl0: the ipip module's fallback device (one per network namespace, it
// decapsulates IPIP from any source and sends to on-link next hops).
#pragma once

#include <optional>
#include <string>

struct nl_sock;

namespace nfdsr::route {

// ifindex of tunl0 after setting it up, or nullopt if it does not exist.
std::optional<int> tunnel_up(nl_sock* sk);

// Reverse-path filtering off for tunl0: net.ipv4.conf.tunl0.rp_filter := 0.
// tunl0 has no IPv4 address, and the kernel (__fib_validate_source) drops
// every packet arriving on an address-less device when the effective value
// max(all, tunl0) is non-zero, strict or loose. So if `all` is non-zero, its
// value is moved into `default` and every other interface (their effective
// value stays the same) and all := 0. Returns a note for the log.
std::string tunnel_rp_filter_off();

}  // namespace nfdsr::route
