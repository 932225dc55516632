// The vocabulary the config, the node plan and the engine share: addresses,
// protocols and dispatch modes. Only types, no behaviour; parsing and
// formatting live in config/scalars.hpp.
//
// Addresses: only IPv4 exists today. `Ipv4` is a distinct type (not a bare
// uint32_t) so that IPv6, the next capability, is added beside it as its own
// type: every place that assumes IPv4 names `Ipv4` and is found by the
// compiler when an address may be either. No IPv6 type is declared before
// there is code that handles it.
#pragma once

#include <cstdint>

namespace nfdsr {

enum class Protocol : std::uint8_t { tcp = 6, udp = 17 };
enum class Dispatch : std::uint8_t { opt, ipip };
// Inner packet of dispatch ipip: xlate = rewritten to backend ip:port and
// carrying the DSR option (as in opt); classic = left at VIP:port (LVS-TUN).
enum class IpipMode : std::uint8_t { xlate, classic };

// IPv4 address as it sits in a packet header (network byte order).
struct Ipv4 {
    std::uint32_t be = 0;
    friend bool operator==(const Ipv4&, const Ipv4&) = default;
};

}  // namespace nfdsr
