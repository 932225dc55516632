// Health checks: the rise/fall state machine, config parsing of
// health_check / health_check_node_port / local_only, the plan with backends
// down, and the prober against real sockets on 127.0.0.1 (no privileges).
#include "config/parse.hpp"
#include "config/scalars.hpp"
#include "health/checker.hpp"
#include "health/endpoint.hpp"
#include "health/prober.hpp"
#include "plan/derive.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

using namespace nfdsr;

TEST_CASE("checker: starts up, falls after `fall` failures, rises after `rise` successes")
{
    health::Checker c(2, 3);
    CHECK(c.up());
    CHECK_FALSE(c.observe(false));
    CHECK_FALSE(c.observe(false));
    CHECK(c.up());
    CHECK(c.observe(false));  // third failure
    CHECK_FALSE(c.up());
    CHECK_FALSE(c.observe(false));
    CHECK_FALSE(c.observe(true));
    CHECK_FALSE(c.up());
    CHECK(c.observe(true));  // second success
    CHECK(c.up());
}

TEST_CASE("checker: a result agreeing with the state resets the streak")
{
    health::Checker c(2, 2);
    CHECK_FALSE(c.observe(false));
    CHECK(c.streak() == 1);
    CHECK_FALSE(c.observe(true));  // flapping does not accumulate
    CHECK(c.streak() == 0);
    CHECK_FALSE(c.observe(false));
    CHECK(c.up());
    CHECK(c.observe(false));
    CHECK_FALSE(c.up());
    CHECK_FALSE(c.observe(true));
    CHECK_FALSE(c.observe(false));  // back to 0
    CHECK_FALSE(c.observe(true));
    CHECK(c.observe(true));
}

TEST_CASE("checker: rise/fall 1 flips at once; thresholds change keeps the state")
{
    health::Checker c(1, 1);
    CHECK(c.observe(false));
    CHECK(c.observe(true));
    c.set_thresholds(3, 3);
    CHECK(c.up());
    CHECK_FALSE(c.observe(false));
    CHECK_FALSE(c.observe(false));
    CHECK(c.observe(false));
}

TEST_CASE("status line parsing")
{
    CHECK(health::parse_status_line("HTTP/1.1 200 OK\r\n") == 200);
    CHECK(health::parse_status_line("HTTP/1.0 503 Service Unavailable\r\n") == 503);
    CHECK(health::parse_status_line("HTTP/1.1 204\r\n") == 204);
    CHECK(health::parse_status_line("HTTP/2 200 OK\r\n") == 0);
    CHECK(health::parse_status_line("SSH-2.0-OpenSSH\r\n") == 0);
    CHECK(health::parse_status_line("HTTP/1.1 2000 OK\r\n") == 0);
}

namespace {

const char* const base = R"(nodes:
  - {name: a, address: 10.0.0.1}
  - {name: b, address: 10.0.0.2}
services:
  - name: web
    protocol: tcp
    node_port: 30080
)";

std::vector<config::Diagnostic> errors_of(const std::string& text)
{
    try {
        config::parse_text(text, "t.yaml");
    } catch (const config::ConfigError& e) {
        return e.diagnostics();
    }
    return {};
}

std::string backends = R"(    backends:
      - {name: w1, address: 10.1.0.1, port: 80, node: a}
      - {name: w2, address: 10.1.0.2, port: 80, node: b}
      - {name: w3, address: 10.1.0.3, port: 80, node: b}
)";

}  // namespace

