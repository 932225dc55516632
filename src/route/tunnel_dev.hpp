// tunl0: the ipip module's fallback device (one per network namespace, it
// decapsulates IPIP from any source and sends to on-link next hops).
#pragma once

#include <optional>
#include <string>

struct nl_sock;

namespace nfdsr::route {

// ifindex of tunl0 after setting it up, or nullopt if it does not exist.
std::optional<int> tunnel_up(nl_sock* sk);

// net.ipv4.conf.tunl0.rp_filter := 2 (loose). The effective value is
// max(all, tunl0), so 2 admits decapsulated packets (the client's source
// is routable, just not via tunl0) whatever `all` is; nothing else changes.
// Returns a note for the log ("all=1, effective 2").
std::string tunnel_rp_filter_loose();

}  // namespace nfdsr::route
