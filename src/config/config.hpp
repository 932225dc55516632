// The cluster config: one YAML file, identical on every node (docs/config.md).
// This is the validated, typed form; plan/derive turns it into a NodePlan.
#pragma once

#include "common/net_types.hpp"
#include "config/diagnostics.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nfdsr::config {


// Where each field of an entity was written, so cross-entity checks
// (duplicates, references) can point at the exact field.
struct FieldMarks {
    Mark entity;
    std::vector<std::pair<std::string, Mark>> fields;
    Mark of(std::string_view field) const
    {
        for (const auto& [name, mark] : fields)
            if (name == field)
                return mark;
        return entity;
    }
};

struct Cidr {
    Ipv4 network;
    std::uint8_t prefix = 0;
};

struct Node {
    std::string name;
    Ipv4 address;
    std::optional<Cidr> pod_cidr;
    FieldMarks marks;
};

// A backend's Maglev identity: "address:port" (e.g. "172.16.2.214:80"), so
// renaming a backend does not move its flows (docs/config.md, Maglev).
std::string maglev_identity(Ipv4 address, std::uint16_t port);

struct Backend {
    std::string name;
    Ipv4 address;
    std::uint16_t port = 0;
    std::string node;
    std::uint32_t weight = 1;
    // Takes no new connections; TCP connections opened before keep going to
    // it (docs/config.md, "Draining").
    bool drain = false;
    FieldMarks marks;
};

// Active health check of a service's backends (docs/config.md, "health_check").
enum class HealthCheckType : std::uint8_t { tcp, http };
struct HealthCheck {
    HealthCheckType type = HealthCheckType::tcp;
    std::string path = "/healthz";       // http: request path
    std::uint32_t expect_status = 200;   // http: expected status code
    std::uint32_t interval_ms = 2000;    // between the starts of two probes
    std::uint32_t timeout_ms = 1000;     // connect (+ request/response) deadline
    std::uint32_t rise = 2;              // consecutive successes: down -> up
    std::uint32_t fall = 2;              // consecutive failures: up -> down
    FieldMarks marks;
};

struct Service {
    std::string name;
    Protocol protocol = Protocol::tcp;
    // Exactly one of: node_port (reachable on every entry node's own address)
    // or vip + port.
    std::optional<std::uint16_t> node_port;
    std::optional<Ipv4> vip;
    std::optional<std::uint16_t> port;
    // Resolved: the config's entry_nodes, or all node names when absent.
    std::vector<std::string> entry_nodes;
    // Resolved: the config's value, or the default (smallest prime >= 100 * backends).
    std::uint32_t maglev_table_size = 0;
    std::vector<Backend> backends;
    // Per-service override of Config::dispatch; and the ipip inner flavour.
    std::optional<Dispatch> dispatch;
    IpipMode ipip_mode = IpipMode::xlate;
    std::optional<HealthCheck> health_check;
    // Per-node health endpoint (Kubernetes healthCheckNodePort): HTTP on
    // every entry node's own address at this port.
    std::optional<std::uint16_t> health_check_node_port;
    // externalTrafficPolicy=Local: entry nodes use only their own backends.
    bool local_only = false;
    FieldMarks marks;

    bool is_node_port() const { return node_port.has_value(); }
};

struct Flows {
    std::uint32_t max = 262144;
    std::uint32_t tcp_timeout = 432000;
    std::uint32_t tcp_close_timeout = 10;
    std::uint32_t udp_timeout = 60;
};

struct Config {
    std::string source;  // file name the config came from (for messages)
    Dispatch dispatch = Dispatch::opt;
    std::uint32_t entry_mark = 0x00200000;
    std::uint32_t hash_seed = 0x6e666473;  // "nfds"
    // dispatch ipip policy routing (docs/config.md): mark bits (contiguous,
    // disjoint from entry_mark; node i of `nodes`, 1-based, gets value i),
    // routing table of node i = route_table_base + i, ip rule priority.
    std::uint32_t route_mark_mask = 0x0000ff00;
    std::uint32_t route_table_base = 0x6e660000;  // "nf" << 16
    std::uint32_t route_rule_priority = 1000;
    // MSS cap of SYN-ACKs sent as a service address on backend nodes, so
    // client segments fit IPIP (link MTU 1500 - 20 outer - 20 IP - 20 TCP).
    std::uint32_t ipip_mss = 1440;
    // nfdsrd's Prometheus endpoint (metrics.listen): "ADDRESS:PORT" or
    // "[IPv6]:PORT"; "" disables it. Default: loopback only.
    std::string metrics_listen = "127.0.0.1:9798";
    FieldMarks marks;  // top-level fields
    // What is valid but likely not meant (warnings.hpp), capped like errors.
    Diagnostics warnings{Diagnostics::default_keep, "warning"};
    Flows flows;
    std::vector<Node> nodes;
    std::vector<Service> services;

    const Node* find_node(std::string_view name) const;
    Dispatch dispatch_of(const Service& s) const { return s.dispatch.value_or(dispatch); }
};

}  // namespace nfdsr::config
