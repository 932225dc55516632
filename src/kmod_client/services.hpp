// From a node plan to nfdsr.ko's service table (NFDSR_CMD_SVC_*), and the
// difference between two service tables, so an apply sends only what
// changed (one SVC_SET per new or changed service, one SVC_DEL per service
// gone).
#pragma once

#include "kmod_client/types.hpp"
#include "plan/node_plan.hpp"

#include <vector>

namespace nfdsr::kmod {

// The services `plan` puts into the module: one per entry service (kind
// entry; dispatch opt and ipip xlate attach the DSR option, ipip classic
// only sets the route mark; route marks only for dispatch ipip) and one
// per tunnel service address (kind tunnel: classic IPIP received on tunl0,
// Maglev over this node's backends, option attached). Sorted by key.
// Throws KmodError if a table names a backend the service does not have or
// a service has more backends than a table entry can index.
std::vector<Service> services_of(const plan::NodePlan& plan);

// Strict weak order on keys (protocol, address, port, kind).
bool key_less(const SvcKey& a, const SvcKey& b);

struct ServiceChanges {
    std::vector<Service> set;       // new or changed, in `wanted`'s form
    std::vector<SvcKey> del;        // in `installed`, not in `wanted`
    // What puts the table back as it was if the apply fails after `set`:
    // the previous form of changed services, and the keys of new ones.
    std::vector<Service> restore_set;
    std::vector<SvcKey> restore_del;
    bool empty() const { return set.empty() && del.empty(); }
};

// `installed` and `wanted` sorted by key (as services_of and
// Client::dump_services return them); counters are ignored.
ServiceChanges diff(const std::vector<Service>& installed, const std::vector<Service>& wanted);

}  // namespace nfdsr::kmod
