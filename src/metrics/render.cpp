#include "metrics/metrics.hpp"

#include <charconv>
#include <sstream>

namespace nfdsr::metrics {

std::string escape_label(const std::string& v)
{
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

namespace {

std::string fmt_double(double v)
{
    // Shortest representation that reads back as the same double.
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

class Writer {
public:
    void header(const std::string& name, const char* type, const std::string& help)
    {
        o_ << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
    }
    void sample(const std::string& name, const std::string& labels, const std::string& value)
    {
        o_ << name;
        if (!labels.empty())
            o_ << "{" << labels << "}";
        o_ << " " << value << "\n";
    }
    void sample(const std::string& name, const std::string& labels, std::uint64_t v)
    {
        sample(name, labels, std::to_string(v));
    }
    std::string str() const { return o_.str(); }

private:
    std::ostringstream o_;
};

std::string backend_labels(const ServiceSample& s, const BackendSample& b)
{
    return "service=\"" + escape_label(s.name) + "\",backend=\"" + escape_label(b.name) + "\",node=\"" +
           escape_label(b.node) + "\"";
}

}  // namespace

std::string render_prometheus(const Snapshot& s)
{
    Writer w;
    auto per_backend = [&](const std::string& name, const char* type, const std::string& help, auto value) {
        w.header(name, type, help);
        for (const auto& svc : s.services)
            for (const auto& b : svc.backends)
                w.sample(name, backend_labels(svc, b), value(b));
    };
    per_backend("nfdsr_service_backend_packets_total", "counter",
                "Packets this entry node dispatched to the backend (nfdsr.ko per-backend counter).",
                [](const BackendSample& b) { return std::to_string(b.packets); });
    per_backend("nfdsr_service_backend_bytes_total", "counter",
                "Bytes this entry node dispatched to the backend (nfdsr.ko per-backend counter, as received).",
                [](const BackendSample& b) { return std::to_string(b.bytes); });
    per_backend("nfdsr_backend_up", "gauge",
                "1 if the backend is in the Maglev table (healthy or not health-checked), else 0.",
                [](const BackendSample& b) { return std::string(b.up ? "1" : "0"); });
    w.header("nfdsr_backend_healthy", "gauge",
             "Health check result: 1 passing, 0 failing (only backends of services with a health_check).");
    for (const auto& svc : s.services)
        for (const auto& b : svc.backends)
            if (b.health == "up" || b.health == "down")
                w.sample("nfdsr_backend_healthy", backend_labels(svc, b), std::string(b.health == "up" ? "1" : "0"));
    per_backend("nfdsr_backend_weight", "gauge", "Configured backend weight (0 = no Maglev buckets).",
                [](const BackendSample& b) { return std::to_string(b.weight); });
    per_backend("nfdsr_backend_draining", "gauge",
                "1 if the backend drains (drain: true): no new connections, established ones keep it.",
                [](const BackendSample& b) { return std::string(b.draining ? "1" : "0"); });
    w.header("nfdsr_service_dropped_packets_total", "counter",
             "Packets to the entry service dropped because it has no backend.");
    for (const auto& svc : s.services)
        w.sample("nfdsr_service_dropped_packets_total", "service=\"" + escape_label(svc.name) + "\"",
                 svc.dropped_packets);

    if (s.apply) {
        const auto& a = *s.apply;
        w.header("nfdsr_apply_total", "counter", "Configuration applies attempted (start and reloads).");
        w.sample("nfdsr_apply_total", "", a.total);
        w.header("nfdsr_apply_errors_total", "counter", "Configuration applies that failed (running state kept).");
        w.sample("nfdsr_apply_errors_total", "", a.errors);
        w.header("nfdsr_apply_duration_seconds", "gauge", "Duration of the last apply.");
        w.sample("nfdsr_apply_duration_seconds", "", fmt_double(a.last_duration_seconds));
        w.header("nfdsr_last_apply_success_timestamp_seconds", "gauge",
                 "Unix time of the last successful apply (0: none).");
        w.sample("nfdsr_last_apply_success_timestamp_seconds", "", fmt_double(a.last_success_unixtime));
        w.header("nfdsr_table_repairs_total", "counter",
                 "Changes to table ip nfdsr by other processes, seen through nftables events and undone "
                 "by re-applying the running config.");
        w.sample("nfdsr_table_repairs_total", "", a.table_repairs);
    }

    if (s.module_queried) {
        const auto& m = s.module;
        w.header("nfdsr_module_loaded", "gauge", "1 if nfdsr.ko answers on generic netlink.");
        w.sample("nfdsr_module_loaded", "", std::string(m.loaded ? "1" : "0"));
        if (m.loaded) {
            w.header("nfdsr_module_info", "gauge", "nfdsr.ko version.");
            w.sample("nfdsr_module_info", "version=\"" + escape_label(m.version) + "\"", std::string("1"));
            w.header("nfdsr_module_bindings", "gauge", "Service bindings installed in nfdsr.ko.");
            w.sample("nfdsr_module_bindings", "", std::uint64_t{m.bindings});
            w.header("nfdsr_flows", "gauge", "Entries in the backend flow table.");
            w.sample("nfdsr_flows", "", std::uint64_t{m.flows});
            w.header("nfdsr_flows_max", "gauge", "Size limit of the backend flow table.");
            w.sample("nfdsr_flows_max", "", std::uint64_t{m.flows_max});
            for (const auto& [name, value] : m.counters) {
                const std::string metric = "nfdsr_module_" + name + "_total";
                w.header(metric, "counter", "nfdsr.ko counter " + name + ".");
                w.sample(metric, "", value);
            }
        }
    }
    return w.str();
}

}  // namespace nfdsr::metrics
