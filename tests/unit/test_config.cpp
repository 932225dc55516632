#include "config/parse.hpp"
#include "config/quote.hpp"
#include "config/scalars.hpp"
#include "config_fixture.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace nfdsr;
using config::Diagnostic;

namespace {

// A valid base config; tests splice one mistake into it.
const std::string nodes_yaml = R"(nodes:
  - {name: a, address: 10.0.0.1}
  - {name: b, address: 10.0.0.2}
)";

std::vector<Diagnostic> errors_of(const std::string& text, const config::Limits& limits = {})
{
    try {
        config::parse_text(text, "test.yaml", limits);
    } catch (const config::ConfigError& e) {
        return e.diagnostics();
    }
    return {};
}

// The single diagnostic `text` must produce.
Diagnostic only_error(const std::string& text, const config::Limits& limits = {})
{
    auto errors = errors_of(text, limits);
    REQUIRE_MESSAGE(errors.size() == 1, "errors: " << errors.size() << (errors.empty() ? "" : "\n" + errors[0].to_string()));
    return errors[0];
}

bool mentions(const Diagnostic& d, std::string_view what)
{
    return d.to_string().find(what) != std::string::npos;
}

}  // namespace

TEST_CASE("reference lab parses with defaults filled in")
{
    auto c = test::reference_lab();
    CHECK(c.dispatch == Dispatch::opt);
    CHECK(c.entry_mark == 0x00200000u);
    CHECK(c.hash_seed == 0x6e666473u);
    CHECK(c.flows.max == 262144u);
    REQUIRE(c.nodes.size() == 3);
    CHECK(c.nodes[0].name == "k8s-s");
    CHECK(config::format_ipv4(c.nodes[1].address) == "192.168.10.101");
    REQUIRE(c.nodes[2].pod_cidr.has_value());
    CHECK(config::format_ipv4(c.nodes[2].pod_cidr->network) == "172.16.1.0");
    CHECK(c.nodes[2].pod_cidr->prefix == 24);

    REQUIRE(c.services.size() == 3);
    const auto& svc1 = c.services[0];
    CHECK(svc1.name == "svc1");
    CHECK(svc1.protocol == Protocol::tcp);
    CHECK(svc1.node_port == std::optional<std::uint16_t>(31615));
    CHECK(svc1.entry_nodes == std::vector<std::string>{"k8s-s", "k8s-w1", "k8s-w2"});
    CHECK(svc1.maglev_table_size == 101u);
    REQUIRE(svc1.backends.size() == 1);
    CHECK(svc1.backends[0].name == "webpod1");
    CHECK(svc1.backends[0].port == 80);
    CHECK(svc1.backends[0].weight == 1u);
    CHECK(c.services[1].protocol == Protocol::udp);
    CHECK(c.services[2].backends[0].node == "k8s-s");
}

TEST_CASE("optional top-level fields and vip services")
{
    auto c = config::parse_text(nodes_yaml + R"(dispatch: ipip
entry_mark: 0x10
hash_seed: 42
flows: {max: 1000, tcp_timeout: 60, tcp_close_timeout: 5, udp_timeout: 30}
services:
  - name: web
    protocol: udp
    vip: 10.96.0.10
    port: 53
    entry_nodes: [b]
    maglev_table_size: 251
    backends:
      - {name: x, address: 172.16.0.5, port: 5353, node: a, weight: 3}
      - {name: y, address: 172.16.0.6, port: 5353, node: a, weight: 0}
)",
                                "t.yaml");
    CHECK(c.dispatch == Dispatch::ipip);
    CHECK(c.entry_mark == 0x10u);
    CHECK(c.hash_seed == 42u);
    CHECK(c.flows.udp_timeout == 30u);
    const auto& s = c.services.at(0);
    CHECK_FALSE(s.is_node_port());
    CHECK(config::format_ipv4(*s.vip) == "10.96.0.10");
    CHECK(*s.port == 53);
    CHECK(s.entry_nodes == std::vector<std::string>{"b"});
    CHECK(s.maglev_table_size == 251u);
    CHECK(s.backends[0].weight == 3u);
    CHECK(s.backends[1].weight == 0u);
}

TEST_CASE("unknown key names file, line, column, path and the allowed keys")
{
    auto d = only_error(nodes_yaml + "services: []\ndispatsh: opt\n");
    CHECK(d.file == "test.yaml");
    CHECK(d.mark.line == 5);
    CHECK(d.mark.column == 1);
    CHECK(d.path == "dispatsh");
    CHECK(mentions(d, "unknown field 'dispatsh'"));
    CHECK(mentions(d, "dispatch"));
    CHECK(d.to_string().rfind("test.yaml:5:1: dispatsh: unknown field", 0) == 0);
}

