// A snapshot of what this node runs (nfdsrctl status, nfdsrd's /metrics):
// the plan, the nftables chain counters and nfdsr.ko's state and counters.
#pragma once

#include "metrics/metrics.hpp"
#include "plan/node_plan.hpp"

namespace nfdsr::engine {

// Plan (if any) + nftables counters + module state (if `module`).
// `health_known`: the plan carries nfdsrd's health results (backends of
// health-checked services are "up"/"down"; otherwise "unknown"). Errors of
// the parts are recorded in the snapshot, not thrown.
// `count_flows`: also dump nfdsr.ko's flow table and count the flows per
// binding (O(flows): for nfdsrctl status, not for every metrics scrape).
metrics::Snapshot collect(const plan::NodePlan* plan, bool module, bool health_known, bool count_flows = false);

}  // namespace nfdsr::engine
