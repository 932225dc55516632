// The nftables side of a node: table "ip nfdsr", the manager's private table.
//
// apply() replaces the whole table in ONE nftables transaction (one netlink
// batch, one sendmsg): either the new ruleset is live after the call, or the
// kernel rejected the batch and the running ruleset is untouched. Works in the
// network namespace of the calling thread.
#pragma once

#include <stdexcept>
#include <string>

#include "plan/node_plan.hpp"

namespace nfdsr::nft {

// what(): names the object the kernel rejected (chain/set/rule ...) and the
// errno text, e.g. `chain "svc_x_tcp_80" (svc x ...): Numerical result out of range`.
struct NftError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

inline constexpr const char* kTable = "nfdsr";  // table ip nfdsr

// Replace table ip nfdsr with the ruleset for `plan`, atomically.
void apply(const plan::NodePlan& plan);

// Delete table ip nfdsr if it exists (one transaction; no error if absent).
void flush();

// Text of `nft list table ip nfdsr`; "" if the table does not exist.
std::string list_table();

}  // namespace nfdsr::nft
