// Human-readable rendering of a NodePlan (`nfdsrctl plan`).
#pragma once

#include "plan/node_plan.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace nfdsr::plan {

std::string describe(const NodePlan& plan);

// Maglev buckets of each backend of `e` (same order as e.backends).
std::vector<std::uint32_t> bucket_counts(const EntryServicePlan& e);

const char* to_string(Protocol p);
const char* to_string(Dispatch d);
// "opt", "ipip" or "ipip-classic" (the ipip mode included): status, trace, metrics.
const char* dispatch_label(const EntryServicePlan& e);

}  // namespace nfdsr::plan
