// Prometheus text rendering of a status snapshot (src/metrics).
#include <doctest/doctest.h>

#include <regex>
#include <sstream>
#include <string>

#include "metrics/metrics.hpp"

using namespace nfdsr::metrics;

namespace {

Snapshot sample()
{
    Snapshot s;
    s.node = "k8s-s";
    ServiceSample svc;
    svc.name = "svc1";
    svc.protocol = "tcp";
    svc.address = "192.168.10.10";
    svc.port = 31615;
    svc.dispatch = "opt";
    svc.dropped_packets = 3;
    BackendSample b;
    b.name = "webpod1";
    b.node = "k8s-w1";
    b.packets = 42;
    b.bytes = 2520;
    b.weight = 2;
    b.health = "up";
    svc.backends.push_back(b);
    b.name = "web\"pod2";
    b.up = false;
    b.draining = true;
    b.health = "down";
    b.packets = 0;
    b.bytes = 0;
    svc.backends.push_back(b);
    s.services.push_back(svc);
    s.apply = ApplySample{5, 1, 0.0125, 1700000000.5, 3};
    s.module_queried = true;
    s.module.loaded = true;
    s.module.version = "0.1.0";
    s.module.flows = 7;
    s.module.flows_max = 262144;
    s.module.counters = {{"opt_added", 10}, {"flow_evicted", 2}};
    return s;
}

}  // namespace

TEST_CASE("per backend counters with service, backend and node labels")
{
    const std::string t = render_prometheus(sample());
    CHECK(t.find("# TYPE nfdsr_service_backend_packets_total counter\n") != std::string::npos);
    CHECK(t.find("nfdsr_service_backend_packets_total{service=\"svc1\",backend=\"webpod1\",node=\"k8s-w1\"} 42\n") !=
          std::string::npos);
    CHECK(t.find("nfdsr_service_backend_bytes_total{service=\"svc1\",backend=\"webpod1\",node=\"k8s-w1\"} 2520\n") !=
          std::string::npos);
    CHECK(t.find("nfdsr_backend_up{service=\"svc1\",backend=\"webpod1\",node=\"k8s-w1\"} 1\n") != std::string::npos);
    CHECK(t.find("nfdsr_backend_up{service=\"svc1\",backend=\"web\\\"pod2\",node=\"k8s-w1\"} 0\n") !=
          std::string::npos);
    CHECK(t.find("nfdsr_backend_weight{service=\"svc1\",backend=\"webpod1\",node=\"k8s-w1\"} 2\n") !=
          std::string::npos);
    CHECK(t.find("nfdsr_backend_healthy{service=\"svc1\",backend=\"webpod1\",node=\"k8s-w1\"} 1\n") !=
          std::string::npos);
    CHECK(t.find("nfdsr_backend_healthy{service=\"svc1\",backend=\"web\\\"pod2\",node=\"k8s-w1\"} 0\n") !=
          std::string::npos);
    CHECK(t.find("nfdsr_service_dropped_packets_total{service=\"svc1\"} 3\n") != std::string::npos);
    CHECK(t.find("nfdsr_backend_draining{service=\"svc1\",backend=\"webpod1\",node=\"k8s-w1\"} 0\n") !=
          std::string::npos);
    CHECK(t.find("nfdsr_backend_draining{service=\"svc1\",backend=\"web\\\"pod2\",node=\"k8s-w1\"} 1\n") !=
          std::string::npos);
}

TEST_CASE("apply and module metrics")
{
    const std::string t = render_prometheus(sample());
    CHECK(t.find("nfdsr_apply_total 5\n") != std::string::npos);
    CHECK(t.find("nfdsr_table_repairs_total 3\n") != std::string::npos);
    CHECK(t.find("nfdsr_apply_errors_total 1\n") != std::string::npos);
    CHECK(t.find("# TYPE nfdsr_apply_duration_seconds gauge\nnfdsr_apply_duration_seconds 0.0125\n") !=
          std::string::npos);
    CHECK(t.find("nfdsr_last_apply_success_timestamp_seconds 1700000000.5\n") != std::string::npos);
    CHECK(t.find("nfdsr_module_loaded 1\n") != std::string::npos);
    CHECK(t.find("nfdsr_module_info{version=\"0.1.0\"} 1\n") != std::string::npos);
    CHECK(t.find("# TYPE nfdsr_module_opt_added_total counter\nnfdsr_module_opt_added_total 10\n") !=
          std::string::npos);
    CHECK(t.find("nfdsr_module_flow_evicted_total 2\n") != std::string::npos);
    CHECK(t.find("nfdsr_flows 7\n") != std::string::npos);
    CHECK(t.find("nfdsr_flows_max 262144\n") != std::string::npos);
}

TEST_CASE("module not loaded / not queried; no daemon apply metrics in the CLI")
{
    Snapshot s = sample();
    s.apply.reset();
    s.module.loaded = false;
    std::string t = render_prometheus(s);
    CHECK(t.find("nfdsr_module_loaded 0\n") != std::string::npos);
    CHECK(t.find("nfdsr_flows") == std::string::npos);
    CHECK(t.find("nfdsr_apply_total") == std::string::npos);
    s.module_queried = false;
    t = render_prometheus(s);
    CHECK(t.find("nfdsr_module_loaded") == std::string::npos);
}

TEST_CASE("exposition format: every sample line follows its HELP/TYPE, names are valid")
{
    const std::string t = render_prometheus(sample());
    std::istringstream in(t);
    std::string line, current;
    const std::regex sample_re(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? [0-9eE.+-]+$)");
    const std::regex type_re(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$)");
    int samples = 0;
    while (std::getline(in, line)) {
        std::smatch m;
        if (std::regex_match(line, m, type_re)) {
            current = m[1];
            if (m[2] == "counter")
                CHECK(current.size() > 6);
            continue;
        }
        if (line.rfind("# HELP ", 0) == 0)
            continue;
        INFO(line);
        REQUIRE(std::regex_match(line, m, sample_re));
        CHECK(m[1] == current);
        ++samples;
    }
    CHECK(samples > 15);
}

TEST_CASE("label escaping")
{
    CHECK(escape_label("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
}
