// The policy routing of dispatch ipip on an entry node, one per backend node:
//   ip rule add fwmark MARK/MASK lookup TABLE priority PRIO proto 245
//   ip route replace default via NODE dev tunl0 onlink src SELF table TABLE proto 245
#pragma once

#include <vector>

#include "plan/node_plan.hpp"

struct nl_sock;

namespace nfdsr::route {

// Make nfdsr's rules/routes exactly `routes` (others' are never touched).
void sync_policy_routes(nl_sock* sk, const plan::TunnelPlan& tunnel, plan::Ipv4 self, int tunl0_ifindex);

// Remove every rule/route with protocol kRtprotNfdsr.
void remove_policy_routes(nl_sock* sk);

}  // namespace nfdsr::route
