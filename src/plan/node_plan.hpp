// What one node must install: derived from the cluster config for this node's
// name. The nftables adapter (src/nft) and the module adapter (src/kmod_client)
// consume only this; they never read the config file themselves.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nfdsr::plan {

enum class Protocol : std::uint8_t { tcp = 6, udp = 17 };
enum class Dispatch : std::uint8_t { opt, ipip };

// IPv4 address as it sits in a packet header (network byte order).
struct Ipv4 {
    std::uint32_t be = 0;
    friend bool operator==(const Ipv4&, const Ipv4&) = default;
};

struct BackendPlan {
    std::string name;      // e.g. "webpod1"
    std::string node;      // node that hosts it, e.g. "k8s-w1"
    Ipv4 addr;             // backend address (pod or node address)
    std::uint16_t port = 0;  // host byte order
    std::uint32_t weight = 1;
};

// A service address this node accepts traffic for as an entry node.
// A NodePort service yields one entry per entry-node address (here: this node's).
struct EntryServicePlan {
    std::string name;          // service name from the config, e.g. "svc1"
    Protocol proto = Protocol::tcp;
    Ipv4 vip;                  // address clients connect to (VIP or node address)
    std::uint16_t vport = 0;   // host byte order (port or node_port)
    Dispatch dispatch = Dispatch::opt;
    std::vector<BackendPlan> backends;
    // Maglev lookup table: size M (prime); entry = index into `backends`.
    // Identical on every node for the same config.
    std::vector<std::uint32_t> maglev;
    // Seed for the nft jhash over (client address . client port).
    std::uint32_t hash_seed = 0;
};

// This node serves service vip:vport/proto with a local backend.
struct Binding {
    std::string service;
    std::string backend;
    Protocol proto = Protocol::tcp;
    Ipv4 vip;
    std::uint16_t vport = 0;         // host byte order
    Ipv4 backend_addr;
    std::uint16_t backend_port = 0;  // host byte order
};

struct ModuleParams {
    std::uint32_t entry_mark = 0x00200000;  // NFDSR_DEFAULT_ENTRY_MARK
    std::uint32_t flow_max = 262144;
    std::uint32_t tcp_timeout = 900;        // seconds
    std::uint32_t tcp_close_timeout = 10;
    std::uint32_t udp_timeout = 60;
};

struct NodePlan {
    std::string node;          // this node's name
    Ipv4 node_addr;
    ModuleParams params;
    std::vector<EntryServicePlan> entry;  // empty: not an entry node
    std::vector<Binding> bindings;        // empty: not a backend node
};

}  // namespace nfdsr::plan