TEST_CASE("unknown key inside a backend")
{
    auto d = only_error(nodes_yaml + R"(services:
  - name: s
    protocol: tcp
    node_port: 30000
    backends:
      - {name: x, address: 172.16.0.5, port: 80, node: a, wieght: 2}
)");
    CHECK(d.mark.line == 9);
    CHECK(d.path == "services[0].backends[0].wieght");
}

TEST_CASE("port out of range: path, found and expected")
{
    auto d = only_error(nodes_yaml + R"(services:
  - name: s
    protocol: tcp
    node_port: 30000
    backends:
      - {name: x, address: 172.16.0.5, port: 80, node: a}
      - name: y
        address: 172.16.0.6
        port: 70000
        node: a
)");
    CHECK(d.mark.line == 12);
    CHECK(d.mark.column == 15);
    CHECK(d.path == "services[0].backends[1].port");
    CHECK(mentions(d, "found '70000', expected a port 1..65535"));
}

TEST_CASE("port zero and non-numbers are rejected")
{
    CHECK(mentions(only_error(nodes_yaml + "services:\n  - {name: s, protocol: tcp, node_port: 0, backends: "
                                           "[{name: x, address: 172.16.0.5, port: 80, node: a}]}\n"),
                   "found '0', expected a port 1..65535"));
    CHECK(mentions(only_error(nodes_yaml + "services:\n  - {name: s, protocol: tcp, node_port: http, backends: "
                                           "[{name: x, address: 172.16.0.5, port: 80, node: a}]}\n"),
                   "found 'http'"));
}

TEST_CASE("duplicate node names and addresses")
{
    auto errors = errors_of(R"(nodes:
  - {name: a, address: 10.0.0.1}
  - {name: a, address: 10.0.0.1}
services: []
)");
    REQUIRE(errors.size() == 2);
    CHECK(errors[0].path == "nodes[1].name");
    CHECK(errors[0].mark.line == 3);
    CHECK(mentions(errors[0], "duplicate node name 'a'"));
    CHECK(errors[1].path == "nodes[1].address");
    CHECK(mentions(errors[1], "duplicate node address 10.0.0.1"));
}

TEST_CASE("duplicate service names")
{
    auto d = only_error(nodes_yaml + R"(services:
  - {name: s, protocol: tcp, node_port: 30000, backends: [{name: x, address: 172.16.0.5, port: 80, node: a}]}
  - {name: s, protocol: tcp, node_port: 30001, backends: [{name: x, address: 172.16.0.5, port: 80, node: a}]}
)");
    CHECK(d.path == "services[1].name");
    CHECK(d.mark.line == 6);
    CHECK(mentions(d, "duplicate service name 's'"));
}

TEST_CASE("two services on the same address, protocol and port")
{
    auto d = only_error(nodes_yaml + R"(services:
  - {name: s1, protocol: tcp, node_port: 30000, backends: [{name: x, address: 172.16.0.5, port: 80, node: a}]}
  - {name: s2, protocol: tcp, vip: 10.0.0.2, port: 30000, backends: [{name: x, address: 172.16.0.5, port: 80, node: a}]}
  - {name: s3, protocol: udp, node_port: 30000, backends: [{name: x, address: 172.16.0.5, port: 80, node: a}]}
)");
    CHECK(d.path == "services[1]");
    CHECK(d.mark.line == 6);
    CHECK(mentions(d, "10.0.0.2:30000/tcp already used by services[0] ('s1')"));
}

TEST_CASE("service addresses: NodePorts on disjoint entry nodes share a port; a VIP on a node address does not")
{
    const std::string three = R"(nodes:
  - {name: a, address: 10.0.0.1}
  - {name: b, address: 10.0.0.2}
  - {name: c, address: 10.0.0.3}
services:
  - {name: s1, protocol: tcp, node_port: 30000, entry_nodes: [a], backends: [{name: x, address: 172.16.0.5, port: 80, node: a}]}
  - {name: s2, protocol: tcp, node_port: 30000, entry_nodes: [b], backends: [{name: x, address: 172.16.0.5, port: 80, node: a}]}
)";
    CHECK(errors_of(three).empty());
    auto d = only_error(three + R"(  - {name: s3, protocol: tcp, vip: 10.0.0.2, port: 30000, backends: [{name: x, address: 172.16.0.5, port: 80, node: a}]}
)");
    CHECK(d.path == "services[2]");
    CHECK(mentions(d, "10.0.0.2:30000/tcp already used by services[1] ('s2')"));
    d = only_error(three + R"(  - {name: s3, protocol: tcp, node_port: 30000, entry_nodes: [c, a], backends: [{name: x, address: 172.16.0.5, port: 80, node: a}]}
)");
    CHECK(d.path == "services[2]");
    CHECK(mentions(d, "10.0.0.1:30000/tcp already used by services[0] ('s1')"));
}

