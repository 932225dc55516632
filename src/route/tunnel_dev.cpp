#include "route/tunnel_dev.hpp"

#include <net/if.h>
#include <netlink/errno.h>
#include <netlink/route/link.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "route/route_apply.hpp"

namespace nfdsr::route {

std::optional<int> tunnel_up(nl_sock* sk)
{
    rtnl_link* link = nullptr;
    int err = rtnl_link_get_kernel(sk, 0, kTunnelDev, &link);
    if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV)
        return std::nullopt;
    if (err < 0)
        throw RouteError(std::string("cannot read link tunl0: ") + nl_geterror(err));
    const int ifindex = rtnl_link_get_ifindex(link);
    if (!(rtnl_link_get_flags(link) & IFF_UP)) {
        rtnl_link* change = rtnl_link_alloc();
        rtnl_link_set_flags(change, IFF_UP);
        err = rtnl_link_change(sk, link, change, 0);
        rtnl_link_put(change);
        if (err < 0) {
            rtnl_link_put(link);
            throw RouteError(std::string("cannot set tunl0 up: ") + nl_geterror(err));
        }
    }
    rtnl_link_put(link);
    return ifindex;
}

namespace {

constexpr const char* kConf = "/proc/sys/net/ipv4/conf/";

int read_int(const std::string& path)
{
    std::ifstream in(path);
    int v = -1;
    in >> v;
    return v;
}

void write_int(const std::string& path, int v)
{
    std::ofstream out(path);
    out << v << "\n";
    out.flush();
    if (!out)
        throw RouteError("cannot write " + path + " (needed so decapsulated packets pass reverse-path filtering)");
}

}  // namespace

std::string tunnel_rp_filter_off()
{
    const std::string conf = kConf;
    write_int(conf + kTunnelDev + "/rp_filter", 0);
    const int all = read_int(conf + "all/rp_filter");
    if (all <= 0)
        return "rp_filter tunl0=0, all=0: effective 0";
    // effective = max(all, interface): move `all` into every other interface
    // (explicitly set, so a later write to `default` does not touch them) and
    // into `default` (interfaces created later), then all := 0. Every other
    // interface keeps its effective value; only tunl0 becomes 0.
    std::vector<std::string> raised;
    for (const auto& d : std::filesystem::directory_iterator(conf)) {
        const std::string name = d.path().filename();
        if (name == "all" || name == "default" || name == kTunnelDev)
            continue;
        const std::string path = d.path() / "rp_filter";
        const int v = read_int(path);
        if (v >= 0 && v < all) {
            write_int(path, all);
            raised.push_back(name);
        }
    }
    if (read_int(conf + "default/rp_filter") < all)
        write_int(conf + "default/rp_filter", all);
    write_int(conf + "all/rp_filter", 0);
    std::string list;
    for (const auto& n : raised)
        list += (list.empty() ? "" : ",") + n;
    return "rp_filter tunl0=0; all was " + std::to_string(all) + ": moved to default and " +
           (list.empty() ? std::string("no interface") : list) + " (effective values unchanged), all=0";
}

}  // namespace nfdsr::route
