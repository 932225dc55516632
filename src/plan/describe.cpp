#include "plan/describe.hpp"

#include "config/scalars.hpp"

#include <cstdio>
#include <sstream>

namespace nfdsr::plan {

const char* to_string(Protocol p)
{
    return p == Protocol::udp ? "udp" : "tcp";
}

const char* to_string(Dispatch d)
{
    return d == Dispatch::ipip ? "ipip" : "opt";
}

const char* dispatch_label(const EntryServicePlan& e)
{
    if (e.dispatch == Dispatch::opt)
        return "opt";
    return e.ipip_mode == IpipMode::classic ? "ipip-classic" : "ipip";
}

static std::string endpoint(Ipv4 a, std::uint16_t port)
{
    return config::format_ipv4(a) + ":" + std::to_string(port);
}

std::vector<std::uint32_t> bucket_counts(const EntryServicePlan& e)
{
    std::vector<std::uint32_t> buckets(e.backends.size(), 0);
    for (auto idx : e.maglev)
        if (idx < buckets.size())
            ++buckets[idx];
    return buckets;
}

std::string describe(const NodePlan& plan)
{
    std::ostringstream out;
    std::string roles;
    if (!plan.entry.empty())
        roles = "entry";
    if (!plan.bindings.empty())
        roles += roles.empty() ? "backend" : ", backend";
    out << "node " << plan.node << " (" << config::format_ipv4(plan.node_addr) << ")\n";
    out << "roles: " << (roles.empty() ? "none" : roles) << "\n";
    out << "module: entry_mark 0x" << std::hex << plan.params.entry_mark << std::dec << ", flow_max "
        << plan.params.flow_max << ", tcp_timeout " << plan.params.tcp_timeout << "s, tcp_close_timeout "
        << plan.params.tcp_close_timeout << "s, udp_timeout " << plan.params.udp_timeout << "s\n";

    out << "entry services: " << plan.entry.size() << "\n";
    for (const auto& e : plan.entry) {
        out << "  " << e.name << " " << endpoint(e.vip, e.vport) << "/" << to_string(e.proto)
            << " dispatch " << to_string(e.dispatch) << ", maglev table " << e.maglev.size()
            << ", hash seed 0x" << std::hex << e.hash_seed << std::dec << "\n";
        const auto buckets = bucket_counts(e);
        for (std::size_t i = 0; i < e.backends.size(); ++i) {
            const auto& b = e.backends[i];
            const double share = e.maglev.empty() ? 0.0 : 100.0 * double(buckets[i]) / double(e.maglev.size());
            char pct[32];
            std::snprintf(pct, sizeof pct, "%.1f%%", share);
            out << "    -> " << b.name << " " << endpoint(b.addr, b.port) << " on " << b.node << ", weight "
                << b.weight << (b.healthy ? "" : " (health check: down)")
                << (b.draining ? " (draining: no new connections)" : "") << ", " << buckets[i] << " buckets (" << pct
                << ")\n";
        }
        if (!e.maglev_established.empty()) {
            std::size_t moved = 0;
            for (std::size_t i = 0; i < e.maglev_established.size(); ++i)
                moved += e.maglev.empty() || e.maglev[i] != e.maglev_established[i];
            out << "    drain: connections from before it keep the table with the draining backends; " << moved
                << " buckets moved (a new connection there is remembered by the entry node)\n";
        }
    }
    out << "bindings: " << plan.bindings.size() << "\n";
    for (const auto& b : plan.bindings)
        out << "  " << b.service << " " << endpoint(b.vip, b.vport) << "/" << to_string(b.proto) << " -> "
            << b.backend << " " << endpoint(b.backend_addr, b.backend_port) << "\n";
    const auto& lc = plan.local_clients;
    if (lc.enabled) {
        out << "local clients (conntrack + DNAT, not DSR): this node's processes";
        if (lc.pod_prefix)
            out << " and pods in " << config::format_ipv4(lc.pod_net) << "/" << unsigned(lc.pod_prefix);
        out << ", to " << lc.services.size() << " services; hairpin SNAT to " << config::format_ipv4(plan.node_addr)
            << " for " << lc.hairpin.size() << " pod backends\n";
        for (const auto& l : lc.services) {
            std::vector<std::uint32_t> slots(l.backends.size(), 0);
            std::size_t none = 0;
            for (auto idx : l.slots)
                idx < slots.size() ? ++slots[idx] : ++none;
            out << "  " << l.name << " :" << l.port << "/" << to_string(l.proto) << " (" << l.addrs.size()
                << " addresses), " << l.slots.size() << " slots:";
            for (std::size_t i = 0; i < l.backends.size(); ++i)
                if (slots[i])
                    out << " " << l.backends[i].name << " " << slots[i];
            if (none)
                out << " (no backend up in " << none << ")";
            out << "\n";
        }
    }
    return out.str();
}

}  // namespace nfdsr::plan
