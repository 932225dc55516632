// The cluster config: one YAML file, identical on every node (docs/config.md).
// This is the validated, typed form; plan/derive turns it into a NodePlan.
#pragma once

#include "plan/node_plan.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nfdsr::config {

using plan::Dispatch;
using plan::Ipv4;
using plan::Protocol;

// 1-based position in the source file; 0 when unknown.
struct Mark {
    int line = 0;
    int column = 0;
};

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

struct Backend {
    std::string name;
    Ipv4 address;
    std::uint16_t port = 0;
    std::string node;
    std::uint32_t weight = 1;
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
    FieldMarks marks;

    bool is_node_port() const { return node_port.has_value(); }
};

struct Flows {
    std::uint32_t max = 262144;
    std::uint32_t tcp_timeout = 900;
    std::uint32_t tcp_close_timeout = 10;
    std::uint32_t udp_timeout = 60;
};

struct Config {
    std::string source;  // file name the config came from (for messages)
    Dispatch dispatch = Dispatch::opt;
    std::uint32_t entry_mark = 0x00200000;
    std::uint32_t hash_seed = 0x6e666473;  // "nfds"
    Flows flows;
    std::vector<Node> nodes;
    std::vector<Service> services;

    const Node* find_node(std::string_view name) const;
};

}  // namespace nfdsr::config
