// A tiny HTTP/1.0 server for GET /metrics on one thread (poll-based, one
// request per connection, 2 s read deadline). The body comes from a
// callback run on the server thread; it must be thread-safe.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <thread>

namespace nfdsr::metrics {

struct ServerError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// "127.0.0.1:9798", "0.0.0.0:9798", "[::1]:9798". Empty: disabled.
inline constexpr const char* kDefaultListen = "127.0.0.1:9798";

class Server {
public:
    using Body = std::function<std::string()>;
    // Binds and listens now (throws ServerError naming the address), serves
    // on a thread until destruction.
    Server(const std::string& listen, Body body);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    std::string address() const { return address_; }

private:
    void run();
    void serve_one(int fd);

    Body body_;
    std::string address_;
    int listen_fd_ = -1;
    int stop_fd_ = -1;
    std::thread thread_;
};

}  // namespace nfdsr::metrics