TEST_CASE("health_check_node_port: one per entry node address")
{
    auto d = only_error(nodes_yaml + R"(services:
  - {name: s1, protocol: tcp, node_port: 30000, health_check_node_port: 31000, backends: [{name: x, address: 172.16.0.5, port: 80, node: a}]}
  - {name: s2, protocol: tcp, node_port: 30001, health_check_node_port: 31000, entry_nodes: [b], backends: [{name: x, address: 172.16.0.5, port: 80, node: a}]}
)");
    CHECK(d.path == "services[1].health_check_node_port");
    CHECK(mentions(d, "found 31000, already the health_check_node_port of services[0] ('s1') on 10.0.0.2"));
    d = only_error(nodes_yaml + R"(services:
  - {name: s1, protocol: tcp, node_port: 30000, backends: [{name: x, address: 172.16.0.5, port: 80, node: a}]}
  - {name: s2, protocol: tcp, node_port: 30001, health_check_node_port: 30000, entry_nodes: [b], backends: [{name: x, address: 172.16.0.5, port: 80, node: a}]}
)");
    CHECK(mentions(d, "found 30000, which services[0] ('s1') uses on 10.0.0.2, expected a port no service uses"));
}

TEST_CASE("backend placement: another node's own address or pod CIDR names the node")
{
    const std::string cidrs = R"(nodes:
  - {name: a, address: 10.0.0.1, pod_cidr: 172.16.1.0/24}
  - {name: b, address: 10.0.0.2, pod_cidr: 172.16.2.0/24}
  - {name: c, address: 10.0.0.3, pod_cidr: 172.16.3.0/24}
services:
)";
    CHECK(errors_of(cidrs + R"(  - {name: s, protocol: tcp, node_port: 30000, backends: [{name: x, address: 172.16.2.9, port: 80, node: b}, {name: y, address: 10.0.0.3, port: 80, node: c}, {name: z, address: 10.9.9.9, port: 80, node: a}]}
)").empty());
    auto d = only_error(cidrs + R"(  - {name: s, protocol: tcp, node_port: 30000, backends: [{name: x, address: 172.16.3.200, port: 80, node: a}]}
)");
    CHECK(d.path == "services[0].backends[0].node");
    CHECK(mentions(d, "found node 'a' but the backend address 172.16.3.200 is in nodes[2].pod_cidr ('c'), expected node 'c'"));
    d = only_error(cidrs + R"(  - {name: s, protocol: tcp, node_port: 30000, backends: [{name: x, address: 10.0.0.2, port: 80, node: c}]}
)");
    CHECK(mentions(d, "found node 'c' but the backend address 10.0.0.2 is the address of nodes[1] ('b'), expected node 'b'"));
}

TEST_CASE("backend on an unknown node")
{
    auto d = only_error(nodes_yaml + R"(services:
  - name: s
    protocol: tcp
    node_port: 30000
    backends:
      - {name: x, address: 172.16.0.5, port: 80, node: c}
)");
    CHECK(d.path == "services[0].backends[0].node");
    CHECK(d.mark.line == 9);
    CHECK(mentions(d, "found unknown node 'c'"));
}

TEST_CASE("unknown entry node")
{
    auto d = only_error(nodes_yaml + R"(services:
  - {name: s, protocol: tcp, node_port: 30000, entry_nodes: [a, z], backends: [{name: x, address: 172.16.0.5, port: 80, node: a}]}
)");
    CHECK(d.path == "services[0].entry_nodes[1]");
    CHECK(mentions(d, "found unknown node 'z'"));
}

TEST_CASE("bad addresses and CIDRs")
{
    auto errors = errors_of(R"(nodes:
  - {name: a, address: 10.0.0.256}
  - {name: b, address: 10.0.0.2, pod_cidr: 172.16.0.0/33}
  - {name: c, address: 10.0.0.3, pod_cidr: 172.16.1.5/24}
  - {name: d, address: 10.0.0.4, pod_cidr: 172.16.0.0/16}
  - {name: e, address: 10.0.0.5, pod_cidr: 172.16.2.0/24}
services: []
)");
    REQUIRE(errors.size() == 4);
    CHECK(errors[0].path == "nodes[0].address");
    CHECK(mentions(errors[0], "found '10.0.0.256', expected an IPv4 address"));
    CHECK(errors[1].path == "nodes[1].pod_cidr");
    CHECK(mentions(errors[1], "expected an IPv4 CIDR"));
    CHECK(errors[2].path == "nodes[2].pod_cidr");
    CHECK(mentions(errors[2], "host bits set"));
    CHECK(errors[3].path == "nodes[4].pod_cidr");
    CHECK(mentions(errors[3], "overlapping nodes[3].pod_cidr"));
}

