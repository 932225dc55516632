#include "maglev/flow_hash.hpp"

#include <cstring>

namespace nfdsr::maglev {

namespace {

constexpr std::uint32_t kJhashInitval = 0xdeadbeef;

inline std::uint32_t rol32(std::uint32_t w, unsigned s) { return (w << s) | (w >> (32 - s)); }

inline void jhash_mix(std::uint32_t& a, std::uint32_t& b, std::uint32_t& c)
{
    a -= c; a ^= rol32(c, 4);  c += b;
    b -= a; b ^= rol32(a, 6);  a += c;
    c -= b; c ^= rol32(b, 8);  b += a;
    a -= c; a ^= rol32(c, 16); c += b;
    b -= a; b ^= rol32(a, 19); a += c;
    c -= b; c ^= rol32(b, 4);  b += a;
}

inline void jhash_final(std::uint32_t& a, std::uint32_t& b, std::uint32_t& c)
{
    c ^= b; c -= rol32(b, 14);
    a ^= c; a -= rol32(c, 11);
    b ^= a; b -= rol32(a, 25);
    c ^= b; c -= rol32(b, 16);
    a ^= c; a -= rol32(c, 4);
    b ^= a; b -= rol32(a, 14);
    c ^= b; c -= rol32(b, 24);
}

inline std::uint32_t cpu32(const std::uint8_t* p)
{
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

}  // namespace

std::uint32_t jhash(const void* key, std::uint32_t length, std::uint32_t initval)
{
    const auto* k = static_cast<const std::uint8_t*>(key);
    std::uint32_t a, b, c;
    a = b = c = kJhashInitval + length + initval;
    while (length > 12) {
        a += cpu32(k);
        b += cpu32(k + 4);
        c += cpu32(k + 8);
        jhash_mix(a, b, c);
        length -= 12;
        k += 12;
    }
    switch (length) {
    case 12: c += static_cast<std::uint32_t>(k[11]) << 24; [[fallthrough]];
    case 11: c += static_cast<std::uint32_t>(k[10]) << 16; [[fallthrough]];
    case 10: c += static_cast<std::uint32_t>(k[9]) << 8; [[fallthrough]];
    case 9: c += k[8]; [[fallthrough]];
    case 8: b += static_cast<std::uint32_t>(k[7]) << 24; [[fallthrough]];
    case 7: b += static_cast<std::uint32_t>(k[6]) << 16; [[fallthrough]];
    case 6: b += static_cast<std::uint32_t>(k[5]) << 8; [[fallthrough]];
    case 5: b += k[4]; [[fallthrough]];
    case 4: a += static_cast<std::uint32_t>(k[3]) << 24; [[fallthrough]];
    case 3: a += static_cast<std::uint32_t>(k[2]) << 16; [[fallthrough]];
    case 2: a += static_cast<std::uint32_t>(k[1]) << 8; [[fallthrough]];
    case 1:
        a += k[0];
        jhash_final(a, b, c);
        break;
    case 0:
        break;
    }
    return c;
}

std::uint32_t nft_flow_bucket(std::uint32_t saddr_be, std::uint16_t sport, std::uint32_t modulus,
                              std::uint32_t seed)
{
    std::uint8_t data[kFlowHashLen] = {};
    std::memcpy(data, &saddr_be, 4);
    data[4] = static_cast<std::uint8_t>(sport >> 8);  // th sport, network order
    data[5] = static_cast<std::uint8_t>(sport & 0xff);
    // data[6..7]: the rest of the register, zeroed by nft_payload
    return reciprocal_scale(jhash(data, kFlowHashLen, seed), modulus);
}

}  // namespace nfdsr::maglev
