#include "health/endpoint.hpp"

#include "common/log.hpp"
#include "config/scalars.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace nfdsr::health {
namespace {

constexpr std::size_t kMaxConns = 64;
constexpr auto kConnTimeout = std::chrono::seconds(2);

std::string json_string(const std::string& s)
{
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + "\"";
}

}  // namespace

std::vector<Listener> listeners_for(const config::Config& config, std::string_view node)
{
    std::vector<Listener> out;
    const config::Node* self = config.find_node(node);
    if (!self)
        return out;
    for (const auto& s : config.services)
        if (s.health_check_node_port &&
            std::find(s.entry_nodes.begin(), s.entry_nodes.end(), node) != s.entry_nodes.end())
            out.push_back({s.name, self->address, *s.health_check_node_port});
    return out;
}

std::pair<int, std::string> endpoint_response(const std::string& service, unsigned local_endpoints)
{
    return {local_endpoints > 0 ? 200 : 503, "{\"service\": " + json_string(service) +
                                                 ", \"localEndpoints\": " + std::to_string(local_endpoints) + "}\n"};
}

EndpointServer::~EndpointServer()
{
    for (auto& o : open_)
        ::close(o.fd);
    for (auto& c : conns_)
        ::close(c.fd);
}

void EndpointServer::set(const std::vector<Listener>& listeners)
{
    std::vector<Open> next;
    for (const auto& l : listeners) {
        auto old = std::find_if(open_.begin(), open_.end(), [&](const Open& o) {
            return o.fd >= 0 && o.l.addr == l.addr && o.l.port == l.port;
        });
        if (old != open_.end()) {
            Open o = *old;
            old->fd = -1;
            o.l.service = l.service;
            next.push_back(o);
            continue;
        }
        const std::string where = config::format_ipv4(l.addr) + ":" + std::to_string(l.port);
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        const int one = 1;
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = l.addr.be;
        sa.sin_port = htons(l.port);
        if (fd < 0 || ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
            ::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 64) != 0) {
            NFDSR_LOG(error) << "health endpoint of " << l.service << " on " << where << ": " << std::strerror(errno);
            if (fd >= 0)
                ::close(fd);
            continue;
        }
        NFDSR_LOG(info) << "health endpoint of " << l.service << " listening on " << where;
        next.push_back({l, fd});
    }
    for (auto& o : open_)
        if (o.fd >= 0)
            ::close(o.fd);
    open_ = std::move(next);
}

void EndpointServer::pollfds(std::vector<pollfd>& out) const
{
    for (const auto& o : open_)
        out.push_back({o.fd, POLLIN, 0});
    for (const auto& c : conns_)
        out.push_back({c.fd, POLLIN, 0});
}

int EndpointServer::timeout_ms(Clock::time_point now) const
{
    if (conns_.empty())
        return -1;
    auto next = Clock::time_point::max();
    for (const auto& c : conns_)
        next = std::min(next, c.deadline);
    return next <= now ? 0 : static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(next - now).count());
}

void EndpointServer::respond(Conn& c)
{
    const auto [code, body] = endpoint_response(c.service, count_(c.service));
    const std::string head = "HTTP/1.1 " + std::to_string(code) +
                             (code == 200 ? " OK" : " Service Unavailable") +
                             "\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n"
                             "Content-Length: " +
                             std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
    const std::string out = head + body;
    // Small: fits the socket buffer of a fresh connection.
    (void)::send(c.fd, out.data(), out.size(), MSG_NOSIGNAL);
    ::shutdown(c.fd, SHUT_WR);
    ::close(c.fd);
    c.fd = -1;
}

void EndpointServer::run(std::span<const pollfd> fds, Clock::time_point now)
{
    for (const auto& pfd : fds) {
        if (!pfd.revents)
            continue;
        auto o = std::find_if(open_.begin(), open_.end(), [&](const Open& x) { return x.fd == pfd.fd; });
        if (o != open_.end()) {
            for (;;) {
                int fd = ::accept4(o->fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0)
                    break;
                if (conns_.size() >= kMaxConns) {
                    ::close(fd);
                    continue;
                }
                conns_.push_back({fd, o->l.service, {}, now + kConnTimeout});
            }
            continue;
        }
        auto c = std::find_if(conns_.begin(), conns_.end(), [&](const Conn& x) { return x.fd == pfd.fd; });
        if (c == conns_.end())
            continue;
        char buf[1024];
        const ssize_t n = ::recv(c->fd, buf, sizeof buf, 0);
        if (n > 0)
            c->in.append(buf, static_cast<std::size_t>(n));
        // Answer once the request head is in (any method and path), or the
        // client stopped sending.
        if (n == 0 || c->in.find("\r\n\r\n") != std::string::npos || c->in.find("\n\n") != std::string::npos ||
            c->in.size() > 8192)
            respond(*c);
        else if (n < 0 && errno != EAGAIN && errno != EINTR) {
            ::close(c->fd);
            c->fd = -1;
        }
    }
    for (auto& c : conns_)
        if (c.fd >= 0 && now >= c.deadline) {
            ::close(c.fd);
            c.fd = -1;
        }
    conns_.erase(std::remove_if(conns_.begin(), conns_.end(), [](const Conn& c) { return c.fd < 0; }), conns_.end());
}

}  // namespace nfdsr::health
