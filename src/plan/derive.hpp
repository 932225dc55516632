// Cluster config + this node's name -> what this node must install.
#pragma once

#include "config/config.hpp"
#include "plan/node_plan.hpp"

#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

namespace nfdsr::plan {

class PlanError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Roles of node `node_name` (must be in config.nodes, else PlanError):
//  - entry: one EntryServicePlan per service listing this node as an entry
//    node (NodePort: vip = this node's address, vport = node_port);
//  - backend: one Binding per (local backend, address the service is
//    reachable under): NodePort -> every entry node's address, VIP -> the VIP.
// Backends keep config order; the Maglev table indexes into them.
//
// `down`: backends whose health check failed, as (service name, backend
// name): they stay in `backends` (healthy = false) but get no Maglev
// buckets. Maglev's minimal disruption keeps the other backends' buckets.
// local_only services: an entry node lists only its own backends (none:
// empty table, the service chain drops and counts).
// Maglev tables come from maglev::memo(): a service whose backends did not
// change since the previous derive() (or the one before) is not recomputed.
using DownSet = std::set<std::pair<std::string, std::string>>;
NodePlan derive(const config::Config& config, std::string_view node_name, const DownSet& down = {});

}  // namespace nfdsr::plan
