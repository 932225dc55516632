#include "plan/derive.hpp"

#include "config/scalars.hpp"
#include "maglev/maglev.hpp"
#include "maglev/memo.hpp"

#include <algorithm>

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

// 1-based position of a node in `nodes`: its routing mark value and table offset.
std::uint32_t node_index(const config::Config& config, std::string_view name)
{
    for (std::size_t i = 0; i < config.nodes.size(); ++i)
        if (config.nodes[i].name == name)
            return static_cast<std::uint32_t>(i + 1);
    return 0;
}

std::uint32_t node_route_mark(const config::Config& config, std::string_view name)
{
    const std::uint32_t m = config.route_mark_mask;
    const std::uint32_t low = m & (~m + 1);
    return (node_index(config, name) * low) & m;
}

std::vector<BackendPlan> backend_plans(const config::Config& config, const config::Service& s,
                                       std::string_view self, const DownSet& down)
{
    std::vector<BackendPlan> out;
    out.reserve(s.backends.size());
    for (const auto& b : s.backends) {
        if (s.local_only && b.node != self)
            continue;
        BackendPlan p{b.name, b.node, b.address, b.port, b.weight};
        p.healthy = !down.contains({s.name, b.name});
        p.route_mark = b.node == self ? 0u : node_route_mark(config, b.node);
        p.draining = b.drain;
        out.push_back(std::move(p));
    }
    return out;
}

// Unhealthy backends take part with weight 0 (no buckets): the table of
// the rest is what it would be without them. Draining backends too, except
// in the table for connections opened before the drain (`established`).
std::vector<std::uint32_t> maglev_table(const std::vector<BackendPlan>& backends, std::uint32_t table_size,
                                        bool established = false)
{
    std::vector<maglev::Backend> ids;
    ids.reserve(backends.size());
    for (const auto& b : backends) {
        const bool takes = b.healthy && (established || !b.draining);
        ids.push_back({config::maglev_identity(b.addr, b.port), takes ? b.weight : 0u});
    }
    return maglev::memo().build(ids, table_size);
}

// Both tables of a service (EntryServicePlan::maglev_established)
void fill_maglev(EntryServicePlan& e, std::uint32_t table_size)
{
    e.maglev = maglev_table(e.backends, table_size);
    bool draining = false;
    for (const auto& b : e.backends)
        draining = draining || (b.draining && b.healthy && b.weight > 0);
    if (draining && e.proto == Protocol::tcp) {
        e.maglev_established = maglev_table(e.backends, table_size, true);
        if (e.maglev_established == e.maglev)
            e.maglev_established.clear();
    }
}

bool is_entry_node(const config::Service& s, std::string_view node)
{
    for (const auto& n : s.entry_nodes)
        if (n == node)
            return true;
    return false;
}

// Every node is prepared for IPIP whatever the dispatch (see TunnelPlan).
void derive_tunnel(const config::Config& config, const config::Node& self, NodePlan& plan, const DownSet& down)
{
    TunnelPlan& t = plan.tunnel;
    t.enabled = true;
    t.route_mark_mask = config.route_mark_mask;
    t.rule_priority = config.route_rule_priority;
    t.mss = static_cast<std::uint16_t>(config.ipip_mss);
    for (const auto& n : config.nodes) {
        bool entry = false;
        for (const auto& s : config.services)
            entry = entry || is_entry_node(s, n.name);
        if (entry)
            t.entry_sources.push_back(n.address);
    }
    // Entry node: a route per remote node hosting a backend of one of its
    // entry services, whatever the service's dispatch (a switch then only
    // changes nftables, in one transaction).
    for (const auto& n : config.nodes) {
        if (n.name == self.name)
            continue;
        bool needed = false;
        for (const auto& e : plan.entry)
            for (const auto& b : e.backends)
                needed = needed || b.node == n.name;
        if (needed)
            t.routes.push_back({n.name, n.address, node_route_mark(config, n.name),
                                config.route_table_base + node_index(config, n.name)});
    }
    // Backend node: classic IPIP to a service address bound here, served by
    // the local backends (IPVS-TUN directors, nfdsr classic entry nodes).
    for (const auto& s : config.services) {
        std::vector<BackendPlan> local;
        for (const auto& b : s.backends)
            if (b.node == self.name) {
                local.push_back(
                    {b.name, b.node, b.address, b.port, b.weight, !down.contains({s.name, b.name}), 0, b.drain});
            }
        bool any_weight = false;
        for (const auto& b : local)
            any_weight = any_weight || (b.weight > 0 && b.healthy && !b.draining);
        if (local.empty() || !any_weight)
            continue;
        EntryServicePlan tables;
        tables.proto = s.protocol;
        tables.backends = local;
        fill_maglev(tables, static_cast<std::uint32_t>(maglev::next_prime(100 * local.size())));
        for (Ipv4 vip : service_addresses(config, s)) {
            EntryServicePlan e;
            e.name = s.name;
            e.proto = s.protocol;
            e.vip = vip;
            e.vport = service_port(s);
            e.dispatch = Dispatch::opt;  // local delivery: option + DNAT, as an opt entry
            e.backends = local;
            e.maglev = tables.maglev;
            e.maglev_established = tables.maglev_established;
            e.hash_seed = config.hash_seed;
            e.health_checked = s.health_check.has_value();
            t.services.push_back(std::move(e));
        }
    }
}

