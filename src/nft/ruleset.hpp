// NodePlan -> the objects of table ip nfdsr (model.hpp).
#pragma once

#include <string>

#include "plan/node_plan.hpp"

namespace nfdsr::nft {

namespace detail {
struct Ruleset;
}

std::string to_string(plan::Ipv4 a);
const char* to_string(plan::Protocol p);

namespace detail {
// The table, sets, chains and rules `plan` asks for. Throws NftError if the
// plan is inconsistent (a service listed twice, a bucket naming no backend).
Ruleset build(const plan::NodePlan& plan);
}  // namespace detail

}  // namespace nfdsr::nft
