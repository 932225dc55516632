#include "plan/discover.hpp"

#include "config/scalars.hpp"
#include "plan/derive.hpp"

#include <netlink/netlink.h>
#include <netlink/route/addr.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace nfdsr::plan {

std::vector<Ipv4> local_ipv4_addresses()
{
    std::unique_ptr<nl_sock, decltype(&nl_socket_free)> sock(nl_socket_alloc(), &nl_socket_free);
    if (!sock)
        throw PlanError("cannot allocate a netlink socket");
    int err = nl_connect(sock.get(), NETLINK_ROUTE);
    if (err < 0)
        throw PlanError(std::string("cannot open rtnetlink: ") + nl_geterror(err));

    nl_cache* raw = nullptr;
    err = rtnl_addr_alloc_cache(sock.get(), &raw);
    if (err < 0)
        throw PlanError(std::string("cannot list local addresses: ") + nl_geterror(err));
    std::unique_ptr<nl_cache, decltype(&nl_cache_free)> cache(raw, &nl_cache_free);

    std::vector<Ipv4> out;
    for (nl_object* obj = nl_cache_get_first(cache.get()); obj; obj = nl_cache_get_next(obj)) {
        auto* addr = reinterpret_cast<rtnl_addr*>(obj);
        if (rtnl_addr_get_family(addr) != AF_INET)
            continue;
        nl_addr* local = rtnl_addr_get_local(addr);
        if (!local || nl_addr_get_len(local) != 4)
            continue;
        Ipv4 a;
        std::memcpy(&a.be, nl_addr_get_binary_addr(local), 4);
        out.push_back(a);
    }
    return out;
}

std::string match_local_node(const config::Config& config, const std::vector<Ipv4>& local)
{
    std::vector<const config::Node*> found;
    for (const auto& n : config.nodes)
        if (std::find(local.begin(), local.end(), n.address) != local.end())
            found.push_back(&n);
    if (found.empty()) {
        std::string wanted;
        for (const auto& n : config.nodes)
            wanted += (wanted.empty() ? "" : ", ") + n.name + " " + config::format_ipv4(n.address);
        std::string have;
        for (const auto& a : local)
            have += (have.empty() ? "" : ", ") + config::format_ipv4(a);
        throw PlanError("no node of the config has an address of this machine: looked for " +
                        (wanted.empty() ? std::string("(no nodes)") : wanted) + "; this machine has " +
                        (have.empty() ? std::string("no IPv4 addresses") : have) +
                        " (in this network namespace); pass --node NAME or fix nodes[].address");
    }
    if (found.size() > 1) {
        std::string names;
        for (const auto* n : found)
            names += (names.empty() ? "" : ", ") + n->name + " (" + config::format_ipv4(n->address) + ")";
        throw PlanError("several nodes of the config have addresses of this machine: " + names +
                        "; pass --node NAME");
    }
    return found.front()->name;
}

std::string resolve_node(const config::Config& config, const std::string& explicit_name)
{
    if (!explicit_name.empty()) {
        if (!config.find_node(explicit_name))
        {
            std::string names;
            for (const auto& n : config.nodes)
                names += (names.empty() ? "" : ", ") + n.name;
            throw PlanError("node '" + explicit_name + "' (from --node) is not in the config's nodes list, expected one of: " +
                            names);
        }
        return explicit_name;
    }
    return match_local_node(config, local_ipv4_addresses());
}

}  // namespace nfdsr::plan
