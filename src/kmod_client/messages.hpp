// Generic netlink message encoding/decoding for nfdsr.ko, separate from the
// socket so it can be unit-tested without the module (tests parse the built
// messages back with libnl). Layout: include/nfdsr/uapi/nfdsr.h.
#pragma once

#include "kmod_client/types.hpp"

#include <netlink/msg.h>

#include <memory>
#include <stdexcept>
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

// Attribute policies (arrays of NFDSR_A_MAX + 1, NFDSR_BA_MAX + 1,
// NFDSR_FA_MAX + 1 entries), shared with the tests. libnl takes them non-const.
nla_policy* attr_policy();
nla_policy* binding_policy();
nla_policy* flow_policy();

}  // namespace nfdsr::kmod
