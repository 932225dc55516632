// Control channel to nfdsr.ko: generic netlink family NFDSR_GENL_NAME in the
// caller's network namespace. Kernel errors carry the extack message.
#pragma once

#include "kmod_client/messages.hpp"
#include "kmod_client/types.hpp"

#include <memory>

struct nl_sock;

namespace nfdsr::kmod {

class Client {
public:
    // Throws KmodError; if the family is absent the message says to run
    // 'modprobe nfdsr'.
    static Client open();

    Client(Client&&) noexcept;
    Client& operator=(Client&&) noexcept;
    ~Client();

    // Atomic replace of parameters and the complete binding set.
    void set(const plan::ModuleParams& params, const std::vector<plan::Binding>& bindings);
    Status get();
    void flush();
    std::vector<Flow> dump_flows();
    std::vector<plan::Binding> dump_bindings();

private:
    struct Socket;
    explicit Client(std::unique_ptr<Socket> sock);
    std::unique_ptr<Socket> sock_;
};

}  // namespace nfdsr::kmod
