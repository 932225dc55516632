// Per-node health endpoints, like Kubernetes' healthCheckNodePort: for each
// service with health_check_node_port, an HTTP listener on this node's own
// address at that port, when this node is one of the service's entry nodes.
// Any request gets
//   200 {"service": "<name>", "localEndpoints": N}   N > 0 healthy local backends
//   503 {"service": "<name>", "localEndpoints": 0}   otherwise
// so an external load balancer sends a local_only service's traffic only to
// nodes that can serve it. Non-blocking, driven by the daemon's poll loop.
#pragma once

#include "health/prober.hpp"

#include <poll.h>

#include <functional>
#include <span>
#include <string>
#include <vector>

namespace nfdsr::health {

struct Listener {
    std::string service;
    plan::Ipv4 addr;
    std::uint16_t port = 0;
};

// The listeners node `node` should run for `config`.
std::vector<Listener> listeners_for(const config::Config& config, std::string_view node);

// (status code, body) for one service's endpoint.
std::pair<int, std::string> endpoint_response(const std::string& service, unsigned local_endpoints);

class EndpointServer {
public:
    // Healthy local backends of a service on this node.
    using Count = std::function<unsigned(const std::string& service)>;

    explicit EndpointServer(Count count) : count_(std::move(count)) {}
    EndpointServer(const EndpointServer&) = delete;
    EndpointServer& operator=(const EndpointServer&) = delete;
    ~EndpointServer();

    // Opens new listeners, closes removed ones, keeps unchanged ones. A
    // listener that cannot bind is logged and skipped (retried on the next
    // set()), never fatal.
    void set(const std::vector<Listener>& listeners);

    void pollfds(std::vector<pollfd>& out) const;
    int timeout_ms(Clock::time_point now) const;
    void run(std::span<const pollfd> fds, Clock::time_point now);

private:
    struct Open {
        Listener l;
        int fd = -1;
    };
    struct Conn {
        int fd = -1;
        std::string service;
        std::string in;
        Clock::time_point deadline;
    };
    void respond(Conn& c);

    Count count_;
    std::vector<Open> open_;
    std::vector<Conn> conns_;
};

}  // namespace nfdsr::health
