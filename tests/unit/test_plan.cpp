#include "config/scalars.hpp"
#include "config_fixture.hpp"
#include "plan/derive.hpp"
#include "plan/describe.hpp"
#include "plan/discover.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace nfdsr;

namespace {

plan::Ipv4 ip(const char* text)
{
    return *config::parse_ipv4(text);
}

const plan::EntryServicePlan* entry(const plan::NodePlan& p, std::string_view name)
{
    for (const auto& e : p.entry)
        if (e.name == name)
            return &e;
    return nullptr;
}

std::vector<plan::Binding> bindings_of(const plan::NodePlan& p, std::string_view service)
{
    std::vector<plan::Binding> out;
    for (const auto& b : p.bindings)
        if (b.service == service)
            out.push_back(b);
    return out;
}

}  // namespace

TEST_CASE("k8s-s: entry node for all services, bindings only for local1")
{
    auto p = plan::derive(test::reference_lab(), "k8s-s");
    CHECK(p.node == "k8s-s");
    CHECK(p.node_addr == ip("192.168.10.10"));
    CHECK(p.params.entry_mark == 0x00200000u);
    CHECK(p.params.flow_max == 262144u);
    REQUIRE(p.entry.size() == 3);
    CHECK(p.entry[0].name == "svc1");  // config order

    const auto* svc1 = entry(p, "svc1");
    REQUIRE(svc1);
    CHECK(svc1->vip == ip("192.168.10.10"));
    CHECK(svc1->vport == 31615);
    CHECK(svc1->proto == plan::Protocol::tcp);
    CHECK(svc1->dispatch == plan::Dispatch::opt);
    CHECK(svc1->hash_seed == 0x6e666473u);
    REQUIRE(svc1->backends.size() == 1);
    CHECK(svc1->backends[0].name == "webpod1");
    CHECK(svc1->backends[0].node == "k8s-w1");
    CHECK(svc1->backends[0].addr == ip("172.16.2.214"));
    CHECK(svc1->backends[0].port == 80);
    CHECK(svc1->maglev == std::vector<std::uint32_t>(101, 0));

    const auto* udp1 = entry(p, "udp1");
    REQUIRE(udp1);
    CHECK(udp1->proto == plan::Protocol::udp);
    CHECK(udp1->vport == 31616);
    CHECK(udp1->backends[0].port == 5353);

    // local1's backend runs on k8s-s itself: reachable via every node's NodePort.
    auto local = bindings_of(p, "local1");
    CHECK(p.bindings.size() == local.size());
    REQUIRE(local.size() == 3);
    CHECK(local[0].vip == ip("192.168.10.10"));
    CHECK(local[1].vip == ip("192.168.10.101"));
    CHECK(local[2].vip == ip("192.168.10.102"));
    for (const auto& b : local) {
        CHECK(b.vport == 31617);
        CHECK(b.backend == "webpod0");
        CHECK(b.backend_addr == ip("172.16.0.10"));
        CHECK(b.backend_port == 80);
        CHECK(b.proto == plan::Protocol::tcp);
    }
}

TEST_CASE("k8s-w1: entry under its own address, bindings for svc1 and udp1 on all node addresses")
{
    auto p = plan::derive(test::reference_lab(), "k8s-w1");
    REQUIRE(p.entry.size() == 3);
    CHECK(entry(p, "svc1")->vip == ip("192.168.10.101"));

    auto svc1 = bindings_of(p, "svc1");
    REQUIRE(svc1.size() == 3);
    std::vector<plan::Ipv4> vips;
    for (const auto& b : svc1) {
        vips.push_back(b.vip);
        CHECK(b.vport == 31615);
        CHECK(b.backend_addr == ip("172.16.2.214"));
        CHECK(b.backend_port == 80);
    }
    CHECK(vips == std::vector<plan::Ipv4>{ip("192.168.10.10"), ip("192.168.10.101"), ip("192.168.10.102")});

    auto udp1 = bindings_of(p, "udp1");
    REQUIRE(udp1.size() == 3);
    CHECK(udp1[0].proto == plan::Protocol::udp);
    CHECK(udp1[0].vport == 31616);
    CHECK(udp1[0].backend_port == 5353);
    CHECK(bindings_of(p, "local1").empty());
    CHECK(p.bindings.size() == 6);
}

TEST_CASE("k8s-w2: entry only, no backends")
{
    auto p = plan::derive(test::reference_lab(), "k8s-w2");
    CHECK(p.entry.size() == 3);
    CHECK(entry(p, "local1")->vip == ip("192.168.10.102"));
    CHECK(p.bindings.empty());
}

