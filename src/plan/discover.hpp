// Which node of the config is this machine? Matched by the IPv4 addresses
// assigned to local interfaces in the current network namespace.
#pragma once

#include "config/config.hpp"

#include <string>
#include <vector>

namespace nfdsr::plan {

// All IPv4 addresses on local interfaces (libnl-route). Throws PlanError.
std::vector<Ipv4> local_ipv4_addresses();

// The one node whose address is in `local`; PlanError if none or several.
std::string match_local_node(const config::Config& config, const std::vector<Ipv4>& local);

// `explicit_name` if non-empty (checked against the config), else
// match_local_node(config, local_ipv4_addresses()).
std::string resolve_node(const config::Config& config, const std::string& explicit_name);

}  // namespace nfdsr::plan
