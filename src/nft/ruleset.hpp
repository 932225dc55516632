// NodePlan -> the objects of table ip nfdsr, appended to one Batch.
// Names are exposed so tests and `nfdsrctl` can address chains/counters.
#pragma once

#include <string>

#include "plan/node_plan.hpp"

namespace nfdsr::nft {

namespace detail {
class Batch;
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
// Append "replace table ip nfdsr with the ruleset of `plan`" to `batch`.
void build_replace(const plan::NodePlan& plan, Batch& batch);
// Append "delete table ip nfdsr if it exists".
void build_delete(Batch& batch);
}  // namespace detail

}  // namespace nfdsr::nft
