// NodePlan::tunnel -> host routing for dispatch ipip. Everything installed is
// owned by nfdsr: rules and routes carry protocol RTPROT_NFDSR, so apply
// replaces exactly them and flush removes exactly them (idempotent).
#pragma once

#include <stdexcept>

#include "plan/node_plan.hpp"

namespace nfdsr::route {

// Routing protocol number of nfdsr's rules and routes (`ip rule`/`ip route`
// print it as "proto 245"; /etc/iproute2/rt_protos.d may name it "nfdsr").
inline constexpr unsigned char kRtprotNfdsr = 0xf5;
inline constexpr const char* kTunnelDev = "tunl0";

struct RouteError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// True if some entry service of the plan sends a backend through tunl0.
bool needs_tunnel(const plan::NodePlan& plan);

// tunl0 up + rp_filter 0 on it (see tunnel_rp_filter_off), then the fwmark rules and their tables.
// Without tunl0 (ipip module not loaded): RouteError if needs_tunnel(plan),
// else a warning and nothing installed.
void apply(const plan::NodePlan& plan);

// Remove nfdsr's rules and routes (tunl0 stays up: other users may share it).
void flush();

}  // namespace nfdsr::route
