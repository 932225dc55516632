// What one node must install: derived from the cluster config for this node's
// name. The nftables adapter (src/nft) and the module adapter (src/kmod_client)
// consume only this; they never read the config file themselves.
#pragma once

#include "common/net_types.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace nfdsr::plan {

// The shared vocabulary (common/net_types.hpp), under the names the plan's
// consumers have always used.
using nfdsr::Dispatch;
using nfdsr::IpipMode;
using nfdsr::Ipv4;
using nfdsr::Protocol;

struct BackendPlan {
    std::string name;      // e.g. "webpod1"
    std::string node;      // node that hosts it, e.g. "k8s-w1"
    Ipv4 addr;             // backend address (pod or node address)
    std::uint16_t port = 0;  // host byte order
    std::uint32_t weight = 1;
    // false: its health check failed; it keeps its chain but gets no Maglev
    // buckets (as if weight 0) until it recovers.
    bool healthy = true;
    // Routing mark of the backend's node (dispatch ipip: policy routing into
    // tunl0 towards that node); 0 = the backend is on this node (no tunnel).
    std::uint32_t route_mark = 0;
    // drain: true in the config: no buckets in `maglev` (new connections),
    // its buckets in `maglev_established` (connections opened before).
    bool draining = false;
};

// A service address this node accepts traffic for as an entry node.
// A NodePort service yields one entry per entry-node address (here: this node's).
struct EntryServicePlan {
    std::string name;          // service name from the config, e.g. "svc1"
    Protocol proto = Protocol::tcp;
    Ipv4 vip;                  // address clients connect to (VIP or node address)
    std::uint16_t vport = 0;   // host byte order (port or node_port)
    Dispatch dispatch = Dispatch::opt;
    IpipMode ipip_mode = IpipMode::xlate;  // meaningful when dispatch == ipip
    std::vector<BackendPlan> backends;
    // Maglev lookup table: size M (prime); entry = index into `backends`.
    // Identical on every node for the same config.
    std::vector<std::uint32_t> maglev;
    // Only while a backend drains (else empty): the table with draining
    // backends at their weight, for the packets of TCP connections opened
    // before the drain. A SYN takes `maglev`; a connection opened during the
    // drain in a bucket where the two tables differ is remembered by the
    // entry node and stays on `maglev` (nft set <chain>_drain_flows).
    std::vector<std::uint32_t> maglev_established;
    // Seed for the nft jhash over (client address . client port).
    std::uint32_t hash_seed = 0;
    bool health_checked = false;  // the service has a health_check
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
    std::uint32_t tcp_timeout = 432000;     // seconds (5 days, as conntrack)
    std::uint32_t tcp_close_timeout = 10;
    std::uint32_t udp_timeout = 60;
    // Mark bits the module's entry path may set as a backend's route mark
    // (TunnelPlan::route_mark_mask when the tunnel is enabled, else 0).
    std::uint32_t route_mark_mask = 0;
    friend bool operator==(const ModuleParams&, const ModuleParams&) = default;
};

// Policy route of the entry node into tunl0 towards one backend node:
// `ip rule fwmark <mark>/<mask> lookup <table> priority <prio> proto nfdsr`
// and in <table>: `default via <gateway> dev tunl0 onlink src <node_addr>`.
struct TunnelRoute {
    std::string node;          // backend node name
    Ipv4 gateway;              // its address: the outer destination
    std::uint32_t mark = 0;    // value within TunnelPlan::route_mark_mask
    std::uint32_t table = 0;
};

// IPIP via tunl0 (dispatch ipip). Every node is prepared (tunl0 up,
// rp_filter 0 on tunl0, IPIP only from entry nodes) whatever the
// dispatch, so a switch or a rolling switch works in any order.
struct TunnelPlan {
    bool enabled = false;                 // false: nothing tunnel-related is installed
    std::vector<Ipv4> entry_sources;      // IPIP accepted only from these outer sources
    std::uint32_t route_mark_mask = 0;    // mark bits of the routing mark
    std::uint32_t rule_priority = 1000;
    std::vector<TunnelRoute> routes;      // entry node: one per remote backend node
    // Backend node: SYN-ACKs sent as a bound TCP service address get their
    // MSS capped at this (after nfdsr.ko's reply rewrite), so that the
    // client's segments fit tunl0 whichever dispatch the connection uses
    // now or after a switch.
    std::uint16_t mss = 1440;
    // Backend node: classic IPIP (inner destination = service address) from
    // an IPVS-TUN director or an nfdsr entry node in classic mode, served by
    // this node's local backends: one entry per (service address), Maglev
    // over the local backends only.
    std::vector<EntryServicePlan> services;
};

// ---- Local clients (clients on this node and in its pods, hairpin) ----
// Traffic from this node's own processes (output) and from its pod CIDR
// (prerouting) to any service address of the cluster does not take the DSR
// path: like kube-proxy, it is tracked by conntrack and DNATed to a backend
// picked at random (by weight) among the service's backends; when the backend
// picked is the client itself (hairpin), the source is SNATed to the node.
struct LocalClientService {
    std::string name;             // service name from the config
    Protocol proto = Protocol::tcp;
    std::vector<Ipv4> addrs;      // every address the service is reachable under
    std::uint16_t port = 0;       // host byte order (port or node_port)
    std::vector<BackendPlan> backends;  // all of the service's backends (weight, health, drain)
    // Random pick: slot -> index into `backends`. Slots follow the config
    // (weight > 0 and not draining; weights reduced by their gcd, at most
    // kLocalClientSlots): a health flip keeps their number and only gives a
    // down backend's slots to healthy ones (kNoLocalBackend when none is
    // left: no element, the connection is dropped and counted). Empty: no
    // backend takes new connections.
    std::vector<std::uint32_t> slots;
};
constexpr std::uint32_t kLocalClientSlots = 256;
constexpr std::uint32_t kNoLocalBackend = 0xffffffffu;

struct LocalClientsPlan {
    bool enabled = false;
    // this node's pod_cidr (prefix 0: none configured, only local processes)
    Ipv4 pod_net;
    std::uint8_t pod_prefix = 0;
    std::vector<LocalClientService> services;
    // addresses of this node's backends other than the node address (pods):
    // a connection from one of them DNATed to itself is SNATed to the node
    std::vector<Ipv4> hairpin;
};

struct NodePlan {
    std::string node;          // this node's name
    Ipv4 node_addr;
    ModuleParams params;
    std::vector<EntryServicePlan> entry;  // empty: not an entry node
    std::vector<Binding> bindings;        // empty: not a backend node
    TunnelPlan tunnel;
    LocalClientsPlan local_clients;
};

}  // namespace nfdsr::plan
