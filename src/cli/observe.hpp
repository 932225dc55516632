// nfdsrctl trace / status and the daemon's metrics: what this node does with
// a given flow, and a snapshot of its state (plan + nftables counters +
// nfdsr.ko counters).
#pragma once

#include "kmod_client/types.hpp"
#include "metrics/metrics.hpp"
#include "plan/node_plan.hpp"

#include <optional>
#include <string>

namespace nfdsr::ops {

struct TraceQuery {
    plan::Ipv4 client;
    std::uint16_t client_port = 0;
    plan::Ipv4 vip;
    std::uint16_t vport = 0;
    plan::Protocol proto = plan::Protocol::tcp;
};

struct TraceResult {
    const plan::EntryServicePlan* service = nullptr;  // nullptr: not an entry service here
    std::uint32_t hash = 0;    // jhash result before scaling
    std::uint32_t bucket = 0;  // Maglev bucket (what nfdsr.ko computes)
    const plan::BackendPlan* backend = nullptr;  // nullptr: no backend (drop)
    // While a backend of the service drains: the backend of a connection
    // opened before the drain (nullptr: none), and whether the bucket moved
    // (a connection opened during the drain there is remembered).
    bool draining = false;
    const plan::BackendPlan* established = nullptr;
    bool moved = false;
    std::vector<const plan::Binding*> bindings;  // this node as backend for the address
    // nfdsr.ko's own answer for a new connection of this flow (its packet
    // tracer, NFDSR_CMD_SVC_LOOKUP), when asked and available; else why not
    std::optional<kmod::SvcLookup> kernel;
    std::string kernel_error;
};

// "1.2.3.4:80" -> address + port; throws std::invalid_argument.
void parse_endpoint(const std::string& text, plan::Ipv4& addr, std::uint16_t& port);

// The prediction from the plan; with `ask_module`, also nfdsr.ko's answer
// (errors land in TraceResult::kernel_error, not thrown).
TraceResult trace(const plan::NodePlan& plan, const TraceQuery& q, bool ask_module = false);
std::string render_trace(const plan::NodePlan& plan, const TraceQuery& q, const TraceResult& r, bool json);

// Plan (if any) + nftables counters + module state (if `module`).
// `health_known`: the plan carries nfdsrd's health results (backends of
// health-checked services are "up"/"down"; otherwise "unknown"). Errors of
// the parts are recorded in the snapshot, not thrown.
// `count_flows`: also dump nfdsr.ko's flow table and count the flows per
// binding (O(flows): for nfdsrctl status, not for every metrics scrape).
metrics::Snapshot collect(const plan::NodePlan* plan, bool module, bool health_known, bool count_flows = false);

std::string render_status_text(const metrics::Snapshot& s);
std::string render_status_json(const metrics::Snapshot& s);

std::string json_escape(std::string_view in);

}  // namespace nfdsr::ops
