// Which chains, sets and rules table ip nfdsr holds, by kernel handle
// (three dumps; set elements are not read). Handles are never reused, so
// the inventory after our last commit differs from the current one exactly
// when someone else added, deleted or replaced an object of the table (an
// `nft` command, `nfdsrctl apply` beside a running nfdsrd, a table flush):
// then an update computed from what we committed would be wrong, and the
// table is replaced whole instead.
#pragma once

#include <string>

namespace nfdsr::nft::detail {

// Canonical text ("chain <name> <handle>", "set ...", "rule <chain> <handle>"
// lines, sorted); "" when the table does not exist. Throws NftError.
std::string inventory();

}  // namespace nfdsr::nft::detail
