// Human-readable rendering of a NodePlan (`nfdsrctl plan`).
#pragma once

#include "plan/node_plan.hpp"

#include <string>

namespace nfdsr::plan {

std::string describe(const NodePlan& plan);

const char* to_string(Protocol p);
const char* to_string(Dispatch d);

}  // namespace nfdsr::plan