// ---- local clients (see LocalClientsPlan) ----

// slot -> backend: each backend that takes new connections by the config
// gets slots in proportion to its weight (reduced by the gcd; scaled to at
// most kLocalClientSlots, at least one slot each); the slots of a backend
// that is down go to the healthy ones in turn (so a health flip changes
// elements of the map only, not its size).
std::vector<std::uint32_t> local_client_slots(const std::vector<BackendPlan>& backends)
{
    std::vector<std::uint64_t> w(backends.size(), 0);
    std::uint64_t g = 0, total = 0;
    for (std::size_t i = 0; i < backends.size(); ++i) {
        const auto& b = backends[i];
        if (b.weight == 0 || b.draining)
            continue;
        w[i] = b.weight;
        std::uint64_t a = w[i], c = g;
        while (c) { const std::uint64_t t = a % c; a = c; c = t; }
        g = a;
    }
    for (auto& x : w) {
        x = g ? x / g : 0;
        total += x;
    }
    std::vector<std::uint32_t> slots;
    for (std::size_t i = 0; i < w.size(); ++i) {
        std::uint64_t n = w[i];
        if (n && total > kLocalClientSlots)
            n = std::max<std::uint64_t>(1, n * kLocalClientSlots / total);
        for (std::uint64_t k = 0; k < n; ++k)
            slots.push_back(static_cast<std::uint32_t>(i));
    }
    std::vector<std::uint32_t> up;  // slots of healthy backends
    for (std::uint32_t k = 0; k < slots.size(); ++k)
        if (backends[slots[k]].healthy)
            up.push_back(k);
    std::size_t next = 0;
    for (auto& slot : slots)
        if (!backends[slot].healthy)
            slot = up.empty() ? kNoLocalBackend : slots[up[next++ % up.size()]];
    return slots;
}

void derive_local_clients(const config::Config& config, const config::Node& self, NodePlan& plan,
                          const DownSet& down)
{
    LocalClientsPlan& lc = plan.local_clients;
    lc.enabled = true;
    if (self.pod_cidr) {
        lc.pod_net = self.pod_cidr->network;
        lc.pod_prefix = self.pod_cidr->prefix;
    }
    for (const auto& s : config.services) {
        LocalClientService l;
        l.name = s.name;
        l.proto = s.protocol;
        l.addrs = service_addresses(config, s);
        l.port = service_port(s);
        for (const auto& b : s.backends) {
            BackendPlan p{b.name, b.node, b.address, b.port, b.weight};
            p.healthy = !down.contains({s.name, b.name});
            p.draining = b.drain;
            l.backends.push_back(std::move(p));
        }
        l.slots = local_client_slots(l.backends);
        if (!l.addrs.empty())
            lc.services.push_back(std::move(l));
        for (const auto& b : s.backends) {
            if (b.node != self.name || b.address == self.address)
                continue;
            bool seen = false;
            for (const auto& a : lc.hairpin)
                seen = seen || a == b.address;
            if (!seen)
                lc.hairpin.push_back(b.address);
        }
    }
}

}  // namespace

NodePlan derive(const config::Config& config, std::string_view node_name, const DownSet& down)
{
    const config::Node* self = config.find_node(node_name);
    if (!self)
        throw PlanError("node '" + std::string(node_name) + "' is not in the config's nodes list");

    maglev::memo().next_round();  // tables of services that did not change are reused
    NodePlan plan;
    plan.node = self->name;
    plan.node_addr = self->address;
    plan.params.entry_mark = config.entry_mark;
    plan.params.flow_max = config.flows.max;
    plan.params.tcp_timeout = config.flows.tcp_timeout;
    plan.params.tcp_close_timeout = config.flows.tcp_close_timeout;
    plan.params.udp_timeout = config.flows.udp_timeout;
    plan.params.route_mark_mask = config.route_mark_mask;

    for (const auto& s : config.services) {
        const std::uint16_t port = service_port(s);
        if (is_entry_node(s, self->name)) {
            EntryServicePlan e;
            e.name = s.name;
            e.proto = s.protocol;
            e.vip = s.is_node_port() ? self->address : *s.vip;
            e.vport = port;
            e.dispatch = config.dispatch_of(s);
            e.ipip_mode = s.ipip_mode;
            e.backends = backend_plans(config, s, self->name, down);
            fill_maglev(e, s.maglev_table_size);
            e.hash_seed = config.hash_seed;
            e.health_checked = s.health_check.has_value();
            plan.entry.push_back(std::move(e));
        }
        for (const auto& b : s.backends) {
            if (b.node != self->name)
                continue;
            for (Ipv4 vip : service_addresses(config, s))
                plan.bindings.push_back({s.name, b.name, s.protocol, vip, port, b.address, b.port});
        }
    }
    derive_tunnel(config, *self, plan, down);
    derive_local_clients(config, *self, plan, down);
    return plan;
}

}  // namespace nfdsr::plan
