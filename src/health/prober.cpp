#include "health/prober.hpp"

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

bool is_entry_node(const config::Service& s, std::string_view node)
{
    return std::find(s.entry_nodes.begin(), s.entry_nodes.end(), node) != s.entry_nodes.end();
}

std::string endpoint(const Target& t)
{
    return config::format_ipv4(t.addr) + ":" + std::to_string(t.port);
}

}  // namespace

std::vector<Target> targets_for(const config::Config& config, std::string_view node)
{
    std::vector<Target> out;
    for (const auto& s : config.services) {
        if (!s.health_check)
            continue;
        const bool entry = is_entry_node(s, node);
        for (const auto& b : s.backends) {
            const bool local = b.node == node;
            if (!local && !(entry && !s.local_only))
                continue;
            out.push_back({s.name, b.name, b.address, b.port, *s.health_check});
        }
    }
    return out;
}

int parse_status_line(std::string_view r)
{
    // HTTP/1.x SP 3DIGIT SP ...
    if (r.size() < 12 || r.substr(0, 7) != "HTTP/1." || r[8] != ' ')
        return 0;
    int code = 0;
    for (std::size_t i = 9; i < 12; ++i) {
        if (r[i] < '0' || r[i] > '9')
            return 0;
        code = code * 10 + (r[i] - '0');
    }
    if (r.size() > 12 && r[12] != ' ' && r[12] != '\r')
        return 0;
    return code;
}

Prober::~Prober()
{
    for (auto& p : probes_)
        if (p.fd >= 0)
            ::close(p.fd);
}

void Prober::set_targets(std::vector<Target> targets, Clock::time_point now)
{
    std::vector<Probe> next;
    next.reserve(targets.size());
    for (auto& t : targets) {
        auto old = std::find_if(probes_.begin(), probes_.end(), [&](const Probe& p) {
            return p.fd != -2 && p.target.service == t.service && p.target.backend == t.backend &&
                   p.target.addr == t.addr && p.target.port == t.port;
        });
        Probe p;
        if (old != probes_.end()) {
            p = std::move(*old);
            old->fd = -2;  // taken
            p.checker.set_thresholds(t.check.rise, t.check.fall);
        } else {
            p.checker = Checker(t.check.rise, t.check.fall);
            p.next_start = now;
        }
        p.target = std::move(t);
        next.push_back(std::move(p));
    }
    for (auto& p : probes_)
        if (p.fd >= 0)
            ::close(p.fd);
    probes_ = std::move(next);
}

void Prober::pollfds(std::vector<pollfd>& out) const
{
    for (const auto& p : probes_)
        if (p.phase != Phase::idle)
            out.push_back({p.fd, static_cast<short>(p.phase == Phase::connecting ? POLLOUT : POLLIN), 0});
}

int Prober::timeout_ms(Clock::time_point now) const
{
    auto next = Clock::time_point::max();
    for (const auto& p : probes_)
        next = std::min(next, p.phase == Phase::idle ? p.next_start : p.deadline);
    if (next == Clock::time_point::max())
        return -1;
    if (next <= now)
        return 0;
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
    return static_cast<int>(std::min<long long>(ms, 60000));
}

void Prober::start(Probe& p, Clock::time_point now, std::vector<Change>& changes)
{
    const auto& t = p.target;
    p.next_start = now + std::chrono::milliseconds(t.check.interval_ms);
    p.deadline = now + std::chrono::milliseconds(t.check.timeout_ms);
    p.buf.clear();
    p.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p.fd < 0) {
        // Local resource problem, not the backend's fault: skip this round.
        NFDSR_LOG(warning) << "health: socket: " << std::strerror(errno);
        return;
    }
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = t.addr.be;
    sa.sin_port = htons(t.port);
    p.phase = Phase::connecting;
    if (::connect(p.fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 && errno != EINPROGRESS) {
        finish(p, false, std::string("connect: ") + std::strerror(errno), changes);
    }
}