TEST_CASE("node_port and vip/port are exclusive, and one of them is required")
{
    auto both = only_error(nodes_yaml + R"(services:
  - {name: s, protocol: tcp, node_port: 30000, vip: 10.1.1.1, port: 80, backends: [{name: x, address: 172.16.0.5, port: 80, node: a}]}
)");
    CHECK(both.path == "services[0]");
    CHECK(mentions(both, "either node_port or vip + port"));

    auto neither = only_error(nodes_yaml + R"(services:
  - {name: s, protocol: tcp, backends: [{name: x, address: 172.16.0.5, port: 80, node: a}]}
)");
    CHECK(mentions(neither, "neither node_port nor vip + port"));

    auto half = only_error(nodes_yaml + R"(services:
  - {name: s, protocol: tcp, vip: 10.1.1.1, backends: [{name: x, address: 172.16.0.5, port: 80, node: a}]}
)");
    CHECK(half.path == "services[0].port");
}

TEST_CASE("maglev table size must be prime and large enough")
{
    auto d = only_error(nodes_yaml + R"(services:
  - name: s
    protocol: tcp
    node_port: 30000
    maglev_table_size: 100
    backends: [{name: x, address: 172.16.0.5, port: 80, node: a}]
)");
    CHECK(d.path == "services[0].maglev_table_size");
    CHECK(d.mark.line == 8);
    CHECK(mentions(d, "found 100, expected a prime number (next prime: 101)"));

    auto small = only_error(nodes_yaml + R"(services:
  - name: s
    protocol: tcp
    node_port: 30000
    maglev_table_size: 2
    backends: [{name: x, address: 172.16.0.5, port: 80, node: a}, {name: y, address: 172.16.0.6, port: 80, node: a}, {name: z, address: 172.16.0.7, port: 80, node: a}]
)");
    CHECK(mentions(small, "expected a prime >= the number of backends (3)"));
}

TEST_CASE("weights are >= 0 and not all zero")
{
    auto negative = only_error(nodes_yaml + R"(services:
  - {name: s, protocol: tcp, node_port: 30000, backends: [{name: x, address: 172.16.0.5, port: 80, node: a, weight: -1}]}
)");
    CHECK(negative.path == "services[0].backends[0].weight");
    CHECK(mentions(negative, "found '-1', expected a weight 0..65535"));

    auto zero = only_error(nodes_yaml + R"(services:
  - {name: s, protocol: tcp, node_port: 30000, backends: [{name: x, address: 172.16.0.5, port: 80, node: a, weight: 0}]}
)");
    CHECK(mentions(zero, "expected at least one with weight > 0"));
}

TEST_CASE("service names become nftables chain names")
{
    for (const char* bad : {"Svc1", "-svc", "svc_1", "a23456789012345678901234567890123"}) {
        auto d = only_error(nodes_yaml + "services:\n  - {name: " + bad +
                            ", protocol: tcp, node_port: 30000, backends: [{name: x, address: 172.16.0.5, port: 80, "
                            "node: a}]}\n");
        CHECK(d.path == "services[0].name");
        CHECK(mentions(d, "expected a name matching [a-z0-9][a-z0-9-]{0,30}"));
    }
}

TEST_CASE("missing required fields, wrong YAML types, bad enums")
{
    auto errors = errors_of(nodes_yaml + R"(services:
  - name: s
    protocol: sctp
    node_port: [1]
    backends:
      - {address: 172.16.0.5, port: 80, node: a}
)");
    REQUIRE(errors.size() == 3);
    CHECK(errors[0].path == "services[0].protocol");
    CHECK(mentions(errors[0], "found 'sctp', expected tcp or udp"));
    CHECK(errors[1].path == "services[0].node_port");
    CHECK(mentions(errors[1], "found a list, expected a port"));
    CHECK(errors[2].path == "services[0].backends[0].name");
    CHECK(mentions(errors[2], "missing required field"));
}

