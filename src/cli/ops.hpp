// The operations nfdsrctl and nfdsrd share: config file -> plan for this
// node -> module + nftables. Errors are exceptions derived from
// std::runtime_error (config::ConfigError, plan::PlanError, kmod::KmodError,
// nft::NftError); their what() is meant for the user as is.
#pragma once

#include "config/config.hpp"
#include "kmod_client/types.hpp"
#include "nft/nft_apply.hpp"
#include "plan/derive.hpp"
#include "plan/node_plan.hpp"

#include <optional>
#include <string>
#include <vector>

namespace nfdsr::ops {

struct Target {
    std::string config_path;
    std::string node;    // empty: find this machine's node by its addresses
    bool module = true;  // false: leave nfdsr.ko alone (--no-module)
};

// Parse + validate the file, resolve the node, derive its plan.
plan::NodePlan load_plan(const std::string& config_path, const std::string& node);

// The same, keeping the parsed config (for settings outside the plan).
struct Loaded {
    config::Config config;
    plan::NodePlan plan;
};
// `down`: backends health checks found down (nfdsrd), see plan::derive.
// `live_override`: honour `nfdsrctl dispatch set` (cli/dispatch_override.hpp).
Loaded load(const std::string& config_path, const std::string& node, const plan::DownSet& down = {},
            bool live_override = true);

// Push the plan. First the kernel checks the nftables transaction (nothing
// changes; a rejected ruleset stops here with everything as it was), then
// the module gets its parameters and bindings (so the backend side accepts
// options before entry rules can send them), then the fwmark routes, then
// the nftables transaction is committed. `table` is the caller's record of
// what it installed (nfdsrd keeps one, so reloads change only what
// differs); without one the table is rewritten from what the kernel has. If
// something fails after the module was updated, the module gets back what
// it had before (read from it first: parameters and bindings, or no
// configuration at all), so a failed apply changes nothing.
//
// The module's service table (the entry path) changes in two steps around
// the nftables commit: new and changed services before it (so every packet
// nftables starts marking finds its service), removed ones after it (when
// nftables no longer marks them). `services` is the caller's record of
// the service table (nfdsrd keeps one): with it an apply sends only the
// services that differ; without it (or when the module's service count
// disagrees with it, e.g. after a module reload) the table is read back.
struct ServiceRecord {
    std::optional<std::vector<kmod::Service>> installed;  // sorted by key
};
nft::ChangeStats install(const plan::NodePlan& plan, bool module, nft::Table* table = nullptr,
                         ServiceRecord* services = nullptr);

// Remove table ip nfdsr and (if module) the module's bindings and flows.
void remove(bool module);

// Module state, or nullopt with `why` set when the module is unavailable.
std::optional<kmod::Status> module_status(std::string& why);

// The module's bindings, "tcp VIP:PORT -> BACKEND:PORT", sorted; throws
// KmodError if the module is unavailable.
std::vector<std::string> module_bindings();

}  // namespace nfdsr::ops
