// What nfdsr.ko reports back (NFDSR_CMD_GET, NFDSR_CMD_FLOW_DUMP; the
// binding dump decodes to plan::Binding).
#pragma once

#include "plan/node_plan.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace nfdsr::kmod {

struct Counter {
    std::string name;  // from NFDSR_COUNTER_NAMES, or "counter_<n>" for newer modules
    std::uint64_t value = 0;
};

struct Status {
    std::string version;
    plan::ModuleParams params;
    std::vector<Counter> counters;
    std::uint32_t binding_count = 0;
    std::uint32_t svc_count = 0;   // services in the module's service table
    std::uint32_t flow_count = 0;
    bool hooks = false;  // netfilter hooks registered in this namespace
};

struct Flow {
    plan::Protocol proto = plan::Protocol::tcp;
    plan::Ipv4 client;
    std::uint16_t client_port = 0;  // host byte order, like all ports here
    plan::Ipv4 backend;
    std::uint16_t backend_port = 0;
    plan::Ipv4 vip;
    std::uint16_t vport = 0;
    std::uint32_t idle_ms = 0;
    bool closing = false;
};

// ---- the module's service table (NFDSR_CMD_SVC_*) ----

// Which table a packet is looked up in (enum nfdsr_svc_kind).
enum class SvcKind : std::uint8_t {
    entry = 0,   // clients to an entry service
    tunnel = 1,  // classic IPIP received on tunl0, to a service bound here
};

// Identity of a service in the module (all in host byte order but the address).
struct SvcKey {
    plan::Protocol proto = plan::Protocol::tcp;
    plan::Ipv4 vip;
    std::uint16_t port = 0;
    SvcKind kind = SvcKind::entry;
    friend bool operator==(const SvcKey&, const SvcKey&) = default;
};

struct SvcBackend {
    plan::Ipv4 addr;
    std::uint16_t port = 0;          // host byte order
    std::uint32_t route_mark = 0;    // within ModuleParams::route_mark_mask; 0 = plain routing
    // dump only: what the entry path sent to it
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
    friend bool operator==(const SvcBackend& a, const SvcBackend& b) {
        return a.addr == b.addr && a.port == b.port && a.route_mark == b.route_mark;
    }
};

// NFDSR_SVC_F_* (uapi)
constexpr std::uint32_t kSvcOption = 0x1;   // attach the DSR option
constexpr std::uint32_t kSvcClassic = 0x2;  // ipip classic: no rewrite, route mark only

// One service as SVC_SET sends it and SVC_DUMP returns it. The tables hold
// indices into `backends`; `table` empty = no backend takes new
// connections; `est_table` non-empty only while a backend drains.
struct Service {
    SvcKey key;
    std::uint32_t flags = 0;
    std::uint32_t hash_seed = 0;
    std::vector<SvcBackend> backends;
    std::vector<std::uint16_t> table;
    std::vector<std::uint16_t> est_table;
    std::uint64_t no_backend = 0;  // dump only: packets dropped for want of a backend
    // dump only: the tables' sizes (also when a counters-only dump leaves
    // the tables out)
    std::uint32_t table_size = 0;
    std::uint32_t est_table_size = 0;
    // Same configuration (counters ignored).
    bool same_config(const Service& o) const {
        return key == o.key && flags == o.flags && hash_seed == o.hash_seed && backends == o.backends &&
               table == o.table && est_table == o.est_table;
    }
};

// NFDSR_CMD_SVC_LOOKUP: what the kernel's entry path would do with a packet.
struct SvcLookup {
    std::uint32_t bucket = 0;
    bool established_table = false;  // the table from before a drain decided
    bool has_backend = false;        // false: the packet would be dropped
    std::uint32_t backend = 0;       // index into the service's backends
};

}  // namespace nfdsr::kmod