TEST_CASE("health_check config: defaults, values, errors with file:line:col")
{
    auto c = config::parse_text(std::string(base) + "    health_check: {type: tcp}\n" + backends, "t.yaml");
    REQUIRE(c.services[0].health_check);
    const auto& h = *c.services[0].health_check;
    CHECK(h.type == config::HealthCheckType::tcp);
    CHECK(h.interval_ms == 2000);
    CHECK(h.timeout_ms == 1000);
    CHECK(h.rise == 2);
    CHECK(h.fall == 2);
    CHECK_FALSE(c.services[0].local_only);
    CHECK_FALSE(c.services[0].health_check_node_port);

    c = config::parse_text(std::string(base) +
                               "    health_check: {type: http, path: /ready, expect_status: 204, interval: 5, "
                               "timeout: 3, rise: 1, fall: 4}\n    local_only: true\n    health_check_node_port: 32000\n" +
                               backends,
                           "t.yaml");
    const auto& s = c.services[0];
    CHECK(s.health_check->type == config::HealthCheckType::http);
    CHECK(s.health_check->path == "/ready");
    CHECK(s.health_check->expect_status == 204);
    CHECK(s.health_check->interval_ms == 5000);
    CHECK(s.health_check->timeout_ms == 3000);
    CHECK(s.health_check->rise == 1);
    CHECK(s.health_check->fall == 4);
    CHECK(s.local_only);
    CHECK(*s.health_check_node_port == 32000);

    auto e = errors_of(std::string(base) + "    health_check: {type: icmp}\n" + backends);
    REQUIRE(e.size() == 1);
    CHECK(e[0].to_string() == "t.yaml:8:26: services[0].health_check.type: found 'icmp', expected tcp or http");
    e = errors_of(std::string(base) + "    health_check: {type: tcp, path: /x}\n" + backends);
    REQUIRE(e.size() == 1);
    CHECK(e[0].path == "services[0].health_check.path");
    e = errors_of(std::string(base) + "    health_check: {type: http, interval: 1, timeout: 2}\n" + backends);
    REQUIRE(e.size() == 1);
    CHECK(e[0].path == "services[0].health_check.timeout");
    e = errors_of(std::string(base) + "    health_check: {type: http, path: healthz}\n" + backends);
    REQUIRE(e.size() == 1);
    CHECK(e[0].mark.line == 8);
    e = errors_of(std::string(base) + "    health_check: {type: http, rise: 0}\n" + backends);
    REQUIRE(e.size() == 1);
    CHECK(e[0].message == "found '0', expected a count 1..100");
    e = errors_of(std::string(base) + "    health_check: {timeout: 1}\n" + backends);
    REQUIRE(e.size() == 1);
    CHECK(e[0].path == "services[0].health_check.type");
    e = errors_of(std::string(base) + "    local_only: yes\n" + backends);
    REQUIRE(e.size() == 1);
    CHECK(e[0].message == "found 'yes', expected true or false");
    // the health port must not be a service port on the same address
    e = errors_of(std::string(base) + "    health_check_node_port: 30080\n" + backends);
    REQUIRE(e.size() == 1);
    CHECK(e[0].path == "services[0].health_check_node_port");
    CHECK(e[0].mark.line == 8);
}

TEST_CASE("plan: a down backend keeps its chain but loses its buckets; the others keep theirs")
{
    auto c = config::parse_text(std::string(base) + "    health_check: {type: tcp}\n" + backends, "t.yaml");
    auto all = plan::derive(c, "a");
    auto less = plan::derive(c, "a", {{"web", "w2"}});
    REQUIRE(all.entry.size() == 1);
    REQUIRE(less.entry.size() == 1);
    const auto& e0 = all.entry[0];
    const auto& e1 = less.entry[0];
    REQUIRE(e1.backends.size() == 3);
    CHECK(e1.backends[0].healthy);
    CHECK_FALSE(e1.backends[1].healthy);
    CHECK(e1.maglev.size() == e0.maglev.size());
    std::size_t moved = 0;
    for (std::size_t i = 0; i < e0.maglev.size(); ++i) {
        CHECK(e1.maglev[i] != 1u);  // w2 has no bucket
        if (e0.maglev[i] != 1u && e0.maglev[i] != e1.maglev[i])
            ++moved;
    }
    // Maglev: the other backends keep (almost) all their buckets
    CHECK(moved * 100 < e0.maglev.size() * 5);

    // everything down: empty table (the service chain drops and counts)
    auto none = plan::derive(c, "a", {{"web", "w1"}, {"web", "w2"}, {"web", "w3"}});
    CHECK(none.entry[0].maglev.empty());
}

TEST_CASE("plan: local_only entry nodes use only their own backends")
{
    auto c = config::parse_text(std::string(base) + "    local_only: true\n" + backends, "t.yaml");
    auto a = plan::derive(c, "a");
    REQUIRE(a.entry[0].backends.size() == 1);
    CHECK(a.entry[0].backends[0].name == "w1");
    CHECK(a.entry[0].maglev == std::vector<std::uint32_t>(a.entry[0].maglev.size(), 0u));
    auto b = plan::derive(c, "b");
    REQUIRE(b.entry[0].backends.size() == 2);
    CHECK(b.entry[0].backends[0].route_mark == 0);
    // no healthy local backend: empty table
    auto a_down = plan::derive(c, "a", {{"web", "w1"}});
    CHECK(a_down.entry[0].maglev.empty());
}

TEST_CASE("targets and listeners per node")
{
    auto c = config::parse_text(std::string(base) +
                                    "    health_check: {type: tcp}\n    local_only: true\n"
                                    "    health_check_node_port: 32000\n" +
                                    backends,
                                "t.yaml");
    auto ta = health::targets_for(c, "a");
    REQUIRE(ta.size() == 1);
    CHECK(ta[0].backend == "w1");
    CHECK(health::targets_for(c, "b").size() == 2);
    auto la = health::listeners_for(c, "a");
    REQUIRE(la.size() == 1);
    CHECK(la[0].port == 32000);
    CHECK(la[0].addr == *config::parse_ipv4("10.0.0.1"));
    CHECK(health::endpoint_response("web", 0).first == 503);
    CHECK(health::endpoint_response("web", 2) ==
          std::pair<int, std::string>{200, "{\"service\": \"web\", \"localEndpoints\": 2}\n"});
}

