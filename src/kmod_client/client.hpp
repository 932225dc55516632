// Control channel to nfdsr.ko: generic netlink family NFDSR_GENL_NAME in the
// caller's network namespace. Kernel errors carry the extack message.
#pragma once

#include "kmod_client/messages.hpp"
#include "kmod_client/types.hpp"

#include <memory>
#include <vector>

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

    // ---- the module's service table ----
    // Create or replace services, one NFDSR_CMD_SVC_SET each, sent in
    // windows of pipelined messages (each replace is atomic, the batch is
    // not). Throws KmodError naming the first rejected service
    // ("vip:port/proto (kind)") with the module's extack text; services
    // sent with it may have been applied.
    void set_services(const std::vector<Service>& services);
    // Remove services (NFDSR_CMD_SVC_DEL, pipelined as above); a missing
    // one is an error (ENOENT).
    void del_services(const std::vector<SvcKey>& keys);
    // The whole table with counters (services sent in parts are joined).
    // tables = false: counters only (Service::table/est_table left empty,
    // table_size/est_table_size set): what status and metrics need.
    std::vector<Service> dump_services(bool tables = true);
    // What the entry path would do with a packet from client:client_port
    // (host byte order) with tcp_flags; throws KmodError (ENOENT) if the
    // service is absent.
    SvcLookup lookup(const SvcKey& key, plan::Ipv4 client, std::uint16_t client_port, std::uint8_t tcp_flags);

private:
    struct Socket;
    explicit Client(std::unique_ptr<Socket> sock);
    std::unique_ptr<Socket> sock_;
};

}  // namespace nfdsr::kmod