TEST_CASE("duplicate keys are rejected")
{
    auto d = only_error(nodes_yaml + "services: []\ndispatch: opt\ndispatch: ipip\n");
    CHECK(d.path == "dispatch");
    CHECK(d.mark.line == 6);
    CHECK(mentions(d, "field given twice"));
}

TEST_CASE("all errors are collected, in file order")
{
    auto errors = errors_of(R"(dispatch: tunnel
entry_mark: 0
nodes:
  - {name: a, address: 10.0.0.1}
services:
  - {name: s, protocol: tcp, node_port: 99999, backends: [{name: x, address: 1.2.3, port: 80, node: q}]}
)");
    REQUIRE(errors.size() == 5);
    CHECK(errors[0].path == "dispatch");
    CHECK(errors[1].path == "entry_mark");
    CHECK(errors[2].path == "services[0].node_port");
    CHECK(errors[3].path == "services[0].backends[0].address");
    CHECK(errors[4].path == "services[0].backends[0].node");
}

TEST_CASE("YAML syntax errors carry a position")
{
    auto d = only_error("nodes:\n  - {name: a, address: 10.0.0.1\nservices: []\n");
    CHECK(d.mark.line >= 2);
    CHECK(mentions(d, "YAML syntax error"));
}

TEST_CASE("unreadable file")
{
    CHECK_THROWS_AS(config::parse_file("/nonexistent/nfdsr.yaml"), config::ConfigError);
    try {
        config::parse_file("/nonexistent/nfdsr.yaml");
    } catch (const config::ConfigError& e) {
        CHECK(std::string(e.what()).find("/nonexistent/nfdsr.yaml: cannot read file") == 0);
    }
}

namespace {

// services[] entry `name` at vip 10.1.1.<octet>:80 with n backends on node a,
// one per line from the line after "backends:" (written as an anchor if given).
std::string service_with_backends(const std::string& name, int octet, std::size_t n, const std::string& anchor = "")
{
    std::string out = "  - name: " + name + "\n    protocol: tcp\n    vip: 10.1.1." + std::to_string(octet) +
                      "\n    port: 80\n    backends: " + (anchor.empty() ? "" : "&" + anchor) + "\n";
    for (std::size_t i = 0; i < n; ++i)
        out += "      - {name: b" + std::to_string(i) + ", address: 172.16." + std::to_string(i / 250) + "." +
               std::to_string(i % 250 + 1) + ", port: 80, node: a}\n";
    return out;
}

}  // namespace

TEST_CASE("limits: backends per service, at the default limit and one past it")
{
    const config::Limits defaults;
    REQUIRE(defaults.backends_per_service == 10000);
    // nodes_yaml is 3 lines, "services:" line 4, the service 5..9, backends from line 10
    CHECK(errors_of(nodes_yaml + "services:\n" + service_with_backends("s", 1, 10000)).empty());
    auto d = only_error(nodes_yaml + "services:\n" + service_with_backends("s", 1, 10001));
    CHECK(d.path == "services[0].backends");
    CHECK(d.mark.line == 10);
    CHECK(d.to_string() == "test.yaml:10:7: services[0].backends: found more than 10000 backends, expected at most "
                           "10000 per service (docs/config.md, Limits)");
}

TEST_CASE("limits: nodes, services, backends in total; aliases cannot hide them")
{
    const config::Limits l{.nodes = 2, .services = 2, .backends_per_service = 3, .backends_total = 5};
    const std::string two = service_with_backends("s", 1, 3, "b") + service_with_backends("t", 2, 2);
    CHECK(errors_of(nodes_yaml + "services:\n" + two, l).empty());

    auto nodes = only_error("nodes: [{name: a, address: 10.0.0.1}, {name: b, address: 10.0.0.2}, "
                            "{name: c, address: 10.0.0.3}]\nservices: []\n", l);
    CHECK(nodes.path == "nodes");
    CHECK(mentions(nodes, "found more than 2 nodes, expected at most 2 per config"));

    auto services = only_error(nodes_yaml + "services:\n" + two + service_with_backends("u", 3, 1), l);
    CHECK(services.path == "services");
    CHECK(services.mark.line == 5);
    CHECK(mentions(services, "found more than 2 services, expected at most 2 per config"));

    auto per_service = only_error(nodes_yaml + "services:\n" + service_with_backends("s", 1, 4), l);
    CHECK(per_service.path == "services[0].backends");
    CHECK(mentions(per_service, "found more than 3 backends, expected at most 3 per service"));

    auto total = only_error(nodes_yaml + "services:\n" + service_with_backends("s", 1, 3) +
                                service_with_backends("t", 2, 3), l);
    CHECK(total.path == "services[1].backends");
    CHECK(mentions(total, "found more than 5 backends in total, expected at most 5 per config"));

    // `backends: *b` repeats services[0]'s list: counted by the streaming pass
    auto alias_list = only_error(nodes_yaml + "services:\n" + service_with_backends("s", 1, 3, "b") +
                                     "  - {name: t, protocol: tcp, vip: 10.1.1.2, port: 80, backends: *b}\n", l);
    CHECK(alias_list.path == "services[1].backends");
    CHECK(mentions(alias_list, "backends in total"));
    // a whole service repeated (`- *s`): found on the node tree, before it is read
    auto alias_service = only_error(nodes_yaml + "services:\n  - &s {name: s, protocol: tcp, vip: 10.1.1.1, "
                                                 "port: 80, backends: [{name: x, address: 172.16.0.5, port: 80, "
                                                 "node: a}, {name: y, address: 172.16.0.6, port: 80, node: a}, "
                                                 "{name: z, address: 172.16.0.7, port: 80, node: a}]}\n  - *s\n", l);
    CHECK(alias_service.path == "services[1].backends");
    CHECK(mentions(alias_service, "found more than 5 backends in total"));
}

