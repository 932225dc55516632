#include "plan/derive.hpp"

#include "config/scalars.hpp"
#include "maglev/maglev.hpp"

namespace nfdsr::plan {
namespace {

// Address(es) a service is reachable under: every entry node's address for
// NodePort, the VIP otherwise.
std::vector<Ipv4> service_addresses(const config::Config& config, const config::Service& s)
{
    std::vector<Ipv4> out;
    if (s.is_node_port()) {
        for (const auto& name : s.entry_nodes)
            if (const auto* n = config.find_node(name))
                out.push_back(n->address);
    } else {
        out.push_back(*s.vip);
    }
    return out;
}

std::uint16_t service_port(const config::Service& s)
{
    return s.is_node_port() ? *s.node_port : *s.port;
}

std::vector<BackendPlan> backend_plans(const config::Service& s)
{
    std::vector<BackendPlan> out;
    out.reserve(s.backends.size());
    for (const auto& b : s.backends)
        out.push_back({b.name, b.node, b.address, b.port, b.weight});
    return out;
}

std::vector<std::uint32_t> maglev_table(const config::Service& s)
{
    std::vector<maglev::Backend> ids;
    ids.reserve(s.backends.size());
    for (const auto& b : s.backends)
        ids.push_back({backend_identity(b.address, b.port), b.weight});
    return maglev::build(ids, s.maglev_table_size);
}

bool is_entry_node(const config::Service& s, std::string_view node)
{
    for (const auto& n : s.entry_nodes)
        if (n == node)
            return true;
    return false;
}

}  // namespace

std::string backend_identity(Ipv4 addr, std::uint16_t port)
{
    return config::format_ipv4(addr) + ":" + std::to_string(port);
}

NodePlan derive(const config::Config& config, std::string_view node_name)
{
    const config::Node* self = config.find_node(node_name);
    if (!self)
        throw PlanError("node '" + std::string(node_name) + "' is not in the config's nodes list");

    NodePlan plan;
    plan.node = self->name;
    plan.node_addr = self->address;
    plan.params.entry_mark = config.entry_mark;
    plan.params.flow_max = config.flows.max;
    plan.params.tcp_timeout = config.flows.tcp_timeout;
    plan.params.tcp_close_timeout = config.flows.tcp_close_timeout;
    plan.params.udp_timeout = config.flows.udp_timeout;

    for (const auto& s : config.services) {
        const std::uint16_t port = service_port(s);
        if (is_entry_node(s, self->name)) {
            EntryServicePlan e;
            e.name = s.name;
            e.proto = s.protocol;
            e.vip = s.is_node_port() ? self->address : *s.vip;
            e.vport = port;
            e.dispatch = config.dispatch;
            e.backends = backend_plans(s);
            e.maglev = maglev_table(s);
            e.hash_seed = config.hash_seed;
            plan.entry.push_back(std::move(e));
        }
        for (const auto& b : s.backends) {
            if (b.node != self->name)
                continue;
            for (Ipv4 vip : service_addresses(config, s))
                plan.bindings.push_back({s.name, b.name, s.protocol, vip, port, b.address, b.port});
        }
    }
    return plan;
}

}  // namespace nfdsr::plan
