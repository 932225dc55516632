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

}  // namespace nfdsr::kmod