TEST_CASE("limits: a small file whose aliases expand to millions of values")
{
    // a0 is 11 values, each level repeats the previous one 10 times: a6 is ~1.1e7
    std::string text = nodes_yaml + "services: []\nbomb:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (int level = 1; level <= 6; ++level) {
        const std::string prev = "*a" + std::to_string(level - 1);
        text += "  a" + std::to_string(level) + ": &a" + std::to_string(level) + " [" + prev;
        for (int i = 1; i < 10; ++i)
            text += ", " + prev;
        text += "]\n";
    }
    REQUIRE(text.size() < 1000);
    auto d = only_error(text);
    CHECK(d.path == "bomb.a6");
    CHECK(d.mark.line == 12);
    CHECK(mentions(d, "found more than 4194304 YAML values (aliases expanded), expected at most 4194304 per config"));
    // the same values written out are counted the same way
    config::Limits l;
    l.yaml_values = 20;
    auto written = only_error(nodes_yaml + "services: []\nlist: [1, 2, 3, 4, 5, 6, 7, 8]\n", l);
    CHECK(written.path == "list");
    CHECK(mentions(written, "found more than 20 YAML values"));
}

TEST_CASE("limits: file size and the sum of Maglev table sizes")
{
    config::Limits l;
    l.file_bytes = 64;
    auto big = only_error(nodes_yaml + "services: []\n# " + std::string(64, 'x') + "\n", l);
    CHECK(big.mark.line == 0);
    CHECK(big.to_string() == "test.yaml: found more than 64 bytes, expected at most 64 in a config file "
                             "(docs/config.md, Limits)");

    l = {};
    l.maglev_buckets_total = 1500;  // default M for 3 backends is 307, for 10 it is 1009
    const std::string a = service_with_backends("s", 1, 10), b = service_with_backends("t", 2, 3);
    CHECK(errors_of(nodes_yaml + "services:\n" + a + b, l).empty());
    auto d = only_error(nodes_yaml + "services:\n" + a + b + service_with_backends("u", 3, 3), l);
    CHECK(d.path == "services[2].maglev_table_size");
    CHECK(mentions(d, "found more than 1500 Maglev buckets in total"));
    auto given = only_error(nodes_yaml + "services:\n" + a +
                                "  - {name: t, protocol: tcp, vip: 10.1.1.2, port: 80, maglev_table_size: 499,\n"
                                "     backends: [{name: x, address: 172.16.0.5, port: 80, node: a}]}\n",
                            l);
    CHECK(given.path == "services[1].maglev_table_size");
    CHECK(given.mark.line == 20);
}

TEST_CASE("scalar parsers are strict")
{
    CHECK(config::parse_unsigned("0x1F") == std::optional<std::uint64_t>(31));
    CHECK_FALSE(config::parse_unsigned("1e3"));
    CHECK_FALSE(config::parse_unsigned("-1"));
    CHECK_FALSE(config::parse_unsigned("0x"));
    CHECK_FALSE(config::parse_ipv4("01.2.3.4"));
    CHECK_FALSE(config::parse_ipv4("1.2.3.4.5"));
    CHECK_FALSE(config::parse_ipv4("1.2.3."));
    CHECK(config::parse_ipv4("0.0.0.0").has_value());
    CHECK(config::format_ipv4(*config::parse_ipv4("192.168.10.10")) == "192.168.10.10");
    CHECK_FALSE(config::parse_cidr("10.0.0.0/"));
    CHECK_FALSE(config::parse_cidr("10.0.0.0/08"));
}

