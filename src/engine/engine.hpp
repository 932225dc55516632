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
#include <vector>

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
// One GET: nfdsr.ko is configured and holds as many services as `record`
// says we installed (false after a module reload or flush behind our
// back, or when the module is unavailable).
bool module_matches(const ServiceRecord& record);
nft::ChangeStats install(const plan::NodePlan& plan, bool module, nft::Table* table = nullptr,
                         ServiceRecord* services = nullptr);

// nfdsrctl apply: `loaded` (from load() without the live override: the
// file as it is) installed as install() does, then a live `dispatch set`
// override is cleared.
void apply_file(const Loaded& loaded, bool module);

// nfdsrd's start and reload: load() with the health checks' `down` set
// (and the live dispatch override), then install() into the daemon's
// `table`. Logs how many Maglev tables the plan computed and reused (and,
// at debug level, the plan). Returns what was installed.
Loaded apply(const std::string& config_path, const std::string& node, const plan::DownSet& down, bool module,
             nft::Table& table, ServiceRecord& services);

// nfdsrd's health changes and table repairs: the plan of the running
// `config` (not read again) for `node` with a new `down` set, installed as
// apply() does. Returns the plan installed.
plan::NodePlan reapply(const config::Config& config, const std::string& node, const plan::DownSet& down,
                       bool module, nft::Table& table, ServiceRecord& services);

// Remove table ip nfdsr and (if module) the module's bindings and flows.
void remove(bool module);

// Module state, or nullopt with `why` set when the module is unavailable.
std::optional<kmod::Status> module_status(std::string& why);

// The module's bindings, "tcp VIP:PORT -> BACKEND:PORT", sorted; throws
// KmodError if the module is unavailable.
std::vector<std::string> module_bindings();

// nfdsr.ko's service table with its counters; throws KmodError.
std::vector<kmod::Service> module_services();

// How the module dispatches a service: "ipip-classic" (flag classic),
// "ipip" (the option and a route mark on some backend), else "opt" (an
// ipip service whose backends are all on this node looks like opt: no
// tunnel either way).
const char* module_dispatch(const kmod::Service& s);

// nfdsr.ko's packet tracer (NFDSR_CMD_SVC_LOOKUP): the bucket and backend
// its entry path picks for a packet of `client`:`client_port` (host byte
// order) with `tcp_flags` (0 for UDP) to service `key`, without changing
// anything. Throws KmodError (module unavailable, no such service).
kmod::SvcLookup module_lookup(const kmod::SvcKey& key, plan::Ipv4 client, std::uint16_t client_port,
                              std::uint8_t tcp_flags);

}  // namespace nfdsr::engine
