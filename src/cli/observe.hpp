// nfdsrctl trace / status: what this node does with a given flow, and the
// text and JSON renderings of a status snapshot (engine/snapshot.hpp).
#pragma once

#include "kmod_client/types.hpp"
#include "metrics/metrics.hpp"
#include "plan/node_plan.hpp"

#include <optional>
#include <string>

namespace nfdsr::cli {

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

// `nfdsrctl status` output: text for people, or one JSON object.
std::string render_status_text(const metrics::Snapshot& s);
std::string render_status_json(const metrics::Snapshot& s);

// `in` for the inside of a JSON string: quotes and backslashes escaped,
// control characters dropped.
std::string json_escape(std::string_view in);

}  // namespace nfdsr::cli