TEST_CASE("dispatch ipip: ipip_mss and ipip_mode classic placement")
{
    const std::string svc_head = "services:\n  - name: s1\n    protocol: tcp\n";
    const std::string backend = "    backends:\n      - {name: x, address: 10.0.1.5, port: 80, node: b}\n";
    {
        auto c = config::parse_text("ipip_mss: 1400\n" + nodes_yaml + svc_head + "    node_port: 30000\n" + backend,
                                    "test.yaml");
        CHECK(c.ipip_mss == 1400u);
        CHECK(config::parse_text(nodes_yaml + "services: []\n", "test.yaml").ipip_mss == 1440u);
    }
    {
        auto d = only_error("ipip_mss: 100\n" + nodes_yaml + "services: []\n");
        CHECK(d.path == "ipip_mss");
        CHECK(d.mark.line == 1);
    }
    {  // classic with a NodePort: the entry node would deliver the inner packet locally
        auto d = only_error("dispatch: ipip\n" + nodes_yaml + svc_head +
                            "    node_port: 30000\n    ipip_mode: classic\n    entry_nodes: [a]\n" + backend);
        CHECK(d.path == "services[0].ipip_mode");
        CHECK(d.mark.line == 9);
        CHECK(mentions(d, "node_port"));
    }
    {  // classic with a VIP that is a node's address
        auto d = only_error("dispatch: ipip\n" + nodes_yaml + svc_head +
                            "    vip: 10.0.0.1\n    port: 80\n    ipip_mode: classic\n    entry_nodes: [a]\n" +
                            backend);
        CHECK(d.path == "services[0].ipip_mode");
        CHECK(mentions(d, "nodes[0]"));
    }
    {  // classic with entry_nodes left out: every node, the backend's too
        auto d = only_error("dispatch: ipip\n" + nodes_yaml + svc_head +
                            "    vip: 10.9.0.1\n    port: 80\n    ipip_mode: classic\n" + backend);
        CHECK(d.path == "services[0].backends[0].node");
    }
    // a valid classic service: VIP routed to the entry node, backend elsewhere
    CHECK(errors_of("dispatch: ipip\n" + nodes_yaml + svc_head +
                    "    vip: 10.9.0.1\n    port: 80\n    ipip_mode: classic\n    entry_nodes: [a]\n" + backend)
              .empty());
}

TEST_CASE("errors: the first 20 kept in full, the rest counted, one line says how many")
{
    // 10 services x 10,000 backends that are not mappings: 100,000 errors,
    // each on its own line (from line 6), within the count limits.
    std::string text = nodes_yaml + "services:\n";
    for (int s = 0; s < 10; ++s) {
        text += "  - {name: s" + std::to_string(s) + ", protocol: tcp, vip: 10.1.1." + std::to_string(s + 1) +
                ", port: 80, backends: [\n";
        for (int b = 0; b < 10000; ++b)
            text += "      x,\n";
        text += "    ]}\n";
    }
    try {
        config::parse_text(text, "test.yaml");
        FAIL("no ConfigError");
    } catch (const config::ConfigError& e) {
        CHECK(e.total() == 100000u);
        REQUIRE(e.diagnostics().size() == 20u);
        CHECK(e.diagnostics()[0].path == "services[0].backends[0]");
        CHECK(e.diagnostics()[19].path == "services[0].backends[19]");
        CHECK(e.diagnostics()[19].mark.line == 25);
        const std::string what = e.what();
        CHECK(std::count(what.begin(), what.end(), '\n') == 20);
        CHECK(what.substr(what.rfind('\n') + 1) == "... and 99980 more errors");
        CHECK(what.substr(0, what.find('\n')) == "test.yaml:6:7: services[0].backends[0]: found 'x', expected a mapping");
    }
}

TEST_CASE("errors: Limits::diagnostics sets how many are kept; one more error is 'error'")
{
    const config::Limits l{.diagnostics = 1};
    try {
        config::parse_text("dispatch: nope\nentry_mark: 0\n" + nodes_yaml + "services: []\n", "test.yaml", l);
        FAIL("no ConfigError");
    } catch (const config::ConfigError& e) {
        CHECK(e.total() == 2u);
        CHECK(e.diagnostics().size() == 1u);
        CHECK(std::string(e.what()) ==
              "test.yaml:1:11: dispatch: found 'nope', expected opt or ipip\n... and 1 more error");
    }
}

