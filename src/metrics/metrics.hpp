// What nfdsr reports about itself (nfdsrctl status, Prometheus /metrics):
// a plain snapshot, and the Prometheus text exposition rendering of it as
// a pure function (https://prometheus.io/docs/instrumenting/exposition_formats/).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nfdsr::metrics {

struct BackendSample {
    std::string name;
    std::string node;
    std::string address;  // "172.16.2.214"
    std::uint16_t port = 0;
    std::uint32_t weight = 1;
    std::uint32_t buckets = 0;  // Maglev buckets this entry node gives it
    bool local = false;          // on this node
    // "up" / "down" (health check results), "unchecked" (the service has no
    // health_check), "unknown" (checked, but nfdsrd is not running to say)
    std::string health = "unknown";
    bool up = true;                  // in the Maglev table
    bool draining = false;           // drain: true (no new connections, keeps its established ones)
    std::uint64_t packets = 0;       // entry node: dispatched to it (nfdsr.ko per-backend counter)
    std::uint64_t bytes = 0;
};

struct ServiceSample {
    std::string name;
    std::string protocol;  // "tcp" / "udp"
    std::string address;   // entry address (VIP or this node's address)
    std::uint16_t port = 0;
    std::string dispatch;  // "opt" / "ipip" / "ipip-classic"
    std::uint32_t maglev_size = 0;
    std::uint32_t hash_seed = 0;
    std::uint64_t dropped_packets = 0;  // nfdsr.ko: no backend in the Maglev table
    std::vector<BackendSample> backends;
};

struct ModuleSample {
    bool loaded = false;
    std::string version;
    std::string error;  // why not loaded
    std::uint32_t bindings = 0;
    std::uint32_t flows = 0;
    std::uint32_t flows_max = 0;
    std::vector<std::pair<std::string, std::uint64_t>> counters;  // NFDSR_COUNTER_NAMES order
};

struct ApplySample {
    std::uint64_t total = 0;   // apply attempts (start + reloads)
    std::uint64_t errors = 0;  // failed ones
    double last_duration_seconds = 0;
    double last_success_unixtime = 0;  // 0: never
    std::uint64_t table_repairs = 0;   // foreign changes to table ip nfdsr undone (nftables events)
};

struct Snapshot {
    std::string node;
    std::string node_address;
    std::string config_error;  // plan could not be loaded: services unknown
    bool table_installed = false;
    std::vector<ServiceSample> services;  // entry services of this node
    std::vector<std::string> backend_of;  // "svc1 192.168.10.10:31615/tcp -> webpod1 172.16.2.214:80"
    // nfdsr.ko's flows per backend_of entry (same order; empty: not counted):
    // open = no FIN/RST seen yet. What a drain waits for on the backend node.
    struct BindingFlows {
        std::uint32_t open = 0, closing = 0;
    };
    std::vector<BindingFlows> backend_flows;
    std::optional<ApplySample> apply;     // only in the daemon
    std::string daemon;                   // nfdsrctl: "running (pid N), ..." or why not
    ModuleSample module;
    bool module_queried = false;  // false: --no-module, module not asked
};

// Prometheus text format 0.0.4. Metric names (all prefixed nfdsr_):
//   service_backend_packets_total / _bytes_total {service,backend,node}
//   service_dropped_packets_total {service}   (no backend)
//   backend_up {service,backend,node}, backend_weight {...}
//   apply_total, apply_errors_total, apply_duration_seconds,
//   last_apply_success_timestamp_seconds, table_repairs_total
//   module_loaded, module_info{version}, module_<counter>_total per module
//   counter (e.g. module_opt_added_total), flows, flows_max, module_bindings
std::string render_prometheus(const Snapshot& s);

// Label value escaping per the exposition format (\\, \", \n).
std::string escape_label(const std::string& v);

}  // namespace nfdsr::metrics
