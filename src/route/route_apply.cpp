#include "route/route_apply.hpp"

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <memory>
#include <string>

#include "common/log.hpp"
#include "route/policy_routes.hpp"
#include "route/tunnel_dev.hpp"

namespace nfdsr::route {
namespace {

struct SockFree {
    void operator()(nl_sock* s) const { nl_socket_free(s); }
};
using Sock = std::unique_ptr<nl_sock, SockFree>;

Sock open_route_socket()
{
    Sock sk(nl_socket_alloc());
    if (!sk)
        throw RouteError("out of memory (netlink socket)");
    const int e = nl_connect(sk.get(), NETLINK_ROUTE);
    if (e < 0)
        throw RouteError(std::string("cannot open rtnetlink: ") + nl_geterror(e));
    return sk;
}

}  // namespace

bool needs_tunnel(const plan::NodePlan& plan)
{
    for (const auto& e : plan.entry)
        if (e.dispatch == plan::Dispatch::ipip)
            for (const auto& b : e.backends)
                if (b.route_mark != 0)
                    return true;
    return false;
}

void apply(const plan::NodePlan& plan)
{
    if (!plan.tunnel.enabled)
        return;
    Sock sk = open_route_socket();
    const std::optional<int> tunl0 = tunnel_up(sk.get());
    if (!tunl0) {
        if (needs_tunnel(plan))
            throw RouteError("dispatch ipip needs tunl0, which does not exist in this network namespace: "
                             "load the ipip module (modprobe ipip)");
        NFDSR_LOG(info) << "tunl0 does not exist (ipip module not loaded): this node is not prepared for "
                           "dispatch ipip; `modprobe ipip` and apply again before switching";
        remove_policy_routes(sk.get());
        return;
    }
    // not inside the log statement: Boost.Log evaluates the stream only when
    // the record passes the level filter
    const std::string rpf = tunnel_rp_filter_off();
    NFDSR_LOG(info) << "tunl0 up, " << rpf;
    sync_policy_routes(sk.get(), plan.tunnel, plan.node_addr, *tunl0);
}

void flush()
{
    Sock sk = open_route_socket();
    remove_policy_routes(sk.get());
}

}  // namespace nfdsr::route
