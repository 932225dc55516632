#include "kmod_client/services.hpp"

#include "kmod_client/messages.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <tuple>

#include "nfdsr/uapi/nfdsr.h"

namespace nfdsr::kmod {

namespace {

std::vector<std::uint16_t> table_of(const std::vector<std::uint32_t>& maglev, std::size_t backends,
                                    const SvcKey& key)
{
    std::vector<std::uint16_t> t;
    t.reserve(maglev.size());
    for (std::uint32_t idx : maglev) {
        if (idx >= backends)
            throw KmodError("service " + describe(key) + ": Maglev table names backend #" + std::to_string(idx) +
                            " of " + std::to_string(backends));
        t.push_back(static_cast<std::uint16_t>(idx));
    }
    return t;
}

Service service_of(const plan::EntryServicePlan& e, SvcKind kind)
{
    Service s;
    s.key = {e.proto, e.vip, e.vport, kind};
    if (e.backends.size() > NFDSR_SVC_BACKENDS_LIMIT)
        throw KmodError("service " + describe(s.key) + ": " + std::to_string(e.backends.size()) +
                        " backends, nfdsr.ko takes at most " + std::to_string(NFDSR_SVC_BACKENDS_LIMIT));
    const bool ipip = kind == SvcKind::entry && e.dispatch == plan::Dispatch::ipip;
    const bool classic = ipip && e.ipip_mode == plan::IpipMode::classic;
    s.flags = classic ? kSvcClassic : kSvcOption;
    s.hash_seed = e.hash_seed;
    for (const auto& b : e.backends)
        s.backends.push_back({b.addr, b.port, ipip ? b.route_mark : 0u, 0, 0});
    s.table = table_of(e.maglev, e.backends.size(), s.key);
    s.est_table = table_of(e.maglev_established, e.backends.size(), s.key);
    return s;
}

}  // namespace

bool key_less(const SvcKey& a, const SvcKey& b)
{
    return std::tuple(a.proto, ntohl(a.vip.be), a.port, a.kind) < std::tuple(b.proto, ntohl(b.vip.be), b.port, b.kind);
}

std::vector<Service> services_of(const plan::NodePlan& plan)
{
    std::vector<Service> out;
    out.reserve(plan.entry.size() + plan.tunnel.services.size());
    for (const auto& e : plan.entry)
        out.push_back(service_of(e, SvcKind::entry));
    if (plan.tunnel.enabled)
        for (const auto& e : plan.tunnel.services)
            out.push_back(service_of(e, SvcKind::tunnel));
    std::sort(out.begin(), out.end(), [](const Service& a, const Service& b) { return key_less(a.key, b.key); });
    for (std::size_t i = 1; i < out.size(); ++i)
        if (out[i].key == out[i - 1].key)
            throw KmodError("plan lists service " + describe(out[i].key) + " twice");
    return out;
}

ServiceChanges diff(const std::vector<Service>& installed, const std::vector<Service>& wanted)
{
    ServiceChanges c;
    std::size_t i = 0, w = 0;
    while (i < installed.size() || w < wanted.size()) {
        if (w == wanted.size() || (i < installed.size() && key_less(installed[i].key, wanted[w].key))) {
            c.del.push_back(installed[i].key);
            c.restore_set.push_back(installed[i]);
            ++i;
        } else if (i == installed.size() || key_less(wanted[w].key, installed[i].key)) {
            c.set.push_back(wanted[w]);
            c.restore_del.push_back(wanted[w].key);
            ++w;
        } else {
            if (!installed[i].same_config(wanted[w])) {
                c.set.push_back(wanted[w]);
                c.restore_set.push_back(installed[i]);
            }
            ++i;
            ++w;
        }
    }
    return c;
}

}  // namespace nfdsr::kmod
