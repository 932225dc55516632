// Generic netlink message encoding/decoding for nfdsr.ko, separate from the
// socket so it can be unit-tested without the module (tests parse the built
// messages back with libnl). Layout: include/nfdsr/uapi/nfdsr.h.
#pragma once

#include "kmod_client/types.hpp"

#include <netlink/msg.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace nfdsr::kmod {

class KmodError : public std::runtime_error {
public:
    explicit KmodError(const std::string& what, int error = 0) : std::runtime_error(what), errno_(error) {}
    int error() const { return errno_; }  // positive errno, 0 if not from the kernel

private:
    int errno_;
};

struct MsgDeleter {
    void operator()(nl_msg* m) const { nlmsg_free(m); }
};
using Msg = std::unique_ptr<nl_msg, MsgDeleter>;

// A netlink attribute length is 16 bits, so one NFDSR_A_BINDINGS nest holds
// at most this many bindings (each binding nest is 44 bytes); build_set
// spreads larger sets over several nests.
std::size_t max_bindings_per_message();

// NFDSR_CMD_SET with all parameters and the complete binding set.
// Throws KmodError above NFDSR_BINDINGS_LIMIT bindings.
Msg build_set(int family, const plan::ModuleParams& params, const std::vector<plan::Binding>& bindings);

// Commands without attributes: NFDSR_CMD_GET, NFDSR_CMD_FLUSH, and
// NFDSR_CMD_FLOW_DUMP / NFDSR_CMD_BINDING_DUMP (sent with NLM_F_DUMP).
Msg build_command(int family, std::uint8_t cmd);

// Decode a NFDSR_CMD_GET reply / one NFDSR_CMD_FLOW_DUMP message.
// Throws KmodError on a malformed message.
Status parse_status(nlmsghdr* reply);
Flow parse_flow(nlmsghdr* reply);
// One NFDSR_CMD_BINDING_DUMP message (service and backend names stay empty:
// the module knows addresses only).
plan::Binding parse_binding(nlmsghdr* reply);

// The kernel's extack text (NLMSGERR_ATTR_MSG) from an NLMSG_ERROR message,
// "" if it carries none. Needs NETLINK_EXT_ACK on the socket.
std::string extack_message(const nlmsghdr* error_message);

// ---- the module's service table ----

// "vip:port/proto (kind)", for error messages.
std::string describe(const SvcKey& key);

// NFDSR_CMD_SVC_SET: one message with the whole service; the Maglev tables
// are split into NFDSR_A_SVC_TABLE / _EST_TABLE attributes of at most
// NFDSR_TABLE_CHUNK entries (u16, host byte order). Ports go in network
// byte order. Throws KmodError above the uapi limits (backends, table
// size); the module validates the rest (prime sizes, indices, marks).
Msg build_svc_set(int family, const Service& svc);
// NFDSR_CMD_SVC_DEL of one service.
Msg build_svc_del(int family, const SvcKey& key);
// NFDSR_CMD_SVC_LOOKUP: which backend the entry path would pick for a
// packet from client:client_port (port in host byte order) with the given
// TCP flags (ignored by the module for UDP).
Msg build_svc_lookup(int family, const SvcKey& key, plan::Ipv4 client, std::uint16_t client_port,
                     std::uint8_t tcp_flags);
// NFDSR_CMD_SVC_DUMP request.
// counters_only: NFDSR_SVC_DUMP_COUNTERS (the Maglev tables left out).
Msg build_svc_dump(int family, bool counters_only = false);

// One NFDSR_CMD_SVC_DUMP message. A big service comes in several parts
// (uapi: NFDSR_CMD_SVC_DUMP): `first` parts carry flags, seed, table sizes
// and no_backend; every part may carry backends and table chunks, which
// continue those of the previous part. Throws KmodError if malformed.
struct ServicePart {
    Service svc;                      // key always; the rest as far as this part holds it
    bool first = false;
    std::uint32_t table_size = 0;     // first part only
    std::uint32_t est_table_size = 0;
};
ServicePart parse_service(nlmsghdr* msg);

// Joins the parts of a dump into services. A first part for a key already
// seen replaces that service (it was replaced during the dump).
class ServiceAssembler {
public:
    // counters_only: the dump was asked without tables (build_svc_dump)
    explicit ServiceAssembler(bool counters_only = false) : counters_only_(counters_only) {}
    void add(nlmsghdr* msg);  // throws KmodError on a part that continues nothing
    // Throws KmodError if a service is incomplete.
    std::vector<Service> finish();

private:
    struct Entry {
        Service svc;
        std::uint32_t table_size = 0;
        std::uint32_t est_table_size = 0;
    };
    std::vector<Entry> entries_;
    std::size_t last_ = 0;  // index of the service the previous part was about
    bool counters_only_ = false;
};

// Decode a NFDSR_CMD_SVC_LOOKUP reply. Throws KmodError if malformed.
SvcLookup parse_svc_lookup(nlmsghdr* reply);

// Attribute policies (arrays of NFDSR_A_MAX + 1, NFDSR_BA_MAX + 1,
// NFDSR_FA_MAX + 1, NFDSR_SBA_MAX + 1 entries), shared with the tests.
// libnl takes them non-const.
nla_policy* attr_policy();
nla_policy* binding_policy();
nla_policy* flow_policy();
nla_policy* svc_backend_policy();

}  // namespace nfdsr::kmod
