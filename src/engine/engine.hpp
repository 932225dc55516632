// The apply engine: everything nfdsrctl and nfdsrd do to a node, behind one
// header. The binaries parse arguments and signals and print; the engine
// loads the cluster config, derives this node's plan and installs it into
// nfdsr.ko, the fwmark routes and nftables (install() below says in which
// order and what is put back when a step fails), removes it, and reads the
// state back (snapshot.hpp).
//
// Parts (included here, so that callers need only this header):
//   dispatch_override.hpp  the node-local `dispatch set` switch, applied by load()
//   daemon_state.hpp       /run/nfdsr/nfdsrd.state: what nfdsrd tells nfdsrctl
//   host_check.hpp         the host settings the node's roles need
//   snapshot.hpp           plan + nftables and module counters (status, /metrics)
//
// Errors are exceptions derived from std::runtime_error (config::ConfigError,
// plan::PlanError, kmod::KmodError, nft::NftError); their what() is meant for
// the user as is.
#pragma once

#include "config/config.hpp"
#include "kmod_client/types.hpp"
#include "nft/nft_apply.hpp"
#include "plan/derive.hpp"
#include "plan/node_plan.hpp"

#include "engine/daemon_state.hpp"
#include "engine/dispatch_override.hpp"
#include "engine/host_check.hpp"
#include "engine/snapshot.hpp"

#include <optional>
#include <string>

namespace nfdsr::engine {

// Parse + validate the file, resolve the node, derive its plan.
plan::NodePlan load_plan(const std::string& config_path, const std::string& node);

// The same, keeping the parsed config (for settings outside the plan).
struct Loaded {
    config::Config config;
    plan::NodePlan plan;
};
// `down`: backends health checks found down (nfdsrd), see plan::derive.
// `live_override`: honour `nfdsrctl dispatch set` (engine/dispatch_override.hpp).
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
nft::ChangeStats install(const plan::NodePlan& plan, bool module, nft::Table* table = nullptr);

// nfdsrctl apply: `loaded` (from load() without the live override: the
// file as it is) installed as install() does, then a live `dispatch set`
// override is cleared.
void apply_file(const Loaded& loaded, bool module);

// nfdsrd's start and reload: load() with the health checks' `down` set
// (and the live dispatch override), then install() into the daemon's
// `table`. Logs how many Maglev tables the plan computed and reused (and,
// at debug level, the plan). Returns what was installed.
Loaded apply(const std::string& config_path, const std::string& node, const plan::DownSet& down, bool module,
             nft::Table& table);

// nfdsrd's health changes and table repairs: the plan of the running
// `config` (not read again) for `node` with a new `down` set, installed as
// apply() does. Returns the plan installed.
plan::NodePlan reapply(const config::Config& config, const std::string& node, const plan::DownSet& down,
                       bool module, nft::Table& table);

// Remove table ip nfdsr and (if module) the module's bindings and flows.
void remove(bool module);

// Module state, or nullopt with `why` set when the module is unavailable.
std::optional<kmod::Status> module_status(std::string& why);

// The module's bindings, "tcp VIP:PORT -> BACKEND:PORT", sorted; throws
// KmodError if the module is unavailable.
std::vector<std::string> module_bindings();

}  // namespace nfdsr::engine
