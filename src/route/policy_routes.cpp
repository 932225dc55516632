#include "route/policy_routes.hpp"

#include <arpa/inet.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>

#include <set>
#include <string>
#include <tuple>

#include "common/log.hpp"
#include "route/route_apply.hpp"

namespace nfdsr::route {
namespace {

using RuleKey = std::tuple<std::uint32_t, std::uint32_t, std::uint32_t, std::uint32_t>;  // prio, mark, mask, table

std::string err(const std::string& what, int e) { return what + ": " + nl_geterror(e); }

nl_addr* v4(plan::Ipv4 a, int prefix)
{
    nl_addr* x = nl_addr_build(AF_INET, &a.be, 4);
    if (!x)
        throw RouteError("out of memory");
    nl_addr_set_prefixlen(x, prefix);
    return x;
}

bool ours(rtnl_rule* r)
{
    std::uint8_t proto = 0;
    return rtnl_rule_get_protocol(r, &proto) == 0 && proto == kRtprotNfdsr;
}

// Existing nfdsr rules; with `remove_unless`, deletes those not in it.
std::set<RuleKey> rules_in_kernel(nl_sock* sk, const std::set<RuleKey>* keep)
{
    nl_cache* cache = nullptr;
    int e = rtnl_rule_alloc_cache(sk, AF_INET, &cache);
    if (e < 0)
        throw RouteError(err("cannot list ip rules", e));
    std::set<RuleKey> have;
    for (nl_object* o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
        auto* r = reinterpret_cast<rtnl_rule*>(o);
        if (!ours(r))
            continue;
        RuleKey k{rtnl_rule_get_prio(r), rtnl_rule_get_mark(r), rtnl_rule_get_mask(r), rtnl_rule_get_table(r)};
        if (keep && !keep->count(k)) {
            if ((e = rtnl_rule_delete(sk, r, 0)) < 0 && e != -NLE_OBJ_NOTFOUND) {
                nl_cache_free(cache);
                throw RouteError(err("cannot delete ip rule of nfdsr", e));
            }
            continue;
        }
        have.insert(k);
    }
    nl_cache_free(cache);
    return have;
}

void remove_routes(nl_sock* sk, const std::set<std::uint32_t>& keep_tables)
{
    nl_cache* cache = nullptr;
    // all tables (the dump is not filtered by table)
    int e = rtnl_route_alloc_cache(sk, AF_INET, 0, &cache);
    if (e < 0)
        throw RouteError(err("cannot list routes", e));
    for (nl_object* o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
        auto* r = reinterpret_cast<rtnl_route*>(o);
        if (rtnl_route_get_protocol(r) != kRtprotNfdsr || keep_tables.count(rtnl_route_get_table(r)))
            continue;
        if ((e = rtnl_route_delete(sk, r, 0)) < 0 && e != -NLE_OBJ_NOTFOUND) {
            nl_cache_free(cache);
            throw RouteError(err("cannot delete route of nfdsr", e));
        }
    }
    nl_cache_free(cache);
}

}  // namespace

void sync_policy_routes(nl_sock* sk, const plan::TunnelPlan& t, plan::Ipv4 self, int tunl0)
{
    std::set<RuleKey> want;
    std::set<std::uint32_t> tables;
    for (const auto& r : t.routes) {
        want.insert({t.rule_priority, r.mark, t.route_mark_mask, r.table});
        tables.insert(r.table);
    }
    // routes first (a rule must never point at an empty table), then rules
    for (const auto& r : t.routes) {
        rtnl_route* route = rtnl_route_alloc();
        nl_addr* dst = v4(plan::Ipv4{0}, 0);
        nl_addr* gw = v4(r.gateway, 32);
        nl_addr* src = v4(self, 32);
        rtnl_route_set_family(route, AF_INET);
        rtnl_route_set_table(route, r.table);
        rtnl_route_set_protocol(route, kRtprotNfdsr);
        rtnl_route_set_scope(route, RT_SCOPE_UNIVERSE);
        rtnl_route_set_type(route, RTN_UNICAST);
        rtnl_route_set_dst(route, dst);
        rtnl_route_set_pref_src(route, src);
        rtnl_nexthop* nh = rtnl_route_nh_alloc();
        rtnl_route_nh_set_ifindex(nh, tunl0);
        rtnl_route_nh_set_gateway(nh, gw);
        rtnl_route_nh_set_flags(nh, RTNH_F_ONLINK);
        rtnl_route_add_nexthop(route, nh);
        const int e = rtnl_route_add(sk, route, NLM_F_CREATE | NLM_F_REPLACE);
        nl_addr_put(dst);
        nl_addr_put(gw);
        nl_addr_put(src);
        rtnl_route_put(route);
        if (e < 0)
            throw RouteError(err("cannot install route to " + r.node + " via tunl0 in table " +
                                     std::to_string(r.table),
                                 e));
    }
    const std::set<RuleKey> have = rules_in_kernel(sk, &want);
    for (const auto& k : want) {
        if (have.count(k))
            continue;
        rtnl_rule* rule = rtnl_rule_alloc();
        rtnl_rule_set_family(rule, AF_INET);
        rtnl_rule_set_prio(rule, std::get<0>(k));
        rtnl_rule_set_mark(rule, std::get<1>(k));
        rtnl_rule_set_mask(rule, std::get<2>(k));
        rtnl_rule_set_table(rule, std::get<3>(k));
        rtnl_rule_set_action(rule, FR_ACT_TO_TBL);
        rtnl_rule_set_protocol(rule, kRtprotNfdsr);
        const int e = rtnl_rule_add(sk, rule, NLM_F_CREATE);
        rtnl_rule_put(rule);
        if (e < 0)
            throw RouteError(err("cannot install ip rule fwmark for table " + std::to_string(std::get<3>(k)), e));
    }
    remove_routes(sk, tables);
    NFDSR_LOG(info) << "routing: " << t.routes.size() << " tunl0 routes (fwmark rules priority " << t.rule_priority
                    << ", proto " << int(kRtprotNfdsr) << ")";
}

void remove_policy_routes(nl_sock* sk)
{
    const std::set<RuleKey> none;
    rules_in_kernel(sk, &none);
    remove_routes(sk, {});
}

}  // namespace nfdsr::route
