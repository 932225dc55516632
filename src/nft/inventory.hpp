// What table ip nfdsr holds in the kernel right now, read with dumps (set
// elements and rule contents are not read).
//
// inventory(): chains, sets and rules by kernel handle. Handles are never
// reused, so the inventory after our last commit differs from the current one
// exactly when someone else added, deleted or replaced an object of the table
// (an `nft` command, `nfdsrctl apply` beside a running nfdsrd, a table flush):
// then an update computed from what we committed would be wrong.
//
// read_table(): the same plus a skeleton Ruleset of the installed objects, for
// rebuilding a table we did not commit ourselves (transaction.hpp,
// emit_rebuild) without deleting its base chains.
#pragma once

#include <string>

#include "nft/model.hpp"

namespace nfdsr::nft::detail {

// Canonical text ("chain <name> <handle>", "set ...", "rule <chain> <handle>"
// lines, sorted); "" when the table does not exist. Throws NftError.
std::string inventory();

struct KernelTable {
    bool exists = false;    // and holds chains or sets
    std::string inventory;  // as inventory()
    // Objects as they are: chains with the fingerprint our builder would
    // write for them (empty when they carry anything we never set: a policy
    // other than accept, flags); chains that hold rules get one placeholder
    // rule (content unknown); sets have no fingerprint and no elements
    // (content unknown). The table itself is not described (no fingerprint).
    Ruleset skeleton;
};
KernelTable read_table();

}  // namespace nfdsr::nft::detail
