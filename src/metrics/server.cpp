#include "metrics/server.hpp"

#include "common/log.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace nfdsr::metrics {

namespace {

std::string errstr() { return std::strerror(errno); }

}  // namespace

Server::Server(const std::string& listen, Body body) : body_(std::move(body)), address_(listen)
{
    std::string host, port;
    if (!listen.empty() && listen[0] == '[') {
        auto close = listen.find("]:");
        if (close == std::string::npos)
            throw ServerError("metrics listen '" + listen + "': expected [IPv6]:PORT");
        host = listen.substr(1, close - 1);
        port = listen.substr(close + 2);
    } else {
        auto colon = listen.rfind(':');
        if (colon == std::string::npos)
            throw ServerError("metrics listen '" + listen + "': expected ADDRESS:PORT");
        host = listen.substr(0, colon);
        port = listen.substr(colon + 1);
    }
    char* end = nullptr;
    const unsigned long p = std::strtoul(port.c_str(), &end, 10);
    if (port.empty() || *end || p == 0 || p > 65535)
        throw ServerError("metrics listen '" + listen + "': bad port");
    sockaddr_storage ss{};
    socklen_t len = 0;
    int family = AF_INET;
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET, host.c_str(), &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(static_cast<std::uint16_t>(p));
        len = sizeof(*s4);
    } else if (inet_pton(AF_INET6, host.c_str(), &s6->sin6_addr) == 1) {
        family = AF_INET6;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(static_cast<std::uint16_t>(p));
        len = sizeof(*s6);
    } else {
        throw ServerError("metrics listen '" + listen + "': '" + host + "' is not an IP address");
    }
    listen_fd_ = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listen_fd_ < 0)
        throw ServerError("metrics socket: " + errstr());
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(listen_fd_, 16) != 0) {
        const std::string e = errstr();
        close(listen_fd_);
        throw ServerError("metrics listen " + listen + ": " + e);
    }
    stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop_fd_ < 0) {
        close(listen_fd_);
        throw ServerError("eventfd: " + errstr());
    }
    thread_ = std::thread([this] { run(); });
}

Server::~Server()
{
    std::uint64_t one = 1;
    if (write(stop_fd_, &one, sizeof one) < 0) {
    }
    if (thread_.joinable())
        thread_.join();
    close(stop_fd_);
    close(listen_fd_);
}

void Server::run()
{
    for (;;) {
        pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            NFDSR_LOG(error) << "metrics: poll: " << errstr();
            return;
        }
        if (fds[1].revents)
            return;
        if (!(fds[0].revents & POLLIN))
            continue;
        int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            continue;
        try {
            serve_one(fd);
        } catch (const std::exception& e) {
            NFDSR_LOG(warning) << "metrics: " << e.what();
        }
        close(fd);
    }
}

void Server::serve_one(int fd)
{
    // Read the request head (up to 8 KiB, 2 s).
    std::string req;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (req.find("\r\n\r\n") == std::string::npos && req.find("\n\n") == std::string::npos &&
           req.size() < 8192) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                                 std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return;
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left.count())) <= 0)
            return;
        char buf[2048];
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            return;
        req.append(buf, static_cast<std::size_t>(n));
    }
    const std::string line = req.substr(0, req.find_first_of("\r\n"));
    std::string status = "200 OK", type = "text/plain; version=0.0.4; charset=utf-8", body;
    const bool head = line.rfind("HEAD ", 0) == 0;
    if (line.rfind("GET ", 0) != 0 && !head) {
        status = "405 Method Not Allowed";
        body = "GET only\n";
        type = "text/plain";
    } else {
        std::string path = line.substr(line.find(' ') + 1);
        path = path.substr(0, path.find(' '));
        path = path.substr(0, path.find('?'));
        if (path == "/metrics") {
            body = body_();
        } else if (path == "/") {
            type = "text/html";
            body = "<html><body><a href=\"/metrics\">/metrics</a></body></html>\n";
        } else {
            status = "404 Not Found";
            type = "text/plain";
            body = "not found; try /metrics\n";
        }
    }
    std::string resp = "HTTP/1.0 " + status + "\r\nContent-Type: " + type +
                       "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
    if (!head)
        resp += body;
    std::size_t off = 0;
    while (off < resp.size()) {
        ssize_t n = send(fd, resp.data() + off, resp.size() - off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                pollfd p{fd, POLLOUT, 0};
                if (poll(&p, 1, 2000) <= 0)
                    return;
                continue;
            }
            if (errno == EINTR)
                continue;
            return;
        }
        off += static_cast<std::size_t>(n);
    }
}

}  // namespace nfdsr::metrics
