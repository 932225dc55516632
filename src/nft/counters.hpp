// Counters of table ip nfdsr, read with libnftnl (one rule dump): for each
// chain the sum of its rules' `counter` expressions. A backend chain
// (<service chain>_be_<backend>) has exactly one counter: packets/bytes
// dispatched to that backend by this entry node.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace nfdsr::nft {

struct Counter {
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
};

// chain name -> counters; empty if the table does not exist. Throws NftError.
std::map<std::string, Counter> chain_counters();

}  // namespace nfdsr::nft
