#include "route/tunnel_dev.hpp"

#include <net/if.h>
#include <netlink/errno.h>
#include <netlink/route/link.h>

#include <fstream>

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
std::string read_sysctl(const std::string& path)
{
    std::ifstream in(path);
    std::string v;
    in >> v;
    return v;
}
}  // namespace

std::string tunnel_rp_filter_loose()
{
    const std::string path = "/proc/sys/net/ipv4/conf/tunl0/rp_filter";
    {
        std::ofstream out(path);
        out << "2\n";
        out.flush();
        if (!out)
            throw RouteError("cannot write " + path + " (needed so decapsulated packets pass reverse-path filtering)");
    }
    const std::string all = read_sysctl("/proc/sys/net/ipv4/conf/all/rp_filter");
    return "rp_filter tunl0=2, all=" + all + ": effective 2 (loose)";
}

}  // namespace nfdsr::route