TEST_CASE("entry_nodes and vip services")
{
    auto c = config::parse_text(R"(nodes:
  - {name: a, address: 10.0.0.1}
  - {name: b, address: 10.0.0.2}
services:
  - name: web
    protocol: tcp
    vip: 10.96.0.10
    port: 80
    entry_nodes: [a]
    backends:
      - {name: x, address: 172.16.0.5, port: 8080, node: b}
      - {name: y, address: 172.16.1.5, port: 8080, node: b, weight: 2}
)",
                                "t.yaml");
    auto a = plan::derive(c, "a");
    REQUIRE(a.entry.size() == 1);
    CHECK(a.entry[0].vip == ip("10.96.0.10"));
    CHECK(a.entry[0].vport == 80);
    CHECK(a.entry[0].maglev.size() == 211);
    CHECK(a.bindings.empty());

    auto b = plan::derive(c, "b");
    CHECK(b.entry.empty());
    REQUIRE(b.bindings.size() == 2);  // one per local backend, one VIP
    CHECK(b.bindings[0].vip == ip("10.96.0.10"));
    CHECK(b.bindings[1].backend == "y");

    // Same table on every entry node, whichever node computes it.
    CHECK(plan::derive(c, "a").entry[0].maglev == a.entry[0].maglev);
    CHECK(plan::describe(a).find("web 10.96.0.10:80/tcp") != std::string::npos);
}

TEST_CASE("unknown node name")
{
    CHECK_THROWS_AS(plan::derive(test::reference_lab(), "nope"), plan::PlanError);
    CHECK_THROWS_AS(plan::resolve_node(test::reference_lab(), "nope"), plan::PlanError);
    CHECK(plan::resolve_node(test::reference_lab(), "k8s-w2") == "k8s-w2");
}

TEST_CASE("node discovery by local address")
{
    auto c = test::reference_lab();
    CHECK(plan::match_local_node(c, {ip("127.0.0.1"), ip("192.168.10.101")}) == "k8s-w1");
    CHECK_THROWS_WITH_AS(plan::match_local_node(c, {ip("127.0.0.1")}),
                         doctest::Contains("no node of the config"), plan::PlanError);
    // The message names what was looked for and what this machine has.
    CHECK_THROWS_WITH_AS(plan::match_local_node(c, {ip("127.0.0.1"), ip("10.1.2.3")}),
                         doctest::Contains("looked for k8s-s 192.168.10.10, k8s-w1 192.168.10.101, k8s-w2 "
                                           "192.168.10.102; this machine has 127.0.0.1, 10.1.2.3"),
                         plan::PlanError);
    CHECK_THROWS_WITH_AS(plan::resolve_node(c, "nope"),
                         doctest::Contains("expected one of: k8s-s, k8s-w1, k8s-w2"), plan::PlanError);
    CHECK_THROWS_WITH_AS(plan::match_local_node(c, {ip("192.168.10.10"), ip("192.168.10.102")}),
                         doctest::Contains("several nodes"), plan::PlanError);
    // The real lookup works in any namespace (at least loopback is listed).
    CHECK_NOTHROW(plan::local_ipv4_addresses());
}

TEST_CASE("describe shows roles, table size and bucket counts")
{
    auto text = plan::describe(plan::derive(test::reference_lab(), "k8s-s"));
    CHECK(text.find("roles: entry, backend") != std::string::npos);
    CHECK(text.find("svc1 192.168.10.10:31615/tcp dispatch opt, maglev table 101") != std::string::npos);
    CHECK(text.find("webpod1 172.16.2.214:80 on k8s-w1, weight 1, 101 buckets (100.0%)") != std::string::npos);
    CHECK(text.find("local1 192.168.10.101:31617/tcp -> webpod0 172.16.0.10:80") != std::string::npos);
}

TEST_CASE("drain: new connections avoid the draining backend, established ones keep the old table")
{
    auto yaml = [](const char* drain) {
        return std::string(R"(nodes:
  - {name: a, address: 10.0.0.1}
  - {name: b, address: 10.0.0.2, pod_cidr: 172.16.0.0/24}
services:
  - name: web
    protocol: tcp
    vip: 10.96.0.10
    port: 80
    entry_nodes: [a]
    backends:
      - {name: x, address: 172.16.0.5, port: 8080, node: b}
      - {name: y, address: 172.16.0.6, port: 8080, node: b)") + drain + R"(}
      - {name: z, address: 172.16.0.7, port: 8080, node: b}
)";
    };
    const auto before = plan::derive(config::parse_text(yaml(", weight: 2"), "t.yaml"), "a").entry.at(0);
    const auto draining = plan::derive(config::parse_text(yaml(", weight: 2, drain: true"), "t.yaml"), "a").entry.at(0);
    const auto removed = plan::derive(config::parse_text(yaml(", weight: 0"), "t.yaml"), "a").entry.at(0);
    CHECK(before.maglev_established.empty());
    CHECK(draining.backends.at(1).draining);
    // established connections: exactly the table from before the drain
    CHECK(draining.maglev_established == before.maglev);
    // new connections: exactly the table without y (as with weight 0)
    CHECK(draining.maglev == removed.maglev);
    CHECK(removed.maglev_established.empty());
    CHECK(plan::bucket_counts(draining)[1] == 0);
    // every bucket y had moved; the others mostly stayed (Maglev)
    std::size_t moved = 0, of_y = 0;
    for (std::size_t i = 0; i < before.maglev.size(); ++i) {
        if (before.maglev[i] == 1) {
            ++of_y;
            CHECK(draining.maglev[i] != 1);
        }
        moved += draining.maglev[i] != draining.maglev_established[i];
    }
    CHECK(moved >= of_y);
    CHECK(moved < of_y + before.maglev.size() / 10);
    const std::string text = plan::describe(plan::derive(config::parse_text(yaml(", weight: 2, drain: true"), "t.yaml"), "a"));
    CHECK(text.find("y 172.16.0.6:8080 on b, weight 2 (draining: no new connections), 0 buckets") != std::string::npos);
    CHECK(text.find("drain: connections from before it keep the table with the draining backends; " +
                    std::to_string(moved) + " buckets moved") != std::string::npos);

    // a health-down draining backend has nothing to keep: no second table
    const auto down = plan::derive(config::parse_text(yaml(", weight: 2, drain: true"), "t.yaml"), "a", {{"web", "y"}}).entry.at(0);
    CHECK(down.maglev_established.empty());
    CHECK(down.maglev == removed.maglev);
}

