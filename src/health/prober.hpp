// Active health checks (TCP connect, HTTP GET with an expected status) of
// many backends from one thread: every probe is a non-blocking socket in the
// caller's poll loop, no thread per backend. The caller asks for the pollfds
// and the timeout, polls, and hands the results back to run().
//
// Probes go from this node straight to backend address:port, with this
// node's own source address: this is not DSR traffic (no service address,
// no option), so the backend node answers it as any direct client.
#pragma once

#include "config/config.hpp"
#include "health/checker.hpp"
#include "plan/derive.hpp"

#include <poll.h>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace nfdsr::health {

using Clock = std::chrono::steady_clock;

struct Target {
    std::string service;
    std::string backend;
    plan::Ipv4 addr;
    std::uint16_t port = 0;  // host byte order
    config::HealthCheck check;
};

struct Change {
    std::string service;
    std::string backend;
    bool up = true;
    std::string why;  // last probe result, e.g. "connect: Connection refused"
};

// What this node checks: for every service with a health_check, the
// backends it dispatches to as an entry node (local_only: only its own),
// and its own backends (they feed health_check_node_port).
std::vector<Target> targets_for(const config::Config& config, std::string_view node);

class Prober {
public:
    Prober() = default;
    Prober(const Prober&) = delete;
    Prober& operator=(const Prober&) = delete;
    ~Prober();

    // Replaces the target list. A target with the same service, backend and
    // address:port as before keeps its health state; new ones start up.
    void set_targets(std::vector<Target> targets, Clock::time_point now);

    // Appends the sockets of probes in flight to `out`.
    void pollfds(std::vector<pollfd>& out) const;
    // Milliseconds until the next probe start or deadline (-1: none).
    int timeout_ms(Clock::time_point now) const;
    // Handles poll results (the entries pollfds() appended, in the same
    // order, with revents filled), expired deadlines and due probe starts.
    // Returns the backends whose state flipped.
    std::vector<Change> run(std::span<const pollfd> fds, Clock::time_point now);

    // Backends currently down, as plan::derive wants them.
    plan::DownSet down() const;
    // Health of one backend; true when it is not checked here.
    bool is_up(std::string_view service, std::string_view backend) const;
    bool checked(std::string_view service, std::string_view backend) const;

private:
    enum class Phase : std::uint8_t { idle, connecting, reading };
    struct Probe {
        Target target;
        Checker checker{2, 2};
        Phase phase = Phase::idle;
        int fd = -1;
        Clock::time_point next_start;
        Clock::time_point deadline;
        std::string buf;
        std::string last;  // last result text
    };

    void start(Probe& p, Clock::time_point now, std::vector<Change>& changes);
    // Ends the probe in flight with `ok`; appends a Change if the state flipped.
    void finish(Probe& p, bool ok, std::string why, std::vector<Change>& changes);
    void on_event(Probe& p, short revents, std::vector<Change>& changes);

    std::vector<Probe> probes_;
};

// "HTTP/1.1 200 OK\r\n..." -> 200; 0 when not a status line.
int parse_status_line(std::string_view response);

}  // namespace nfdsr::health
