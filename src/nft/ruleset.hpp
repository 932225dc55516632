// NodePlan -> the objects of table ip nfdsr (model.hpp).
// Names are exposed so tests and `nfdsrctl` can address chains/counters.
#pragma once

#include <string>

#include "plan/node_plan.hpp"

namespace nfdsr::nft {

namespace detail {
struct Ruleset;
}

// "svc_<name>_<proto>_<port>" (name characters outside [A-Za-z0-9_-] become '_').
std::string service_chain_name(const plan::EntryServicePlan& svc);
// "<service chain>_be_<backend name>"
std::string backend_chain_name(const std::string& service_chain, const plan::BackendPlan& be);
// "<service chain>_maglev": bucket -> goto backend chain
std::string maglev_map_name(const std::string& service_chain);

std::string to_string(plan::Ipv4 a);
const char* to_string(plan::Protocol p);

namespace detail {
// The table, sets, chains and rules `plan` asks for. Throws NftError if the
// plan is inconsistent (a service listed twice, a bucket naming no backend).
Ruleset build(const plan::NodePlan& plan);
}  // namespace detail

}  // namespace nfdsr::nft
