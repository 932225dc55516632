#include "maglev/hash.hpp"

namespace nfdsr::maglev {

std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t basis)
{
    constexpr std::uint64_t prime = 0x100000001b3ull;
    std::uint64_t h = basis;
    for (unsigned char c : bytes) {
        h ^= c;
        h *= prime;
    }
    return h;
}

std::uint64_t fmix64(std::uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

}  // namespace nfdsr::maglev