void Prober::finish(Probe& p, bool ok, std::string why, std::vector<Change>& changes)
{
    if (p.fd >= 0)
        ::close(p.fd);
    p.fd = -1;
    p.phase = Phase::idle;
    p.buf.clear();
    const bool was_up = p.checker.up();
    if (p.checker.observe(ok)) {
        NFDSR_LOG(warning) << "health: " << p.target.service << "/" << p.target.backend << " " << endpoint(p.target)
                           << " is " << (p.checker.up() ? "up" : "down") << " (" << why << ")";
        changes.push_back({p.target.service, p.target.backend, p.checker.up(), why});
    } else if (!ok && was_up) {
        NFDSR_LOG(info) << "health: " << p.target.service << "/" << p.target.backend << " " << endpoint(p.target)
                        << " failed " << p.checker.streak() << " time(s): " << why;
    } else {
        NFDSR_LOG(debug) << "health: " << p.target.service << "/" << p.target.backend << ": " << why;
    }
    p.last = std::move(why);
}

void Prober::on_event(Probe& p, short revents, std::vector<Change>& changes)
{
    const auto& t = p.target;
    if (p.phase == Phase::connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        if (::getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            err = errno;
        if (err == 0 && (revents & (POLLERR | POLLHUP)) && !(revents & POLLOUT))
            err = ECONNREFUSED;
        if (err != 0)
            return finish(p, false, std::string("connect: ") + std::strerror(err), changes);
        if (t.check.type == config::HealthCheckType::tcp)
            return finish(p, true, "connected", changes);
        const std::string req = "GET " + t.check.path + " HTTP/1.0\r\nHost: " + endpoint(t) +
                                "\r\nUser-Agent: nfdsrd-health\r\nAccept: */*\r\nConnection: close\r\n\r\n";
        const ssize_t n = ::send(p.fd, req.data(), req.size(), MSG_NOSIGNAL);
        if (n != static_cast<ssize_t>(req.size()))
            return finish(p, false, std::string("send: ") + (n < 0 ? std::strerror(errno) : "short write"), changes);
        p.phase = Phase::reading;
        return;
    }
    char chunk[512];
    const ssize_t n = ::recv(p.fd, chunk, sizeof chunk, 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return;
        return finish(p, false, std::string("recv: ") + std::strerror(errno), changes);
    }
    p.buf.append(chunk, static_cast<std::size_t>(n));
    const bool line = p.buf.find('\n') != std::string::npos || p.buf.size() >= 64;
    if (!line && n > 0)
        return;
    const int code = parse_status_line(p.buf);
    if (code == 0)
        return finish(p, false, n == 0 && p.buf.empty() ? "closed without a response" : "not an HTTP response",
                      changes);
    const bool ok = static_cast<std::uint32_t>(code) == t.check.expect_status;
    finish(p, ok, "HTTP " + std::to_string(code) + (ok ? "" : ", expected " + std::to_string(t.check.expect_status)),
           changes);
}

std::vector<Change> Prober::run(std::span<const pollfd> fds, Clock::time_point now)
{
    std::vector<Change> changes;
    for (const auto& pfd : fds) {
        if (!pfd.revents)
            continue;
        for (auto& p : probes_)
            if (p.phase != Phase::idle && p.fd == pfd.fd) {
                on_event(p, pfd.revents, changes);
                break;
            }
    }
    for (auto& p : probes_) {
        if (p.phase != Phase::idle && now >= p.deadline)
            finish(p, false,
                   p.phase == Phase::connecting ? "connect: timed out" : "no HTTP response within the timeout",
                   changes);
        if (p.phase == Phase::idle && now >= p.next_start)
            start(p, now, changes);
    }
    return changes;
}

plan::DownSet Prober::down() const
{
    plan::DownSet out;
    for (const auto& p : probes_)
        if (!p.checker.up())
            out.insert({p.target.service, p.target.backend});
    return out;
}

bool Prober::checked(std::string_view service, std::string_view backend) const
{
    return std::any_of(probes_.begin(), probes_.end(),
                       [&](const Probe& p) { return p.target.service == service && p.target.backend == backend; });
}

bool Prober::is_up(std::string_view service, std::string_view backend) const
{
    for (const auto& p : probes_)
        if (p.target.service == service && p.target.backend == backend)
            return p.checker.up();
    return true;
}

}  // namespace nfdsr::health
