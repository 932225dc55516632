// From a node plan to nfdsr.ko's service table, and the diff an apply sends
// (src/kmod_client/services.hpp).
#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <algorithm>

#include "kmod_client/messages.hpp"
#include "kmod_client/services.hpp"

using namespace nfdsr;

namespace {

plan::Ipv4 ip(const char* s) {
    in_addr a{};
    REQUIRE(inet_pton(AF_INET, s, &a) == 1);
    return plan::Ipv4{a.s_addr};
}

plan::EntryServicePlan service(const char* vip, std::uint16_t port, plan::Dispatch d) {
    plan::EntryServicePlan e;
    e.name = std::string(vip) + ":" + std::to_string(port);
    e.vip = ip(vip);
    e.vport = port;
    e.dispatch = d;
    e.hash_seed = 7;
    e.backends.push_back({"a", "n1", ip("172.16.2.11"), 80, 1, true, 0x100});
    e.backends.push_back({"b", "self", ip("172.16.0.12"), 80, 1, true, 0});
    e.maglev = {0, 1, 0, 1, 1, 0, 1};
    return e;
}

}  // namespace

TEST_CASE("services_of: one per entry service and per tunnel address, sorted, flags by dispatch") {
    plan::NodePlan p;
    p.entry.push_back(service("192.168.10.10", 31700, plan::Dispatch::ipip));
    p.entry.push_back(service("192.168.10.10", 31615, plan::Dispatch::opt));
    auto classic = service("10.0.0.1", 80, plan::Dispatch::ipip);
    classic.ipip_mode = plan::IpipMode::classic;
    p.entry.push_back(classic);
    p.tunnel.enabled = true;
    p.tunnel.services.push_back(service("192.168.10.10", 31615, plan::Dispatch::opt));
    const auto s = kmod::services_of(p);
    REQUIRE(s.size() == 4);
    CHECK(std::is_sorted(s.begin(), s.end(),
                         [](const kmod::Service& a, const kmod::Service& b) { return kmod::key_less(a.key, b.key); }));
    auto find = [&](const char* vip, std::uint16_t port, kmod::SvcKind kind) {
        for (const auto& x : s)
            if (x.key == kmod::SvcKey{plan::Protocol::tcp, ip(vip), port, kind})
                return x;
        FAIL("no service");
        return kmod::Service{};
    };
    const auto opt = find("192.168.10.10", 31615, kmod::SvcKind::entry);
    CHECK(opt.flags == kmod::kSvcOption);
    CHECK(opt.backends[0].route_mark == 0);  // opt: plain routing
    CHECK(opt.table == std::vector<std::uint16_t>{0, 1, 0, 1, 1, 0, 1});
    CHECK(opt.hash_seed == 7);
    const auto ipip = find("192.168.10.10", 31700, kmod::SvcKind::entry);
    CHECK(ipip.flags == kmod::kSvcOption);
    CHECK(ipip.backends[0].route_mark == 0x100);  // the tunnel towards n1
    CHECK(ipip.backends[1].route_mark == 0);      // a backend on this node: no tunnel
    CHECK(find("10.0.0.1", 80, kmod::SvcKind::entry).flags == kmod::kSvcClassic);
    const auto tun = find("192.168.10.10", 31615, kmod::SvcKind::tunnel);
    CHECK(tun.flags == kmod::kSvcOption);
    CHECK(tun.backends[0].route_mark == 0);
}

TEST_CASE("services_of: a table naming no backend and a duplicate service are errors") {
    plan::NodePlan p;
    p.entry.push_back(service("192.168.10.10", 31615, plan::Dispatch::opt));
    p.entry[0].maglev[3] = 2;
    CHECK_THROWS_AS(kmod::services_of(p), kmod::KmodError);
    p.entry[0].maglev[3] = 1;
    p.entry.push_back(p.entry[0]);
    CHECK_THROWS_WITH_AS(kmod::services_of(p), doctest::Contains("twice"), kmod::KmodError);
}

TEST_CASE("diff: only what changed, and what puts the old table back") {
    plan::NodePlan a;
    a.entry.push_back(service("192.168.10.10", 31615, plan::Dispatch::opt));
    a.entry.push_back(service("192.168.10.10", 31616, plan::Dispatch::opt));
    a.entry.push_back(service("192.168.10.10", 31617, plan::Dispatch::opt));
    const auto before = kmod::services_of(a);

    CHECK(kmod::diff(before, before).empty());
    // counters do not count as a change
    auto counted = before;
    counted[0].backends[0].packets = 99;
    counted[0].no_backend = 3;
    CHECK(kmod::diff(counted, before).empty());

    plan::NodePlan b = a;
    b.entry[0].maglev = {1, 1, 1, 1, 1, 1, 1};                 // changed (a health flip)
    b.entry.erase(b.entry.begin() + 1);                        // 31616 gone
    b.entry.push_back(service("192.168.10.10", 31618, plan::Dispatch::opt));  // new
    const auto after = kmod::services_of(b);
    const auto c = kmod::diff(before, after);
    REQUIRE(c.set.size() == 2);
    CHECK(c.set[0].key.port == 31615);
    CHECK(c.set[1].key.port == 31618);
    REQUIRE(c.del.size() == 1);
    CHECK(c.del[0].port == 31616);
    // restore: the old 31615 and 31616 back, the new 31618 away
    REQUIRE(c.restore_set.size() == 2);
    CHECK(c.restore_set[0].same_config(before[0]));
    CHECK(c.restore_set[1].same_config(before[1]));
    REQUIRE(c.restore_del.size() == 1);
    CHECK(c.restore_del[0].port == 31618);
}