TEST_CASE("echoed values are clipped and escaped")
{
    CHECK(config::quote("web") == "'web'");
    CHECK(config::quote(std::string("a\x01\xff\\b", 5)) == "'a\\x01\\xff\\\\b'");
    CHECK(config::clip(std::string(65, 'a')) == std::string(64, 'a') + "... (65 bytes)");
    CHECK(config::clip(std::string(64, 'a')) == std::string(64, 'a'));

    const std::string svc = "services:\n  - {name: s, protocol: tcp, vip: 10.1.1.1, port: ";
    {  // a 1 MB scalar: one short line
        const auto d = only_error(nodes_yaml + svc + std::string(1 << 20, '7') + ",\n" +
                                  "     backends: [{name: x, address: 10.0.0.5, port: 80, node: a}]}\n");
        CHECK(d.path == "services[0].port");
        CHECK(d.message == "found '" + std::string(64, '7') + "'... (1048576 bytes), expected a port 1..65535");
    }
    {  // control characters (a YAML escape) and a byte that is not UTF-8
        const auto d = only_error(nodes_yaml + svc + "\"8\\x01\",\n" +
                                  "     backends: [{name: x, address: 10.0.0.5, port: 80, node: a}]}\n");
        CHECK(d.message == "found '8\\x01', expected a port 1..65535");
        const auto raw = only_error(nodes_yaml + svc + "8\xff,\n" +
                                    "     backends: [{name: x, address: 10.0.0.5, port: 80, node: a}]}\n");
        CHECK(raw.message == "found '8\\xff', expected a port 1..65535");
    }
    {  // a 1 MB unknown key (explicit: "? KEY"): in the path too
        const auto d = only_error(nodes_yaml + "services: []\n? " + std::string(1 << 20, 'k') + "\n: 1\n");
        CHECK(d.path == std::string(64, 'k') + "... (1048576 bytes)");
        CHECK(d.to_string().size() < 400);
    }
}

TEST_CASE("warnings: a Maglev table below 100 x backends, with its real worst share")
{
    const std::string svc = "services:\n  - name: s\n    protocol: tcp\n    vip: 10.1.1.1\n    port: 80\n";
    const std::string backends = "    backends:\n"
                                 "      - {name: x, address: 10.0.0.5, port: 80, node: a}\n"
                                 "      - {name: y, address: 10.0.0.6, port: 80, node: a}\n"
                                 "      - {name: z, address: 10.0.0.7, port: 80, node: b}\n";
    {  // 7 buckets: 3, 2, 2 against 7/3 each
        const auto c = config::parse_text(nodes_yaml + svc + "    maglev_table_size: 7\n" + backends, "test.yaml");
        REQUIRE(c.warnings.total() == 1u);
        const auto& w = c.warnings.kept()[0];
        CHECK(w.path == "services[0].maglev_table_size");
        CHECK(w.mark.line == 9);
        CHECK(w.to_string("warning") ==
              "test.yaml:9:24: warning: services[0].maglev_table_size: 7 buckets for 3 backends: shares can differ "
              "by up to 28.6% (use >= 100 x backends, e.g. the default 307)");
        CHECK(c.warnings.to_string() == w.to_string("warning"));
    }
    // the default size (307), and a set size of 100 x backends: no warning
    CHECK(config::parse_text(nodes_yaml + svc + backends, "test.yaml").warnings.empty());
    CHECK(config::parse_text(nodes_yaml + svc + "    maglev_table_size: 307\n" + backends, "test.yaml")
              .warnings.empty());
    // one backend gets every bucket whatever the size: nothing to warn about
    CHECK(config::parse_text(nodes_yaml + "services:\n  - {name: one, protocol: tcp, vip: 10.1.1.1, port: 80, "
                                          "maglev_table_size: 2,\n     backends: [{name: x, address: 10.0.0.5, "
                                          "port: 80, node: a}]}\n",
                             "test.yaml")
              .warnings.empty());
    {  // capped like errors
        std::string many = nodes_yaml + "services:\n";
        for (int i = 0; i < 25; ++i)
            many += "  - {name: s" + std::to_string(i) + ", protocol: tcp, vip: 10.1.1." + std::to_string(i + 1) +
                    ", port: 80, maglev_table_size: 2,\n     backends: [{name: x, address: 10.0.0.5, port: 80, "
                    "node: a}, {name: y, address: 10.0.0.6, port: 80, node: a}]}\n";
        const auto c = config::parse_text(many, "test.yaml");
        CHECK(c.warnings.total() == 25u);
        CHECK(c.warnings.kept().size() == 20u);
        const std::string text = c.warnings.to_string();
        CHECK(text.substr(text.rfind('\n') + 1) == "... and 5 more warnings");
    }
}