TEST_CASE("local clients: every node, every service address, slots by weight, hairpin pods")
{
    auto c = config::parse_text(R"(nodes:
  - {name: a, address: 10.0.0.1, pod_cidr: 172.16.1.0/24}
  - {name: b, address: 10.0.0.2, pod_cidr: 172.16.0.0/24}
services:
  - name: web
    protocol: tcp
    vip: 10.96.0.10
    port: 80
    entry_nodes: [a]
    backends:
      - {name: x, address: 172.16.0.5, port: 8080, node: b, weight: 2}
      - {name: y, address: 172.16.0.6, port: 8080, node: b, weight: 4}
      - {name: z, address: 172.16.0.7, port: 8080, node: b, weight: 0}
      - {name: w, address: 10.0.0.2, port: 8080, node: b, drain: true}
  - name: np
    protocol: udp
    node_port: 30053
    backends:
      - {name: d, address: 172.16.1.9, port: 53, node: a}
)",
                                "t.yaml");
    // b is no entry node of web: its clients still get the service
    auto b = plan::derive(c, "b");
    const auto& lc = b.local_clients;
    CHECK(lc.enabled);
    CHECK(lc.pod_net == ip("172.16.0.0"));
    CHECK(lc.pod_prefix == 24);
    REQUIRE(lc.services.size() == 2);
    CHECK(lc.services[0].addrs == std::vector<plan::Ipv4>{ip("10.96.0.10")});
    CHECK(lc.services[0].port == 80);
    REQUIRE(lc.services[0].backends.size() == 4);
    // weights 2:4 reduced to 1:2; weight 0 and draining backends get no slot
    CHECK(lc.services[0].slots == std::vector<std::uint32_t>{0, 1, 1});
    CHECK(lc.services[1].addrs == std::vector<plan::Ipv4>{ip("10.0.0.1"), ip("10.0.0.2")});
    CHECK(lc.services[1].proto == plan::Protocol::udp);
    // hairpin: b's pod backends (not its own address)
    CHECK(lc.hairpin == std::vector<plan::Ipv4>{ip("172.16.0.5"), ip("172.16.0.6"), ip("172.16.0.7")});
    CHECK(plan::derive(c, "a").local_clients.hairpin == std::vector<plan::Ipv4>{ip("172.16.1.9")});
    // a health check failure gives the backend's slots to the healthy ones
    // (same number of slots: a flip changes map elements only); all down:
    // no backend in any slot
    auto down = plan::derive(c, "b", {{"web", "y"}});
    CHECK(down.local_clients.services[0].slots == std::vector<std::uint32_t>{0, 0, 0});
    auto none = plan::derive(c, "b", {{"web", "x"}, {"web", "y"}});
    CHECK(none.local_clients.services[0].slots ==
          std::vector<std::uint32_t>(3, plan::kNoLocalBackend));
}

TEST_CASE("local clients: at most kLocalClientSlots slots, at least one per backend")
{
    std::string yaml = "nodes:\n  - {name: a, address: 10.0.0.1}\nservices:\n  - name: web\n    protocol: tcp\n"
                       "    vip: 10.96.0.10\n    port: 80\n    backends:\n"
                       "      - {name: big, address: 172.16.0.5, port: 80, node: a, weight: 65535}\n"
                       "      - {name: small, address: 172.16.0.6, port: 80, node: a, weight: 1}\n";
    auto p = plan::derive(config::parse_text(yaml, "t.yaml"), "a");
    const auto& slots = p.local_clients.services.at(0).slots;
    CHECK(slots.size() <= plan::kLocalClientSlots);
    CHECK(std::count(slots.begin(), slots.end(), 1u) == 1);
    CHECK(std::count(slots.begin(), slots.end(), 0u) == 255);
}
