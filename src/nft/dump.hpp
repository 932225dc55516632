// One netlink dump request to nf_tables (NLM_F_DUMP), every reply message
// handed to a callback. Used to read counters and the table's inventory.
#pragma once

#include <cstdint>
#include <functional>

struct nlmsghdr;

namespace nfdsr::nft::detail {

// Build the request payload with `payload` (after the nfgenmsg header of
// `msg_type`, family ip), then call `each` for every object in the answer.
// Returns false if the table does not exist (ENOENT); throws NftError on
// other errors.
bool dump(std::uint16_t msg_type, const std::function<void(nlmsghdr*)>& payload,
          const std::function<void(const nlmsghdr*)>& each);

}  // namespace nfdsr::nft::detail
