// Counters of table ip nfdsr, read with libnftnl (one rule dump): for each
// chain the sum of its rules' `counter` expressions (e.g. chain entry: the
// packets marked for nfdsr.ko's entry path). Per-backend counters are
// nfdsr.ko's (its service table), not nftables'.
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
