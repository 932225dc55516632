#include "engine/snapshot.hpp"

#include "config/scalars.hpp"
#include "engine/engine.hpp"
#include "kmod_client/client.hpp"
#include "nft/counters.hpp"
#include "plan/describe.hpp"

#include <map>
#include <tuple>

namespace nfdsr::engine {

namespace {

std::string ep(plan::Ipv4 a, std::uint16_t port) { return config::format_ipv4(a) + ":" + std::to_string(port); }

}  // namespace

metrics::Snapshot collect(const plan::NodePlan* plan, bool module, bool health_known, bool count_flows)
{
    metrics::Snapshot s;
    try {
        s.table_installed = !nft::chain_counters().empty();
    } catch (const std::exception& e) {
        s.config_error = std::string("nftables: ") + e.what();
    }
    // per-backend counters live in nfdsr.ko's service table
    std::vector<kmod::Service> kernel_services;
    if (plan && module && !plan->entry.empty()) {
        try {
            kernel_services = kmod::Client::open().dump_services(false);  // counters, no tables
        } catch (const std::exception& e) {
            s.module.error = std::string("service table: ") + e.what();
        }
    }
    auto kernel_service = [&](const plan::EntryServicePlan& e) -> const kmod::Service* {
        for (const auto& k : kernel_services)
            if (k.key == kmod::SvcKey{e.proto, e.vip, e.vport, kmod::SvcKind::entry})
                return &k;
        return nullptr;
    };
    if (plan) {
        s.node = plan->node;
        s.node_address = config::format_ipv4(plan->node_addr);
        for (const auto& e : plan->entry) {
            metrics::ServiceSample svc;
            svc.name = e.name;
            svc.protocol = plan::to_string(e.proto);
            svc.address = config::format_ipv4(e.vip);
            svc.port = e.vport;
            svc.dispatch = plan::dispatch_label(e);
            svc.maglev_size = static_cast<std::uint32_t>(e.maglev.size());
            svc.hash_seed = e.hash_seed;
            const kmod::Service* k = kernel_service(e);
            if (k)
                svc.dropped_packets = k->no_backend;
            const auto buckets = plan::bucket_counts(e);
            for (std::size_t i = 0; i < e.backends.size(); ++i) {
                const auto& b = e.backends[i];
                metrics::BackendSample bs;
                bs.name = b.name;
                bs.node = b.node;
                bs.address = config::format_ipv4(b.addr);
                bs.port = b.port;
                bs.weight = b.weight;
                bs.buckets = buckets[i];
                bs.up = bs.buckets > 0;  // in the Maglev table (not drained, not down)
                bs.draining = b.draining;
                if (!e.health_checked)
                    bs.health = "unchecked";
                else if (health_known)
                    bs.health = b.healthy ? "up" : "down";
                bs.local = b.node == plan->node;
                // the module lists a service's backends in the plan's order
                if (k && i < k->backends.size() && k->backends[i].addr == b.addr && k->backends[i].port == b.port) {
                    bs.packets = k->backends[i].packets;
                    bs.bytes = k->backends[i].bytes;
                }
                svc.backends.push_back(std::move(bs));
            }
            s.services.push_back(std::move(svc));
        }
        for (const auto& b : plan->bindings)
            s.backend_of.push_back(b.service + " " + ep(b.vip, b.vport) + "/" + plan::to_string(b.proto) + " -> " +
                                   b.backend + " " + ep(b.backend_addr, b.backend_port));
    }
    s.module_queried = module;
    if (module) {
        std::string why;
        if (auto st = module_status(why)) {
            s.module.loaded = true;
            s.module.version = st->version;
            s.module.bindings = st->binding_count;
            s.module.flows = st->flow_count;
            s.module.flows_max = st->params.flow_max;
            for (const auto& c : st->counters)
                s.module.counters.emplace_back(c.name, c.value);
        } else {
            s.module.error = why;
        }
    }
    if (plan && count_flows && s.module.loaded && !plan->bindings.empty()) {
        try {
            using Key = std::tuple<plan::Protocol, std::uint32_t, std::uint16_t, std::uint32_t, std::uint16_t>;
            std::map<Key, std::size_t> index;
            for (std::size_t i = 0; i < plan->bindings.size(); ++i) {
                const auto& b = plan->bindings[i];
                index.emplace(Key{b.proto, b.vip.be, b.vport, b.backend_addr.be, b.backend_port}, i);
            }
            s.backend_flows.assign(plan->bindings.size(), {});
            for (const auto& f : kmod::Client::open().dump_flows())
                if (auto it = index.find(Key{f.proto, f.vip.be, f.vport, f.backend.be, f.backend_port});
                    it != index.end())
                    ++(f.closing ? s.backend_flows[it->second].closing : s.backend_flows[it->second].open);
        } catch (const std::exception& e) {
            s.module.error = std::string("flow table: ") + e.what();
        }
    }
    return s;
}

}  // namespace nfdsr::engine
