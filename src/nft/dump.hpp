// One netlink dump request to nf_tables (NLM_F_DUMP), every reply message
// handed to a callback. Used to read counters and the table's inventory.
#pragma once

#include <cstdint>
#include <functional>

struct nlmsghdr;

namespace nfdsr::nft::detail {

// Build the request payload with `payload` (after the nfgenmsg header of
// `msg_type`, family ip), then call `each` for every object in the answer.
// A dump that another process's commit interrupted (NLM_F_DUMP_INTR) is
// started over (`each` must tolerate seeing objects again: `restart` is
// called first). Returns false if the table does not exist (ENOENT); throws
// NftError on other errors.
bool dump(std::uint16_t msg_type, const std::function<void(nlmsghdr*)>& payload,
          const std::function<void(const nlmsghdr*)>& each, const std::function<void()>& restart = {});

// The ruleset generation of this network namespace: nf_tables adds one per
// committed transaction (any table, any process).
std::uint32_t generation();

}  // namespace nfdsr::nft::detail