namespace {

// A listening socket on 127.0.0.1 with an ephemeral port.
struct LocalListener {
    int fd = -1;
    std::uint16_t port = 0;
    LocalListener()
    {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
        REQUIRE(::listen(fd, 16) == 0);
        socklen_t len = sizeof sa;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
        port = ntohs(sa.sin_port);
    }
    ~LocalListener() { close(); }
    void close()
    {
        if (fd >= 0)
            ::close(fd);
        fd = -1;
    }
};

// Runs the prober's poll loop for `ms`, collecting changes.
std::vector<health::Change> spin(health::Prober& p, int ms, const std::function<void()>& serve = {})
{
    std::vector<health::Change> out;
    const auto end = health::Clock::now() + std::chrono::milliseconds(ms);
    while (health::Clock::now() < end) {
        std::vector<pollfd> fds;
        p.pollfds(fds);
        int t = p.timeout_ms(health::Clock::now());
        ::poll(fds.data(), fds.size(), t < 0 || t > 20 ? 20 : t);
        auto c = p.run(fds, health::Clock::now());
        out.insert(out.end(), c.begin(), c.end());
        if (serve)
            serve();
    }
    return out;
}

health::Target target(std::uint16_t port, config::HealthCheckType type)
{
    health::Target t;
    t.service = "web";
    t.backend = "w1";
    t.addr = *config::parse_ipv4("127.0.0.1");
    t.port = port;
    t.check.type = type;
    t.check.interval_ms = 100;
    t.check.timeout_ms = 80;
    t.check.rise = 2;
    t.check.fall = 2;
    return t;
}

}  // namespace

TEST_CASE("prober tcp: up while something listens, down after `fall` refused connects, up again")
{
    LocalListener l;
    health::Prober p;
    p.set_targets({target(l.port, config::HealthCheckType::tcp)}, health::Clock::now());
    auto c = spin(p, 500);
    CHECK(c.empty());
    CHECK(p.is_up("web", "w1"));
    const std::uint16_t port = l.port;
    l.close();
    c = spin(p, 500);
    REQUIRE(c.size() == 1);
    CHECK_FALSE(c[0].up);
    CHECK(c[0].why.find("refused") != std::string::npos);
    CHECK(p.down() == plan::DownSet{{"web", "w1"}});

    // state survives set_targets with the same target
    p.set_targets({target(port, config::HealthCheckType::tcp)}, health::Clock::now());
    CHECK_FALSE(p.is_up("web", "w1"));
}

TEST_CASE("prober http: expected status up, other status down")
{
    LocalListener l;
    int status = 200;
    std::vector<int> conns;  // accepted, waiting for the request
    auto serve = [&] {
        pollfd lp{l.fd, POLLIN, 0};
        while (::poll(&lp, 1, 0) > 0)
            conns.push_back(::accept(l.fd, nullptr, nullptr));
        for (auto it = conns.begin(); it != conns.end();) {
            pollfd pfd{*it, POLLIN, 0};
            if (::poll(&pfd, 1, 0) <= 0) {
                ++it;
                continue;
            }
            char buf[512];
            (void)::recv(*it, buf, sizeof buf, 0);
            std::string r = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 0\r\n\r\n";
            (void)::send(*it, r.data(), r.size(), MSG_NOSIGNAL);
            ::close(*it);
            it = conns.erase(it);
        }
    };
    health::Prober p;
    auto t = target(l.port, config::HealthCheckType::http);
    t.check.timeout_ms = 90;
    p.set_targets({t}, health::Clock::now());
    auto c = spin(p, 600, serve);
    CHECK(c.empty());
    status = 500;
    c = spin(p, 600, serve);
    REQUIRE(!c.empty());
    CHECK_FALSE(c[0].up);
    CHECK(c[0].why == "HTTP 500, expected 200");
    status = 200;
    c = spin(p, 600, serve);
    REQUIRE(!c.empty());
    CHECK(c.back().up);
}

TEST_CASE("prober http: a server that accepts but never answers times out")
{
    LocalListener l;  // never accepts: the kernel completes the handshake, no response comes
    health::Prober p;
    p.set_targets({target(l.port, config::HealthCheckType::http)}, health::Clock::now());
    auto c = spin(p, 600);
    REQUIRE(c.size() == 1);
    CHECK(c[0].why == "no HTTP response within the timeout");
}
