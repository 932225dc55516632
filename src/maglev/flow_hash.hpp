// The Maglev bucket of a flow, exactly as nftables computes it on the entry
// node: `jhash ip saddr . th sport mod M seed S` (src/nft/ruleset.cpp).
//
// nft_jhash_eval (net/netfilter/nft_hash.c) does
//     h = reciprocal_scale(jhash(&regs->data[sreg], len, seed), modulus) + offset
// with jhash() = Bob Jenkins' lookup3 as in include/linux/jhash.h. The
// hashed registers are: ip saddr (4 bytes, network order) in the first
// 32-bit register, th sport (2 bytes, network order) in the next one, whose
// other 2 bytes nft_payload zeroes; NFTA_HASH_LEN is 8. offset is 0.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nfdsr::maglev {

// include/linux/jhash.h jhash(): byte-wise tail, native-endian 32-bit words
// for full 12-byte blocks (equal to lookup3 hashlittle() on little-endian).
std::uint32_t jhash(const void* key, std::uint32_t length, std::uint32_t initval);

// include/linux/kernel.h reciprocal_scale(): (val * ep_ro) >> 32.
inline std::uint32_t reciprocal_scale(std::uint32_t val, std::uint32_t ep_ro)
{
    return static_cast<std::uint32_t>((static_cast<std::uint64_t>(val) * ep_ro) >> 32);
}

// The 8 hashed bytes nft builds for (saddr . sport).
inline constexpr std::uint32_t kFlowHashLen = 8;

// Bucket in [0, modulus) of client saddr_be (network byte order, as in the
// header) and sport (host byte order).
std::uint32_t nft_flow_bucket(std::uint32_t saddr_be, std::uint16_t sport, std::uint32_t modulus,
                              std::uint32_t seed);

}  // namespace nfdsr::maglev
